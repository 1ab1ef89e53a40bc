//! Builds the [`Service`] records (`leistungen.json`) from the hand-written
//! texts in [`super::texts`].

use super::offices::office_records;
use super::rng::Date;
use super::texts::{self, CATEGORIES, Spec};
use super::{BASE_URL, Office, Service};

/// All citizen services of Musterstadt, in a fixed order. The output does
/// not depend on any seed.
pub fn services() -> Vec<Service> {
    let offices = office_records();
    texts::all()
        .enumerate()
        .map(|(index, spec)| build(index + 1, spec, &offices))
        .collect()
}

fn build(number: usize, spec: &Spec, offices: &[Office]) -> Service {
    let office = offices
        .iter()
        .find(|o| o.id == spec.office)
        .unwrap_or_else(|| panic!("service {} names unknown office {}", spec.slug, spec.office));
    let category = CATEGORIES
        .iter()
        .position(|c| *c == spec.category)
        .unwrap_or_else(|| {
            panic!(
                "service {} has unknown category {}",
                spec.slug, spec.category
            )
        });
    Service {
        id: format!("ms-leistung-{number:03}"),
        title: spec.title.to_owned(),
        teaser: spec.teaser.to_owned(),
        body_html: body_html(spec, office),
        category: spec.category.to_owned(),
        keywords: spec.keywords.iter().map(|k| (*k).to_owned()).collect(),
        fees: spec.fees.to_owned(),
        documents: spec.documents.iter().map(|d| (*d).to_owned()).collect(),
        office_id: office.id.clone(),
        url: format!("{BASE_URL}/leistungen/{}", spec.slug),
        leika: leika_key(category, number),
        updated: updated(number),
    }
}

/// A 14-digit key shaped like a LeiKa key (`99` + group + number + suffix).
/// The keys are fictitious and only unique within Musterstadt.
fn leika_key(category: usize, number: usize) -> String {
    format!(
        "99{:03}{:03}{:06}",
        101 + category,
        number,
        12_000 + number * 7
    )
}

/// Editorial date between 2026-07-01 and 2026-10-01, spread by a fixed rule.
fn updated(number: usize) -> String {
    let start = Date::new(2026, 7, 1).to_days();
    let offset = (number as i64 * 37) % 93;
    Date::from_days(start + offset).iso()
}

fn body_html(spec: &Spec, office: &Office) -> String {
    let mut html = blocks(spec.intro);
    section(&mut html, "Voraussetzungen", spec.requirements);
    if !spec.documents.is_empty() {
        html.push_str("<h3>Welche Unterlagen benötige ich?</h3><ul>");
        for document in spec.documents {
            html.push_str(&format!("<li>{}</li>", escape(document)));
        }
        html.push_str("</ul>");
    }
    html.push_str(&format!("<h3>Gebühren</h3><p>{}</p>", escape(spec.fees)));
    section(&mut html, "Fristen", spec.deadlines);
    section(&mut html, "Ablauf", spec.process);
    html.push_str(&format!(
        "<h3>Zuständige Stelle</h3><p><strong>{name}</strong><br>{street}, {postcode} {city}<br>\
         Telefon: {phone}, E-Mail: <a href=\"mailto:{email}\">{email}</a></p>\
         <p>Öffnungszeiten: {hours}</p>\
         <p>Einen Termin können Sie online unter <a href=\"{url}\">{url}</a> buchen.</p>",
        name = escape(&office.name),
        street = escape(&office.street),
        postcode = office.postcode,
        city = office.city,
        phone = office.phone,
        email = office.email,
        hours = escape(&office.opening_hours_text),
        url = office.appointment_url,
    ));
    html
}

fn section(html: &mut String, heading: &str, content: &str) {
    if !content.is_empty() {
        html.push_str(&format!("<h3>{heading}</h3>"));
        html.push_str(&blocks(content));
    }
}

/// Wraps paragraphs in `<p>`; fragments that already start with a block
/// element (`<ul>`, `<ol>`, `<p>`) stay as they are.
fn blocks(content: &str) -> String {
    const BLOCK_TAGS: [&str; 3] = ["<ul>", "<ol>", "<p>"];
    content
        .split("\n\n")
        .map(|part| {
            let part = part.trim();
            if BLOCK_TAGS.iter().any(|tag| part.starts_with(tag)) {
                part.to_owned()
            } else {
                format!("<p>{part}</p>")
            }
        })
        .collect()
}

/// Minimal HTML escaping for plain-text fields.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Plain text of an HTML fragment (tags removed, common entities decoded).
#[cfg(test)]
pub(crate) fn strip_html(html: &str) -> String {
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
    text.replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
}

/// Number of words (tokens containing a letter or digit) of an HTML fragment.
#[cfg(test)]
pub(crate) fn word_count(html: &str) -> usize {
    strip_html(html)
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn at_least_45_services_with_unique_ids_urls_titles() {
        let services = services();
        assert!(services.len() >= 45, "only {} services", services.len());
        for (field, values) in [
            (
                "id",
                services.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ),
            ("url", services.iter().map(|s| s.url.as_str()).collect()),
            ("title", services.iter().map(|s| s.title.as_str()).collect()),
            ("leika", services.iter().map(|s| s.leika.as_str()).collect()),
        ] {
            let unique: HashSet<_> = values.iter().collect();
            assert_eq!(unique.len(), values.len(), "duplicate {field}");
        }
        assert_eq!(services[0].id, "ms-leistung-001");
        assert_eq!(services[0].title, "Personalausweis beantragen");
    }

    #[test]
    fn bodies_have_between_120_and_300_words() {
        for service in services() {
            let words = word_count(&service.body_html);
            assert!(
                (120..=300).contains(&words),
                "{} ({}) has {words} words",
                service.id,
                service.title
            );
        }
    }

    #[test]
    fn bodies_are_well_formed_html() {
        const ENTITIES: [&str; 5] = ["&nbsp;", "&amp;", "&lt;", "&gt;", "&quot;"];
        for service in services() {
            let html = &service.body_html;
            for (pos, _) in html.match_indices('&') {
                assert!(
                    ENTITIES.iter().any(|e| html[pos..].starts_with(e)),
                    "{}: bare '&' at {pos}",
                    service.id
                );
            }
            let mut stack: Vec<String> = Vec::new();
            for tag in html.split('<').skip(1) {
                let tag = &tag[..tag.find('>').expect("unclosed tag")];
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                if name == "br" {
                    continue;
                }
                if tag.starts_with('/') {
                    assert_eq!(
                        stack.pop().as_deref(),
                        Some(name.as_str()),
                        "{}",
                        service.id
                    );
                } else {
                    stack.push(name);
                }
            }
            assert!(stack.is_empty(), "{}: unclosed {stack:?}", service.id);
            for heading in ["<h3>Gebühren</h3>", "<h3>Zuständige Stelle</h3>"] {
                assert!(html.contains(heading), "{}: missing {heading}", service.id);
            }
            assert!(
                html.contains("/termin/"),
                "{}: no appointment link",
                service.id
            );
        }
    }

    #[test]
    fn entities_and_nested_tags_are_present_somewhere() {
        let all: String = services().into_iter().map(|s| s.body_html).collect();
        assert!(all.contains("&nbsp;"));
        assert!(all.contains("&amp;"));
        assert!(all.contains("<p><strong>") || all.contains("<li><strong>"));
        assert!(all.contains("<em>"));
    }

    #[test]
    fn leika_keys_and_dates_are_well_formed() {
        for service in services() {
            assert_eq!(service.leika.len(), 14, "{}", service.leika);
            assert!(service.leika.starts_with("99"));
            assert!(service.leika.chars().all(|c| c.is_ascii_digit()));
            assert!(
                service.updated.as_str() >= "2026-07-01"
                    && service.updated.as_str() <= "2026-10-01"
            );
            assert!(service.url.starts_with(BASE_URL));
            assert!(!service.keywords.is_empty() && !service.teaser.is_empty());
        }
    }

    #[test]
    fn required_services_exist() {
        let titles: Vec<String> = services()
            .into_iter()
            .map(|s| s.title.to_lowercase())
            .collect();
        for needle in [
            "personalausweis beantragen",
            "reisepass",
            "vorläufigen personalausweis",
            "verlust",
            "wohnsitz anmelden",
            "wohnsitz ummelden",
            "wohnsitz abmelden",
            "meldebescheinigung",
            "melderegisterauskunft",
            "auskunftssperre",
            "eheschließung",
            "geburt",
            "sterbefall",
            "kirchenaustritt",
            "führungszeugnis",
            "fahrzeug zulassen",
            "fahrzeug ummelden",
            "fahrzeug abmelden",
            "wunschkennzeichen",
            "bewohnerparkausweis",
            "schwerbehinderung",
            "abfallkalender",
            "sperrmüll",
            "biotonne",
            "hundesteuer",
            "hund abmelden",
            "gewerbe anmelden",
            "gewerbe abmelden",
            "baugenehmigung",
            "wohngeld",
            "elterngeld",
            "kita",
            "schulanmeldung",
            "fundbüro",
            "bibliotheksausweis",
            "führerschein",
            "beglaubigen",
            "briefwahl",
            "wahlhelfer",
            "parkverstö",
            "mängelmelder",
            "baum",
            "grundsteuer",
            "zweitwohnungsteuer",
            "einbürgerung",
            "aufenthaltstitel",
            "fischereischein",
            "sondernutzung",
            "lärm",
            "personalausweis für kinder",
        ] {
            assert!(
                titles.iter().any(|t| t.contains(needle)),
                "no service for {needle:?}"
            );
        }
    }

    #[test]
    fn ummelden_text_covers_what_citizens_ask() {
        let service = services()
            .into_iter()
            .find(|s| s.url.ends_with("/wohnsitz-ummelden"))
            .unwrap();
        let text = strip_html(&service.body_html);
        for word in [
            "ummelden",
            "Umzug",
            "Wohnsitz",
            "Wohnungsgeberbestätigung",
            "zwei Wochen",
        ] {
            assert!(text.contains(word), "missing {word}");
        }
        assert!(service.keywords.iter().any(|k| k == "ummelden"));
    }

    #[test]
    fn escape_handles_special_characters() {
        assert_eq!(
            escape("A & B <c> \"d\""),
            "A &amp; B &lt;c&gt; &quot;d&quot;"
        );
        assert_eq!(blocks("a\n\nb"), "<p>a</p><p>b</p>");
        assert_eq!(blocks("<ul><li>x</li></ul>"), "<ul><li>x</li></ul>");
        assert_eq!(word_count("<p>Zwei&nbsp;Wörter</p> – <b>drei</b>"), 3);
    }
}
