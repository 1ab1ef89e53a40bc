//! The simulated population table `bevoelkerung.csv`
//! („Bevölkerung nach Stadtbezirk und Jahr“).
//!
//! All arithmetic is integer-based so that the output is identical on every
//! platform. Shares are handled in tenths of a percent.

use super::rng::Rng;
use super::{DISTRICTS, PopulationRow, csv_line};

/// First year of the table.
pub const FIRST_YEAR: u16 = 2015;
/// Last year of the table.
pub const LAST_YEAR: u16 = 2025;

/// Header row of `bevoelkerung.csv`.
pub const POPULATION_HEADER: &str = "Jahr;Stadtbezirk;Einwohner insgesamt;davon weiblich;davon männlich;Anteil unter 18 (%);Anteil 65 und älter (%)";

/// Shape of one district (same order as [`DISTRICTS`]).
struct Profile {
    /// Inhabitants on 31 December 2015 before seeded jitter.
    base: u32,
    /// Yearly growth in basis points (1/100 of a percent).
    growth_bp: i64,
    /// Female share in per mille.
    female_permille: i64,
    /// Share under 18 in tenths of a percent (2015) and change per decade.
    under_18: (i64, i64),
    /// Share 65 and older in tenths of a percent (2015) and change per decade.
    over_65: (i64, i64),
}

const PROFILES: [Profile; 6] = [
    // Altstadt: old town, many singles and older people, little room to grow.
    Profile {
        base: 17_900,
        growth_bp: 30,
        female_permille: 514,
        under_18: (128, 4),
        over_65: (244, 12),
    },
    // Nordviertel: family district with new housing.
    Profile {
        base: 25_900,
        growth_bp: 70,
        female_permille: 506,
        under_18: (186, 9),
        over_65: (176, 10),
    },
    // Südstadt: dense, mixed, student flats near the station.
    Profile {
        base: 29_700,
        growth_bp: 50,
        female_permille: 503,
        under_18: (171, 3),
        over_65: (203, 8),
    },
    // Weststadt: industry and terraced houses.
    Profile {
        base: 23_600,
        growth_bp: 40,
        female_permille: 498,
        under_18: (165, 5),
        over_65: (218, 14),
    },
    // Oststadt: large estates from the 1970s, ageing.
    Profile {
        base: 22_700,
        growth_bp: 10,
        female_permille: 511,
        under_18: (158, -2),
        over_65: (236, 22),
    },
    // Am See: new development area at the lake.
    Profile {
        base: 13_200,
        growth_bp: 85,
        female_permille: 505,
        under_18: (197, 11),
        over_65: (191, 6),
    },
];

/// Extra growth in basis points for years with special migration effects.
fn year_effect(year: u16) -> i64 {
    match year {
        2016 => 40,         // refugee immigration
        2020 | 2021 => -30, // pandemic
        2022 => 60,         // refugees from Ukraine
        _ => 0,
    }
}

/// Population by district for 2015–2025 (66 rows, ordered by year, then by
/// district in the order of [`DISTRICTS`]). Deterministic for a given seed.
pub fn population(seed: u64) -> Vec<PopulationRow> {
    let years = usize::from(LAST_YEAR - FIRST_YEAR + 1);
    let mut per_district: Vec<Vec<PopulationRow>> = Vec::with_capacity(DISTRICTS.len());
    for (index, (district, profile)) in DISTRICTS.iter().zip(&PROFILES).enumerate() {
        let mut rng = Rng::new(seed, 0x00B0_0000 + index as u64);
        let mut total = i64::from(profile.base) * (1000 + rng.between(-15, 15)) / 1000;
        let mut rows = Vec::with_capacity(years);
        for year in FIRST_YEAR..=LAST_YEAR {
            if year > FIRST_YEAR {
                let bp = profile.growth_bp + year_effect(year) + rng.between(-25, 25);
                total = (total * (10_000 + bp) + 5_000) / 10_000;
            }
            let elapsed = i64::from(year - FIRST_YEAR);
            let female_permille = profile.female_permille + rng.between(-3, 3);
            let female = (total * female_permille + 500) / 1000;
            let under_18 =
                profile.under_18.0 + profile.under_18.1 * elapsed / 10 + rng.between(-2, 2);
            let over_65 = profile.over_65.0 + profile.over_65.1 * elapsed / 10 + rng.between(-2, 2);
            rows.push(PopulationRow {
                year,
                district: (*district).to_owned(),
                total: total as u32,
                female: female as u32,
                male: (total - female) as u32,
                share_under_18: under_18 as f64 / 10.0,
                share_65_plus: over_65 as f64 / 10.0,
            });
        }
        per_district.push(rows);
    }
    (0..years)
        .flat_map(|y| per_district.iter().map(move |rows| rows[y].clone()))
        .collect()
}

/// Renders rows the way a German statistics office publishes them: UTF-8
/// with BOM, `;` as separator, CRLF line endings, `.` as thousands separator
/// and a decimal comma.
pub fn population_csv(rows: &[PopulationRow]) -> String {
    let mut out = String::from("\u{FEFF}");
    out.push_str(POPULATION_HEADER);
    out.push_str("\r\n");
    for row in rows {
        let fields = [
            row.year.to_string(),
            row.district.clone(),
            thousands(row.total),
            thousands(row.female),
            thousands(row.male),
            decimal_comma(row.share_under_18),
            decimal_comma(row.share_65_plus),
        ];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        out.push_str(&csv_line(&refs));
        out.push_str("\r\n");
    }
    out
}

/// `23456` → `23.456`.
fn thousands(value: u32) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

/// `17.3` → `17,3` (one decimal).
fn decimal_comma(value: f64) -> String {
    let tenths = (value * 10.0).round() as i64;
    format!("{},{}", tenths / 10, (tenths % 10).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_the_german_way() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1.000");
        assert_eq!(thousands(23_456), "23.456");
        assert_eq!(thousands(140_123), "140.123");
        assert_eq!(thousands(1_234_567), "1.234.567");
        assert_eq!(decimal_comma(17.3), "17,3");
        assert_eq!(decimal_comma(20.0), "20,0");
    }

    #[test]
    fn sixty_six_consistent_rows() {
        let rows = population(super::super::DEFAULT_SEED);
        assert_eq!(rows.len(), 66);
        for row in &rows {
            assert_eq!(row.total, row.female + row.male, "{row:?}");
            assert!(row.female * 100 / row.total >= 48 && row.female * 100 / row.total <= 53);
            assert!((10.0..25.0).contains(&row.share_under_18), "{row:?}");
            assert!((15.0..30.0).contains(&row.share_65_plus), "{row:?}");
        }
        for year in FIRST_YEAR..=LAST_YEAR {
            let districts: Vec<&str> = rows
                .iter()
                .filter(|r| r.year == year)
                .map(|r| r.district.as_str())
                .collect();
            assert_eq!(districts, DISTRICTS);
        }
    }

    #[test]
    fn city_total_is_plausible_and_grows_slowly() {
        for seed in [0, 1, 42, super::super::DEFAULT_SEED] {
            let rows = population(seed);
            let total = |year: u16| -> u32 {
                rows.iter()
                    .filter(|r| r.year == year)
                    .map(|r| r.total)
                    .sum()
            };
            let first = total(FIRST_YEAR);
            let last = total(LAST_YEAR);
            assert!((135_000..=145_000).contains(&last), "seed {seed}: {last}");
            assert!(
                last > first && last < first + first / 10,
                "seed {seed}: {first} -> {last}"
            );
            for year in FIRST_YEAR + 1..=LAST_YEAR {
                let change = i64::from(total(year)) - i64::from(total(year - 1));
                assert!(change.abs() < 2_000, "seed {seed}, {year}: {change}");
            }
        }
    }

    #[test]
    fn csv_has_bom_semicolons_and_crlf() {
        let csv = population_csv(&population(7));
        assert!(csv.starts_with('\u{FEFF}'));
        assert!(csv.ends_with("\r\n"));
        assert_eq!(csv.matches("\r\n").count(), 67);
        assert_eq!(csv.matches('\n').count(), 67, "bare LF found");
        let mut lines = csv.trim_start_matches('\u{FEFF}').split("\r\n");
        assert_eq!(lines.next(), Some(POPULATION_HEADER));
        for line in lines.filter(|l| !l.is_empty()) {
            assert_eq!(line.split(';').count(), 7, "{line}");
        }
    }
}
