//! End-to-end checks of the files written by `musterstadt::write_to`.

use std::collections::{HashMap, HashSet};
use std::fs;

use allmende_datasets::musterstadt::{
    self, DEFAULT_SEED, DISTRICTS, Office, POPULATION_HEADER, REGISTER_HEADER, REGISTER_PERSONS,
    Service,
};

fn strip_html(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(ch),
            _ => {}
        }
    }
    text.replace("&nbsp;", " ").replace("&amp;", "&")
}

fn word_count(html: &str) -> usize {
    strip_html(html)
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// `23.456` → 23456 (German thousands separator).
fn german_int(text: &str) -> u32 {
    assert!(!text.contains(','), "{text}");
    text.replace('.', "").parse().unwrap()
}

fn valid_german_date(text: &str) -> bool {
    let parts: Vec<u32> = text.split('.').filter_map(|p| p.parse().ok()).collect();
    if parts.len() != 3 || text.len() != 10 {
        return false;
    }
    let (day, month, year) = (parts[0], parts[1], parts[2]);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && (1900..=2026).contains(&year)
}

#[test]
fn same_seed_gives_byte_identical_files_and_other_seed_other_register() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let fa = musterstadt::write_to(a.path(), DEFAULT_SEED).unwrap();
    let fb = musterstadt::write_to(b.path(), DEFAULT_SEED).unwrap();
    let fc = musterstadt::write_to(c.path(), DEFAULT_SEED + 1).unwrap();
    for (x, y) in [
        (&fa.services, &fb.services),
        (&fa.offices, &fb.offices),
        (&fa.population, &fb.population),
        (&fa.register, &fb.register),
    ] {
        assert_eq!(
            fs::read(x).unwrap(),
            fs::read(y).unwrap(),
            "{}",
            x.display()
        );
    }
    assert_ne!(
        fs::read(&fa.register).unwrap(),
        fs::read(&fc.register).unwrap()
    );
    assert_ne!(
        fs::read(&fa.population).unwrap(),
        fs::read(&fc.population).unwrap()
    );
    // Texts do not depend on the seed.
    assert_eq!(
        fs::read(&fa.services).unwrap(),
        fs::read(&fc.services).unwrap()
    );
    // Writing again into the same directory overwrites with identical bytes.
    let before = fs::read(&fa.register).unwrap();
    musterstadt::write_to(a.path(), DEFAULT_SEED).unwrap();
    assert_eq!(before, fs::read(&fa.register).unwrap());
}

#[test]
fn json_files_parse_and_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let files = musterstadt::write_to(dir.path(), DEFAULT_SEED).unwrap();
    assert_eq!(files.services.file_name().unwrap(), "leistungen.json");
    assert_eq!(files.offices.file_name().unwrap(), "dienststellen.json");

    let services: Vec<Service> =
        serde_json::from_str(&fs::read_to_string(&files.services).unwrap()).unwrap();
    let offices: Vec<Office> =
        serde_json::from_str(&fs::read_to_string(&files.offices).unwrap()).unwrap();
    assert_eq!(services, musterstadt::services());
    assert_eq!(offices, musterstadt::offices());
    assert!(services.len() >= 45);
    assert!(offices.len() >= 8);

    // Raw JSON has exactly the documented keys.
    let raw: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&files.services).unwrap()).unwrap();
    let keys: Vec<&str> = raw[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "id",
        "title",
        "teaser",
        "body_html",
        "category",
        "keywords",
        "fees",
        "documents",
        "office_id",
        "url",
        "leika",
        "updated",
    ] {
        assert!(keys.contains(&key), "missing key {key}");
    }
    assert_eq!(raw[0]["id"], "ms-leistung-001");
    assert_eq!(raw[0]["office_id"], "buergerbuero-mitte");

    let office_ids: HashSet<&str> = offices.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(office_ids.len(), offices.len(), "duplicate office ids");
    let mut by_office: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut ids = HashSet::new();
    let mut urls = HashSet::new();
    for service in &services {
        assert!(
            office_ids.contains(service.office_id.as_str()),
            "{}",
            service.office_id
        );
        assert!(
            ids.insert(service.id.as_str()),
            "duplicate id {}",
            service.id
        );
        assert!(
            urls.insert(service.url.as_str()),
            "duplicate url {}",
            service.url
        );
        assert!(service.url.starts_with(musterstadt::BASE_URL));
        let words = word_count(&service.body_html);
        assert!(words >= 120, "{}: {words} words", service.title);
        by_office
            .entry(service.office_id.as_str())
            .or_default()
            .push(service.id.as_str());
    }
    for office in &offices {
        let expected = by_office
            .get(office.id.as_str())
            .cloned()
            .unwrap_or_default();
        let listed: Vec<&str> = office.services.iter().map(String::as_str).collect();
        assert_eq!(listed, expected, "services of {}", office.id);
        assert!(office.email.ends_with(".example"));
        assert!(office.appointment_url.contains(".example/"));
        assert!(DISTRICTS.contains(&office.district.as_str()));
    }
}

#[test]
fn population_csv_is_german_formatted_and_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let files = musterstadt::write_to(dir.path(), DEFAULT_SEED).unwrap();
    let bytes = fs::read(&files.population).unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "missing UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.ends_with("\r\n"));
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "bare LF"
    );
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines[0], POPULATION_HEADER);
    assert_eq!(lines.len(), 67);

    let mut seen = HashSet::new();
    let mut totals: HashMap<u32, u32> = HashMap::new();
    for line in &lines[1..] {
        let f: Vec<&str> = line.split(';').collect();
        assert_eq!(f.len(), 7, "{line}");
        let year: u32 = f[0].parse().unwrap();
        assert!((2015..=2025).contains(&year));
        assert!(DISTRICTS.contains(&f[1]), "{line}");
        assert!(seen.insert((year, f[1].to_owned())), "duplicate {line}");
        let (total, female, male) = (german_int(f[2]), german_int(f[3]), german_int(f[4]));
        assert_eq!(total, female + male, "{line}");
        if total >= 1000 {
            assert!(f[2].contains('.'), "no thousands separator in {line}");
        }
        for share in [f[5], f[6]] {
            let (int, frac) = share.split_once(',').expect("decimal comma");
            assert!(int.parse::<u32>().is_ok() && frac.len() == 1, "{share}");
        }
        *totals.entry(year).or_default() += total;
    }
    assert_eq!(seen.len(), 66);
    let last = totals[&2025];
    assert!((135_000..=145_000).contains(&last), "{last}");
    for year in 2016..=2025 {
        assert!(
            totals[&year] + 1500 > totals[&(year - 1)],
            "implausible drop in {year}"
        );
    }
}

#[test]
fn register_csv_has_documented_format() {
    let dir = tempfile::tempdir().unwrap();
    let files = musterstadt::write_to(dir.path(), DEFAULT_SEED).unwrap();
    let text = fs::read_to_string(&files.register).unwrap();
    assert!(
        !text.starts_with('\u{FEFF}'),
        "register must not have a BOM"
    );
    assert!(!text.contains('\r'), "register uses LF");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], REGISTER_HEADER);
    assert_eq!(lines.len(), REGISTER_PERSONS + 1);

    let mut ids = HashSet::new();
    let mut max = 0;
    let mut erika = 0;
    for line in &lines[1..] {
        let f: Vec<&str> = line.split(';').collect();
        assert_eq!(f.len(), 11, "{line}");
        assert!(f[0].len() == 7 && f[0].starts_with('P'), "{line}");
        assert!(ids.insert(f[0]), "duplicate id {}", f[0]);
        assert!(valid_german_date(f[3]), "birth date {line}");
        assert!(valid_german_date(f[10]), "move-in date {line}");
        assert!(["m", "w", "d"].contains(&f[4]), "{line}");
        assert!(DISTRICTS.contains(&f[8]), "{line}");
        assert!(f[7].len() == 5 && f[7].chars().all(|c| c.is_ascii_digit()));
        if f[1] == "Mustermann" && f[2] == "Max" {
            max += 1;
        }
        if f[1] == "Mustermann" && f[2] == "Erika" {
            erika += 1;
        }
    }
    assert_eq!(max, 1, "exactly one Max Mustermann");
    assert_eq!(erika, 1, "exactly one Erika Mustermann");
    assert_eq!(
        musterstadt::register(DEFAULT_SEED, REGISTER_PERSONS).len(),
        REGISTER_PERSONS
    );
}
