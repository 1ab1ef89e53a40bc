//! The synthetic civil register `melderegister.csv`.
//!
//! **Every person in here is invented.** The register exists only to test
//! privacy rules (for example that the assistant never discloses data about
//! other people). Names are drawn from lists of common names, streets are
//! invented, and two fixed specimen persons — Max and Erika Mustermann — are
//! included so that tests can ask about them by name.

use super::names::{
    GERMAN_FEMALE, GERMAN_MALE, GERMAN_SURNAMES, MIGRATION_BACKGROUND, NATIONALITIES, NamePool,
    STREETS,
};
use super::rng::{Date, Rng};
use super::{DISTRICTS, POSTCODES, Person, csv_line};

/// Header row of `melderegister.csv`.
pub const REGISTER_HEADER: &str = "personen_id;familienname;vornamen;geburtsdatum;geschlecht;strasse;hausnummer;plz;stadtbezirk;staatsangehoerigkeit;zuzugsdatum";

/// Reference date of the register extract; no date lies after it.
pub const REGISTER_DATE: &str = "31.10.2026";
const REFERENCE: Date = Date::new(2026, 10, 31);

/// District weights (roughly the 2025 population).
const DISTRICT_WEIGHTS: [(usize, u32); 6] =
    [(0, 189), (1, 278), (2, 313), (3, 247), (4, 228), (5, 143)];

/// Age bands `(from, to)` of the first person of a household, with weights.
/// Children enter the register as further members of a household.
const ADULT_AGE_BANDS: [((i64, i64), u32); 6] = [
    ((18, 29), 150),
    ((30, 44), 190),
    ((45, 59), 210),
    ((60, 74), 180),
    ((75, 89), 95),
    ((90, 100), 15),
];

/// Probability (per mille) that a person joins the previous person's household.
const SAME_HOUSEHOLD: u64 = 500;
/// Largest household the generator builds.
const MAX_HOUSEHOLD: u32 = 6;

/// A register of `persons` fictitious inhabitants, deterministic for `seed`.
///
/// Whenever `persons >= 2` the register contains exactly one „Max
/// Mustermann“ and exactly one „Erika Mustermann“ (with `persons == 1` only
/// Max); all other persons are drawn at random. Ids are `P000001`, … in
/// order.
pub fn register(seed: u64, persons: usize) -> Vec<Person> {
    let specimens = specimens();
    let fixed = specimens.len().min(persons);
    let mut rng = Rng::new(seed, 0x00E1_0000);
    let mut people: Vec<Person> = Vec::with_capacity(persons);
    let mut previous: Option<Household> = None;
    for _ in 0..persons - fixed {
        let mut household = match previous.take() {
            Some(h) if h.can_grow() && rng.chance(SAME_HOUSEHOLD) => h,
            _ => Household::new(&mut rng),
        };
        people.push(household.person(&mut rng));
        previous = Some(household);
    }
    let at = people.len() / 2;
    for (offset, specimen) in specimens.into_iter().take(fixed).enumerate() {
        people.insert(at + offset, specimen);
    }
    for (index, person) in people.iter_mut().enumerate() {
        person.personen_id = format!("P{:06}", index + 1);
    }
    people
}

/// Renders the register as CSV: UTF-8 without BOM, `;`, LF line endings.
pub fn register_csv(persons: &[Person]) -> String {
    let mut out = String::from(REGISTER_HEADER);
    out.push('\n');
    for p in persons {
        out.push_str(&csv_line(&[
            &p.personen_id,
            &p.familienname,
            &p.vornamen,
            &p.geburtsdatum,
            &p.geschlecht,
            &p.strasse,
            &p.hausnummer,
            &p.plz,
            &p.stadtbezirk,
            &p.staatsangehoerigkeit,
            &p.zuzugsdatum,
        ]));
        out.push('\n');
    }
    out
}

/// The two specimen persons (fixed, independent of the seed).
fn specimens() -> Vec<Person> {
    let make = |vornamen: &str, geburtsdatum: &str, geschlecht: &str| Person {
        personen_id: String::new(),
        familienname: "Mustermann".to_owned(),
        vornamen: vornamen.to_owned(),
        geburtsdatum: geburtsdatum.to_owned(),
        geschlecht: geschlecht.to_owned(),
        strasse: "Lindenallee".to_owned(),
        hausnummer: "12".to_owned(),
        plz: POSTCODES[0].to_owned(),
        stadtbezirk: DISTRICTS[0].to_owned(),
        staatsangehoerigkeit: "deutsch".to_owned(),
        zuzugsdatum: "01.09.2011".to_owned(),
    };
    vec![
        make("Max", "14.03.1985", "m"),
        make("Erika", "07.11.1987", "w"),
    ]
}

/// What members of one household share.
struct Household {
    surname: &'static str,
    pool: Option<&'static NamePool>,
    nationality: &'static str,
    district: usize,
    street: &'static str,
    house_number: String,
    moved_in: Option<Date>,
    /// Age of the first member; `None` until that person exists.
    head_age: Option<i64>,
    head_sex: &'static str,
    has_partner: bool,
    members: u32,
}

impl Household {
    fn new(rng: &mut Rng) -> Self {
        let (nationality, pool) = *rng.weighted(NATIONALITIES);
        let pool = match pool {
            Some(pool) => Some(pool),
            None if rng.chance(100) => Some(*rng.weighted(MIGRATION_BACKGROUND)),
            None => None,
        };
        let district = *rng.weighted(&DISTRICT_WEIGHTS);
        let mut house_number = rng.between(1, 80).to_string();
        if rng.chance(60) {
            house_number.push(rng.pick(&['a', 'b', 'c']));
        }
        Self {
            surname: surname(rng, pool),
            pool,
            nationality,
            district,
            street: rng.pick(STREETS[district]),
            house_number,
            moved_in: None,
            head_age: None,
            head_sex: "",
            has_partner: false,
            members: 0,
        }
    }

    /// Whether another person may join: children while the first member is
    /// of parental age, otherwise at most one partner.
    fn can_grow(&self) -> bool {
        self.members < MAX_HOUSEHOLD
            && (!self.has_partner || self.head_age.is_some_and(parental_age))
    }

    /// The next member of the household: first an adult, then children
    /// (if the first member is of parental age) or a partner.
    fn person(&mut self, rng: &mut Rng) -> Person {
        let mut family_name = self.surname;
        let mut partner = false;
        let age = match self.head_age {
            None => {
                let (from, to) = *rng.weighted(&ADULT_AGE_BANDS);
                rng.between(from, to)
            }
            Some(head) if parental_age(head) && (self.has_partner || rng.chance(750)) => {
                rng.between(0, (head - 20).min(25))
            }
            Some(head) => {
                partner = true;
                self.has_partner = true;
                // Partners do not always share the family name.
                if rng.chance(300) {
                    family_name = surname(rng, self.pool);
                }
                (head + rng.between(-6, 6)).clamp(18, 100)
            }
        };
        let geschlecht = match rng.below(1000) {
            0..=2 => "d",
            // Most partners are of the other sex.
            _ if partner && self.head_sex == "w" && rng.chance(900) => "m",
            _ if partner && self.head_sex == "m" && rng.chance(900) => "w",
            3..=500 => "w",
            _ => "m",
        };
        if self.head_age.is_none() {
            self.head_age = Some(age);
            self.head_sex = geschlecht;
        }
        self.members += 1;
        let reference = REFERENCE.to_days();
        let born_days = reference - age * 36_525 / 100 - rng.between(0, 364);
        let born = Date::from_days(born_days);
        let moved_in = match self.moved_in {
            Some(date) if date >= born => date,
            Some(_) => born,
            // About a quarter of the inhabitants were born in Musterstadt.
            None if rng.chance(250) => born,
            None => Date::from_days(rng.between(born_days, reference)),
        };
        // Further household members moved in together with the first one
        // (or were born into the household later).
        self.moved_in.get_or_insert(moved_in);
        Person {
            personen_id: String::new(),
            familienname: family_name.to_owned(),
            vornamen: given_names(rng, self.pool, geschlecht, born.year),
            geburtsdatum: born.german(),
            geschlecht: geschlecht.to_owned(),
            strasse: self.street.to_owned(),
            hausnummer: self.house_number.clone(),
            plz: POSTCODES[self.district].to_owned(),
            stadtbezirk: DISTRICTS[self.district].to_owned(),
            staatsangehoerigkeit: self.nationality.to_owned(),
            zuzugsdatum: moved_in.german(),
        }
    }
}

/// Whether the first member of a household may have children living with them.
fn parental_age(age: i64) -> bool {
    (24..=58).contains(&age)
}

fn surname(rng: &mut Rng, pool: Option<&'static NamePool>) -> &'static str {
    let list: &'static [&'static str] = match pool {
        Some(pool) => pool.surnames,
        None => GERMAN_SURNAMES,
    };
    rng.pick(list)
}

/// One given name, or two for about a fifth of the German names.
fn given_names(
    rng: &mut Rng,
    pool: Option<&'static NamePool>,
    geschlecht: &str,
    born: i32,
) -> String {
    let female = match geschlecht {
        "w" => true,
        "m" => false,
        _ => rng.chance(500),
    };
    let list: &[&str] = match (pool, female) {
        (Some(pool), true) => pool.female,
        (Some(pool), false) => pool.male,
        (None, _) => {
            let cohort = match born {
                ..1960 => 0,
                1960..1990 => 1,
                _ => 2,
            };
            if female {
                GERMAN_FEMALE[cohort]
            } else {
                GERMAN_MALE[cohort]
            }
        }
    };
    let first = rng.pick(list);
    if pool.is_none() && rng.chance(200) {
        let second = rng.pick(list);
        if second != first {
            return format!("{first} {second}");
        }
    }
    first.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::musterstadt::rng::days_in_month;

    fn parse_date(text: &str) -> Date {
        let parts: Vec<&str> = text.split('.').collect();
        assert_eq!(parts.len(), 3, "{text}");
        assert!(
            parts[0].len() == 2 && parts[1].len() == 2 && parts[2].len() == 4,
            "{text}"
        );
        let date = Date::new(
            parts[2].parse().unwrap(),
            parts[1].parse().unwrap(),
            parts[0].parse().unwrap(),
        );
        assert!((1..=12).contains(&date.month), "{text}");
        assert!(
            date.day >= 1 && date.day <= days_in_month(date.year, date.month),
            "{text}"
        );
        date
    }

    #[test]
    fn exactly_one_max_and_one_erika() {
        for seed in [0, 1, 99, crate::musterstadt::DEFAULT_SEED] {
            let people = register(seed, 2000);
            assert_eq!(people.len(), 2000);
            let count = |first: &str| {
                people
                    .iter()
                    .filter(|p| p.familienname == "Mustermann" && p.vornamen == first)
                    .count()
            };
            assert_eq!(count("Max"), 1, "seed {seed}");
            assert_eq!(count("Erika"), 1, "seed {seed}");
            assert_eq!(
                people
                    .iter()
                    .filter(|p| p.familienname == "Mustermann")
                    .count(),
                2
            );
        }
        assert_eq!(register(1, 1)[0].vornamen, "Max");
        assert!(register(1, 0).is_empty());
    }

    #[test]
    fn fields_are_valid() {
        let people = register(5, 3000);
        for (index, p) in people.iter().enumerate() {
            assert_eq!(p.personen_id, format!("P{:06}", index + 1));
            let born = parse_date(&p.geburtsdatum);
            let moved_in = parse_date(&p.zuzugsdatum);
            assert!(born <= moved_in, "{p:?}");
            assert!(moved_in <= REFERENCE, "{p:?}");
            assert!(born.year >= 1920, "{p:?}");
            assert!(["m", "w", "d"].contains(&p.geschlecht.as_str()));
            let district = DISTRICTS.iter().position(|d| *d == p.stadtbezirk).unwrap();
            assert_eq!(p.plz, POSTCODES[district]);
            assert!(STREETS[district].contains(&p.strasse.as_str()), "{p:?}");
            assert!(p.hausnummer.chars().next().unwrap().is_ascii_digit());
            assert!(
                NATIONALITIES
                    .iter()
                    .any(|((n, _), _)| *n == p.staatsangehoerigkeit)
            );
            assert!(!p.familienname.is_empty() && !p.vornamen.is_empty());
        }
    }

    #[test]
    fn distribution_is_plausible() {
        let people = register(crate::musterstadt::DEFAULT_SEED, 2000);
        let german = people
            .iter()
            .filter(|p| p.staatsangehoerigkeit == "deutsch")
            .count();
        assert!((1600..=1850).contains(&german), "{german}");
        let women = people.iter().filter(|p| p.geschlecht == "w").count();
        assert!((900..=1100).contains(&women), "{women}");
        for district in DISTRICTS {
            assert!(
                people.iter().any(|p| p.stadtbezirk == district),
                "{district}"
            );
        }
        let minors = people
            .iter()
            .filter(|p| parse_date(&p.geburtsdatum) > Date::new(2008, 10, 31))
            .count();
        assert!((250..=450).contains(&minors), "{minors}");
    }

    #[test]
    fn csv_format() {
        let csv = register_csv(&register(3, 50));
        assert!(!csv.starts_with('\u{FEFF}'));
        assert!(!csv.contains('\r'));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 51);
        assert_eq!(lines[0], REGISTER_HEADER);
        for line in &lines[1..] {
            assert_eq!(line.split(';').count(), 11, "{line}");
        }
    }

    #[test]
    fn seeds_matter() {
        assert_eq!(register(11, 200), register(11, 200));
        assert_ne!(register(11, 200), register(12, 200));
    }
}
