//! Shared fixtures for the integration tests: a small German municipal corpus as Arrow batches.

use std::sync::Arc;

use allmende_search::{Hit, SearchIndex, SearchOptions};
use arrow::array::{ArrayRef, StringArray};
use arrow::record_batch::RecordBatch;

/// (doc_id, kind, title, teaser, body)
pub type Row = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    String,
);

pub fn personalausweis_body() -> String {
    let intro = "Den Personalausweis beantragen Sie persönlich im Bürgerbüro. Der Ausweis gilt \
        für Personen ab 24 Jahren zehn Jahre, für jüngere Personen sechs Jahre. Bitte vereinbaren \
        Sie vorher online einen Termin. Bringen Sie Ihren alten Ausweis oder Reisepass, ein \
        aktuelles biometrisches Lichtbild und gegebenenfalls Ihre Geburtsurkunde mit.";
    let fees = "Die Gebühr beträgt 37 Euro, für Personen unter 24 Jahren 22,80 Euro. Die \
        Bearbeitung dauert etwa drei bis vier Wochen. Sobald das Dokument abholbereit ist, \
        erhalten Sie eine Benachrichtigung per E-Mail oder Post. Bei der Abholung erhalten Sie \
        auch den PIN-Brief für die Online-Ausweisfunktion. Wer den Ausweis nicht selbst abholen \
        kann, darf eine andere Person mit einer schriftlichen Vollmacht schicken.";
    let loss = "Ist Ihr Ausweis verloren gegangen oder wurde er gestohlen, melden Sie den Verlust \
        umgehend im Bürgerbüro oder bei der Polizei. Sie erhalten dort eine Verlustanzeige. \
        Einen vorläufigen Personalausweis stellen wir Ihnen bei Bedarf sofort aus; er kostet \
        10 Euro und gilt drei Monate. Bitte beachten Sie, dass ein abgelaufener Ausweis keine \
        gültige Legitimation mehr ist und ein Bußgeld drohen kann.";
    // Repeat to make a body that is split into several passages.
    [intro, fees, loss, intro, fees, loss].join("\n\n")
}

pub fn corpus() -> Vec<Row> {
    vec![
        (
            "personalausweis",
            "service",
            "Personalausweis beantragen",
            Some("Neuen Personalausweis im Bürgerbüro beantragen."),
            personalausweis_body(),
        ),
        (
            "reisepass",
            "service",
            "Reisepass beantragen",
            Some("Reisepass für Reisen außerhalb der EU."),
            "Einen Reisepass benötigen Sie für Reisen in viele Länder außerhalb der Europäischen \
             Union. Der Antrag wird im Bürgerbüro gestellt. Die Gebühr beträgt 70 Euro, ein \
             Express-Pass kostet zusätzlich 32 Euro."
                .into(),
        ),
        (
            "wohnsitz-ummelden",
            "service",
            "Wohnsitz ummelden",
            Some("Umzug innerhalb der Stadt melden."),
            "Bei einem Umzug innerhalb der Stadt müssen Sie Ihre neue Adresse innerhalb von zwei \
             Wochen im Bürgerbüro melden. Bringen Sie Ihren Personalausweis und die \
             Wohnungsgeberbestätigung Ihres Vermieters mit. Die Ummeldung ist gebührenfrei."
                .into(),
        ),
        (
            "wohnsitz-anmelden",
            "service",
            "Wohnsitz anmelden",
            Some("Zuzug in die Stadt anmelden."),
            "Wenn Sie aus einer anderen Gemeinde zuziehen, melden Sie Ihren neuen Wohnsitz \
             innerhalb von zwei Wochen an. Erforderlich sind ein gültiges Ausweisdokument und die \
             Wohnungsgeberbestätigung. Die Anmeldung ist kostenlos."
                .into(),
        ),
        (
            "hundesteuer",
            "service",
            "Hundesteuer",
            None,
            "Wer in der Stadt Hunde hält, muss jeden Hund innerhalb von zwei Wochen bei der \
             Steuerverwaltung anmelden. Die Steuer beträgt 120 Euro im Jahr für den ersten Hund. \
             Sie erhalten eine Hundesteuermarke."
                .into(),
        ),
        (
            "bewohnerparken",
            "service",
            "Bewohnerparkausweis",
            Some("Parken in der eigenen Straße."),
            "Anwohnerinnen und Anwohner in Bewohnerparkzonen können einen Parkausweis für ihre \
             Straße beantragen. Voraussetzung ist der Hauptwohnsitz in der Zone und ein auf Sie \
             zugelassenes Fahrzeug. Der Ausweis kostet 30 Euro pro Jahr."
                .into(),
        ),
        (
            "sperrmuell",
            "service",
            "Sperrmüll anmelden",
            None,
            "Sperrige Gegenstände wie Möbel und Matratzen holt der Abfallbetrieb zweimal im Jahr \
             kostenlos ab. Melden Sie den Termin online oder telefonisch an und stellen Sie den \
             Sperrmüll am Abholtag bis 6 Uhr an die Straße."
                .into(),
        ),
        (
            "eheschliessung",
            "service",
            "Eheschließung anmelden",
            Some("Heiraten im Standesamt."),
            "Wenn Sie heiraten möchten, melden Sie die Eheschließung beim Standesamt Ihres \
             Wohnortes an. Benötigt werden Ausweise und aktuelle Geburtsurkunden beider Partner."
                .into(),
        ),
        (
            "gewerbe",
            "service",
            "Gewerbe anmelden",
            None,
            "Wer ein Gewerbe beginnt, muss es beim Gewerbeamt anmelden. Die Gewerbeanmeldung \
             kostet 26 Euro und kann auch online erfolgen."
                .into(),
        ),
        (
            "kfz-zulassung",
            "office",
            "Kfz-Zulassungsstelle",
            Some("Fahrzeuge an-, um- und abmelden."),
            "Die Zulassungsstelle lässt Kraftfahrzeuge zu, meldet sie um oder ab. Bringen Sie \
             die Zulassungsbescheinigung Teil I und II, den Nachweis der Versicherung und Ihren \
             Personalausweis mit."
                .into(),
        ),
    ]
}

pub fn batch(rows: &[Row]) -> RecordBatch {
    let strings = |values: Vec<Option<&str>>| -> ArrayRef { Arc::new(StringArray::from(values)) };
    RecordBatch::try_from_iter([
        ("doc_id", strings(rows.iter().map(|r| Some(r.0)).collect())),
        ("kind", strings(rows.iter().map(|r| Some(r.1)).collect())),
        ("title", strings(rows.iter().map(|r| Some(r.2)).collect())),
        ("teaser", strings(rows.iter().map(|r| r.3).collect())),
        (
            "body",
            strings(rows.iter().map(|r| Some(r.4.as_str())).collect()),
        ),
        (
            "url",
            strings(
                rows.iter()
                    .map(|_| Some("https://stadt.example/leistungen"))
                    .collect(),
            ),
        ),
        (
            "licence",
            strings(rows.iter().map(|_| Some("dl-de/by-2-0")).collect()),
        ),
        (
            "attribution",
            strings(rows.iter().map(|_| Some("Stadt Musterstadt")).collect()),
        ),
    ])
    .unwrap()
}

pub fn indexed() -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    index.replace_source("stadt", &[batch(&corpus())]).unwrap();
    index
}

pub fn search(index: &SearchIndex, q: &str) -> Vec<Hit> {
    index.search(q, &SearchOptions::default()).unwrap()
}

pub fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.doc_id.as_str()).collect()
}

/// A batch of `n` one-sentence "Amt" documents with ids `{prefix}{i}`.
pub fn amt_batch(prefix: &str, n: usize) -> RecordBatch {
    let strings = |values: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(values)) };
    let same = |v: &str| strings(vec![v.to_string(); n]);
    RecordBatch::try_from_iter([
        (
            "doc_id",
            strings((0..n).map(|i| format!("{prefix}{i}")).collect()),
        ),
        ("title", same("Amt")),
        ("body", same("Das Amt hilft.")),
        ("url", same("https://stadt.example/amt")),
        ("licence", same("cc0")),
    ])
    .unwrap()
}
