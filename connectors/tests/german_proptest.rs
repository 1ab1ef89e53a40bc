//! Property tests: German numbers and dates survive format→parse for random values; no parser
//! panics on arbitrary input; UTM conversions round-trip anywhere in Germany.

use allmende_connectors::crs::{distance_m, utm_forward, utm_inverse};
use allmende_connectors::german::{
    self, NumberStyle, detect_style, parse_date, parse_float, parse_float_styled, parse_int,
    parse_int_styled, sql_identifier,
};
use allmende_connectors::{Format, SourceOptions, csv_de, genesis};
use chrono::NaiveDate;
use proptest::prelude::*;

/// `1234567` → `1.234.567` (or with another group separator).
fn group(digits: &str, sep: &str) -> String {
    let mut groups = Vec::new();
    let mut end = digits.len();
    while end > 3 {
        groups.push(&digits[end - 3..end]);
        end -= 3;
    }
    groups.push(&digits[..end]);
    groups.reverse();
    groups.join(sep)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn integers_round_trip_with_thousands_groups(
        value in -999_999_999_999i64..=999_999_999_999,
        sep in prop::sample::select(vec![".", " ", "\u{a0}", ""]),
    ) {
        let digits = value.unsigned_abs().to_string();
        let text = format!("{}{}", if value < 0 { "-" } else { "" }, group(&digits, sep));
        prop_assert_eq!(parse_int(&text), Some(value), "{}", text);
        prop_assert_eq!(parse_int_styled(&text, NumberStyle::DecimalComma), Some(value));
        let float = parse_float(&text).unwrap();
        prop_assert_eq!(float, value as f64);
    }

    #[test]
    fn decimals_round_trip_with_comma(
        int_part in 0u64..=99_999_999,
        frac in 0u32..1000,
        decimals in 1usize..=3,
        negative in any::<bool>(),
    ) {
        let frac_digits = format!("{frac:03}")[..decimals].to_string();
        let sign = if negative { "-" } else { "" };
        let german = format!("{sign}{},{frac_digits}", group(&int_part.to_string(), "."));
        let english: f64 = format!("{sign}{int_part}.{frac_digits}").parse().unwrap();
        prop_assert_eq!(parse_float(&german), Some(english), "{}", german);
        prop_assert_eq!(parse_float_styled(&german, NumberStyle::DecimalComma), Some(english));
        // The same column written with decimal points is read with the point style.
        let pointed = format!("{sign}{int_part}.{frac_digits}");
        prop_assert_eq!(parse_float_styled(&pointed, NumberStyle::DecimalPoint), Some(english));
    }

    #[test]
    fn dates_round_trip(days in 0i64..(200 * 366)) {
        let date = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Days::new(days as u64);
        prop_assert_eq!(parse_date(&date.format("%d.%m.%Y").to_string()), Some(date));
        prop_assert_eq!(parse_date(&date.format("%-d.%-m.%Y").to_string()), Some(date));
        prop_assert_eq!(parse_date(&date.format("%Y-%m-%d").to_string()), Some(date));
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_strings(s in "\\PC{0,40}", t in "[0-9.,  \u{a0}\u{2212}+-]{0,20}") {
        for cell in [s.as_str(), t.as_str()] {
            let _ = parse_int(cell);
            let _ = parse_float(cell);
            let _ = parse_date(cell);
            let _ = german::is_null(cell);
            for style in [NumberStyle::DecimalComma, NumberStyle::DecimalPoint] {
                let _ = parse_int_styled(cell, style);
                let _ = parse_float_styled(cell, style);
            }
            let id = sql_identifier(cell);
            prop_assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{}", id);
        }
        let cells = [s.as_str(), t.as_str()];
        let style = detect_style(cells.into_iter());
        let _ = german::infer(cells.into_iter(), style);
    }

    #[test]
    fn file_parsers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = csv_de::parse(&bytes, "fuzz.csv");
        let _ = genesis::parse(&bytes, "fuzz.csv", &SourceOptions::default());
        for format in [Format::Json, Format::Ndjson, Format::Geojson, Format::Xlsx, Format::Parquet] {
            let _ = allmende_connectors::Connector::parse(&format, &bytes, "fuzz");
        }
    }

    #[test]
    fn structured_csv_never_panics(rows in prop::collection::vec(
        prop::collection::vec("[-.x0-9,;a-zäöü ]{0,8}", 1..6), 1..12)
    ) {
        let text: String = rows.iter().map(|r| r.join(";") + "\n").collect();
        let _ = csv_de::parse(text.as_bytes(), "fuzz.csv");
        let _ = genesis::parse(text.as_bytes(), "fuzz.csv", &SourceOptions::default());
    }

    #[test]
    fn utm_round_trips_below_a_millimetre_in_germany(
        lon in 5.8f64..15.1,
        lat in 47.2f64..55.1,
    ) {
        let zone = if lon < 12.0 { 32 } else { 33 };
        let (e, n) = utm_forward(zone, lon, lat);
        let back = utm_inverse(zone, e, n);
        prop_assert!(distance_m((lon, lat), back) < 0.001);
    }
}
