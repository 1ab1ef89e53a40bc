//! The offices (Dienststellen) of Musterstadt.

use super::{BASE_URL, CITY, DISTRICTS, Office, OpeningHours, POSTCODES, services};

/// German weekday names, Monday first.
const WEEKDAYS: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];
const WEEKDAY_ABBR: [&str; 7] = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"];

/// Static description of one office; `hours` are `(weekday index, opens, closes)`.
struct OfficeSpec {
    id: &'static str,
    name: &'static str,
    street: &'static str,
    district: usize,
    phone_ext: &'static str,
    email_local: &'static str,
    hours: &'static [(usize, &'static str, &'static str)],
}

const MORNINGS_MO_FR: &[(usize, &str, &str)] = &[
    (0, "08:00", "12:00"),
    (1, "08:00", "12:00"),
    (2, "08:00", "12:00"),
    (3, "08:00", "12:00"),
    (4, "08:00", "12:00"),
];

const SPECS: &[OfficeSpec] = &[
    OfficeSpec {
        id: "buergerbuero-mitte",
        name: "Bürgerbüro Mitte",
        street: "Rathausplatz 1",
        district: 0,
        phone_ext: "100",
        email_local: "buergerbuero",
        hours: &[
            (0, "08:00", "12:00"),
            (0, "14:00", "18:00"),
            (1, "08:00", "12:00"),
            (1, "14:00", "18:00"),
            (3, "08:00", "12:00"),
            (3, "14:00", "18:00"),
            (4, "08:00", "12:00"),
            (5, "09:00", "12:00"),
        ],
    },
    OfficeSpec {
        id: "standesamt",
        name: "Standesamt Musterstadt",
        street: "Rathausplatz 3",
        district: 0,
        phone_ext: "200",
        email_local: "standesamt",
        hours: &[
            (0, "08:30", "12:00"),
            (1, "08:30", "12:00"),
            (2, "08:30", "12:00"),
            (3, "08:30", "12:00"),
            (3, "14:00", "17:30"),
            (4, "08:30", "12:00"),
        ],
    },
    OfficeSpec {
        id: "strassenverkehrsamt",
        name: "Straßenverkehrsamt (Kfz-Zulassung und Fahrerlaubnisbehörde)",
        street: "Industriestraße 40",
        district: 3,
        phone_ext: "300",
        email_local: "kfz",
        hours: &[
            (0, "07:30", "12:30"),
            (1, "07:30", "12:30"),
            (2, "07:30", "12:30"),
            (3, "07:30", "12:30"),
            (3, "14:00", "18:00"),
            (4, "07:30", "12:30"),
        ],
    },
    OfficeSpec {
        id: "ordnungsamt",
        name: "Ordnungsamt und Gewerbeamt",
        street: "Bahnhofstraße 18",
        district: 2,
        phone_ext: "400",
        email_local: "ordnungsamt",
        hours: &[
            (0, "08:00", "12:00"),
            (1, "08:00", "12:00"),
            (2, "08:00", "12:00"),
            (3, "08:00", "12:00"),
            (3, "14:00", "18:00"),
            (4, "08:00", "12:00"),
        ],
    },
    OfficeSpec {
        id: "abfallwirtschaft",
        name: "Abfallwirtschaftsbetrieb Musterstadt (AWM)",
        street: "Recyclingweg 3",
        district: 4,
        phone_ext: "500",
        email_local: "abfall",
        hours: &[
            (0, "07:30", "16:00"),
            (1, "07:30", "16:00"),
            (2, "07:30", "16:00"),
            (3, "07:30", "16:00"),
            (4, "07:30", "13:00"),
        ],
    },
    OfficeSpec {
        id: "steueramt",
        name: "Steueramt",
        street: "Rathausplatz 1",
        district: 0,
        phone_ext: "600",
        email_local: "steueramt",
        hours: MORNINGS_MO_FR,
    },
    OfficeSpec {
        id: "bauamt",
        name: "Amt für Bauordnung & Stadtplanung",
        street: "Schillerstraße 30",
        district: 1,
        phone_ext: "700",
        email_local: "bauordnung",
        hours: &[
            (1, "08:00", "12:00"),
            (3, "08:00", "12:00"),
            (3, "14:00", "17:00"),
        ],
    },
    OfficeSpec {
        id: "umweltamt",
        name: "Amt für Umwelt & Stadtgrün",
        street: "Parkstraße 8",
        district: 5,
        phone_ext: "750",
        email_local: "umwelt",
        hours: MORNINGS_MO_FR,
    },
    OfficeSpec {
        id: "tiefbauamt",
        name: "Tiefbauamt",
        street: "Schillerstraße 30",
        district: 1,
        phone_ext: "800",
        email_local: "tiefbau",
        hours: MORNINGS_MO_FR,
    },
    OfficeSpec {
        id: "sozialamt",
        name: "Amt für Soziales und Wohnen",
        street: "Lindenhof 4",
        district: 2,
        phone_ext: "900",
        email_local: "soziales",
        hours: &[
            (0, "08:00", "12:00"),
            (1, "08:00", "12:00"),
            (3, "14:00", "18:00"),
            (4, "08:00", "12:00"),
        ],
    },
    OfficeSpec {
        id: "jugend-schulamt",
        name: "Amt für Jugend, Familie und Schule",
        street: "Schulstraße 2",
        district: 2,
        phone_ext: "950",
        email_local: "familie",
        hours: &[
            (0, "08:30", "12:00"),
            (1, "08:30", "12:00"),
            (1, "14:00", "16:00"),
            (2, "08:30", "12:00"),
            (3, "08:30", "12:00"),
            (4, "08:30", "12:00"),
        ],
    },
    OfficeSpec {
        id: "stadtbibliothek",
        name: "Stadtbibliothek Musterstadt",
        street: "Am Markt 7",
        district: 0,
        phone_ext: "960",
        email_local: "bibliothek",
        hours: &[
            (1, "10:00", "19:00"),
            (2, "10:00", "19:00"),
            (3, "10:00", "19:00"),
            (4, "10:00", "19:00"),
            (5, "10:00", "14:00"),
        ],
    },
    OfficeSpec {
        id: "wahlamt",
        name: "Wahlamt",
        street: "Rathausplatz 1",
        district: 0,
        phone_ext: "970",
        email_local: "wahlamt",
        hours: &[
            (0, "08:00", "12:00"),
            (1, "08:00", "12:00"),
            (2, "08:00", "12:00"),
            (3, "08:00", "12:00"),
            (3, "14:00", "16:00"),
            (4, "08:00", "12:00"),
        ],
    },
    OfficeSpec {
        id: "auslaenderbehoerde",
        name: "Ausländerbehörde und Einbürgerungsstelle",
        street: "Kaiserstraße 21",
        district: 4,
        phone_ext: "980",
        email_local: "auslaenderbehoerde",
        hours: &[
            (0, "08:00", "12:00"),
            (1, "08:00", "12:00"),
            (3, "08:00", "12:00"),
            (3, "14:00", "17:00"),
        ],
    },
];

/// All offices with their `services` lists filled in from [`services()`].
pub fn offices() -> Vec<Office> {
    let services = services();
    let mut offices = office_records();
    for office in &mut offices {
        office.services = services
            .iter()
            .filter(|s| s.office_id == office.id)
            .map(|s| s.id.clone())
            .collect();
    }
    offices
}

/// All offices with empty `services` lists (used while building services).
pub(crate) fn office_records() -> Vec<Office> {
    SPECS.iter().map(build).collect()
}

fn build(spec: &OfficeSpec) -> Office {
    let opening_hours = spec
        .hours
        .iter()
        .map(|&(day, opens, closes)| OpeningHours {
            day: WEEKDAYS[day].to_owned(),
            opens: opens.to_owned(),
            closes: closes.to_owned(),
        })
        .collect();
    Office {
        id: spec.id.to_owned(),
        name: spec.name.to_owned(),
        street: spec.street.to_owned(),
        postcode: POSTCODES[spec.district].to_owned(),
        city: CITY.to_owned(),
        district: DISTRICTS[spec.district].to_owned(),
        phone: format!("+49 1234 567-{}", spec.phone_ext),
        email: format!("{}@musterstadt.example", spec.email_local),
        opening_hours,
        opening_hours_text: hours_text(spec.hours),
        appointment_url: format!("{BASE_URL}/termin/{}", spec.id),
        services: Vec::new(),
    }
}

/// Summarises opening hours the way a town hall website would, e.g.
/// `Mo, Di, Do 8–12 Uhr und 14–18 Uhr; Mi geschlossen; Fr 8–12 Uhr`.
fn hours_text(hours: &[(usize, &str, &str)]) -> String {
    // Slots per weekday; closed weekdays (Mo–Fr) are mentioned explicitly.
    let per_day: Vec<Vec<String>> = (0..7)
        .map(|day| {
            hours
                .iter()
                .filter(|(d, _, _)| *d == day)
                .map(|(_, o, c)| format!("{}–{} Uhr", short_time(o), short_time(c)))
                .collect()
        })
        .collect();
    let mut groups: Vec<(Vec<usize>, &Vec<String>)> = Vec::new();
    for (day, slots) in per_day.iter().enumerate() {
        if slots.is_empty() && day >= 5 {
            continue;
        }
        match groups.iter_mut().find(|(_, s)| *s == slots) {
            Some((days, _)) => days.push(day),
            None => groups.push((vec![day], slots)),
        }
    }
    groups
        .iter()
        .map(|(days, slots)| {
            let when = if slots.is_empty() {
                "geschlossen".to_owned()
            } else {
                slots.join(" und ")
            };
            format!("{} {when}", day_list(days))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `[0,1,2,3,4]` → `Mo–Fr`, `[0,1,3]` → `Mo, Di, Do`.
fn day_list(days: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j + 1] == days[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!(
                "{}–{}",
                WEEKDAY_ABBR[days[i]], WEEKDAY_ABBR[days[j]]
            ));
        } else {
            parts.extend(days[i..=j].iter().map(|d| WEEKDAY_ABBR[*d].to_owned()));
        }
        i = j + 1;
    }
    parts.join(", ")
}

/// `08:00` → `8`, `07:30` → `7:30`.
fn short_time(time: &str) -> String {
    let (hour, minute) = time.split_once(':').unwrap_or((time, "00"));
    let hour = hour.trim_start_matches('0');
    let hour = if hour.is_empty() { "0" } else { hour };
    if minute == "00" {
        hour.to_owned()
    } else {
        format!("{hour}:{minute}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn hours_text_matches_town_hall_style() {
        let office = &office_records()[0];
        assert_eq!(
            office.opening_hours_text,
            "Mo, Di, Do 8–12 Uhr und 14–18 Uhr; Mi geschlossen; Fr 8–12 Uhr; Sa 9–12 Uhr"
        );
        assert_eq!(hours_text(MORNINGS_MO_FR), "Mo–Fr 8–12 Uhr");
        assert_eq!(short_time("07:30"), "7:30");
    }

    #[test]
    fn offices_are_unique_and_fictitious() {
        let offices = offices();
        assert!(offices.len() >= 8);
        let ids: HashSet<_> = offices.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids.len(), offices.len());
        for office in &offices {
            assert!(office.email.ends_with("@musterstadt.example"));
            assert!(office.phone.starts_with("+49 1234 "));
            assert!(office.appointment_url.starts_with(BASE_URL));
            assert!(DISTRICTS.contains(&office.district.as_str()));
            assert!(!office.opening_hours.is_empty());
            assert!(!office.services.is_empty(), "{} has no services", office.id);
            for slot in &office.opening_hours {
                assert!(WEEKDAYS.contains(&slot.day.as_str()));
                assert!(slot.opens < slot.closes, "{}: {slot:?}", office.id);
            }
        }
    }
}
