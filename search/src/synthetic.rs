//! Deterministic synthetic corpora for scale benchmarks and tests: German-like municipal
//! service passages as Arrow batches in the shape [`crate::ingest`] reads, questions over
//! them, and clustered unit vectors standing in for their embeddings.
//!
//! Text: every document is one passage (70–140 words, no line breaks, so the passage splitter
//! keeps it whole) with the stable id `syn-{n:07}` (passage `syn-{n:07}#0`). Words are drawn
//! from a municipal-service vocabulary — function words, about 40 service areas with their
//! own nouns, general administrative words, verbs, and compounds of ~40 × ~30 stems
//! ("Gebührenbescheid", "Parkantrag") — with Zipf-like (1/rank) frequencies, plus numbers, so
//! BM25 sees a realistic mix of very common, topical and rare terms. A document belongs to one
//! service area; its title and most of its topical words come from that area.
//!
//! Vectors ([`clustered_unit_vectors`]): real embeddings are far from uniform — they share a
//! common direction and crowd around topics. Each vector is the normalised sum of a common
//! direction (weight 0.6), one of `n / 2 000 + 1` topic directions (1.0), one of 20 sub-topic
//! directions of that topic (0.6) and isotropic noise (0.35), all random unit vectors; a pair of
//! random vectors has cosine ≈ 0.2, a pair from one sub-topic ≈ 0.9. Query vectors are fresh
//! draws from the same mixture.
//!
//! Everything is a pure function of its arguments (SplitMix64 seeded per item), so a
//! benchmark can regenerate the same corpus, and row `n` does not depend on how many rows
//! were asked for.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::record_batch::RecordBatch;

use crate::dense::DenseIndex;
use crate::dense::ann::SplitMix64;
use crate::error::Result;

/// Name of the source the scale benchmark indexes the synthetic corpus under.
pub const SOURCE: &str = "synthetic.leistungen";

/// Service areas: (title noun, topical nouns).
#[rustfmt::skip]
const AREAS: &[(&str, &[&str])] = &[
    ("Personalausweis", &["Ausweis", "Lichtbild", "Reisepass", "Fingerabdruck", "Ausweisdokument", "PIN-Brief"]),
    ("Reisepass", &["Pass", "Kinderreisepass", "Expresspass", "Lichtbild", "Ausreise", "Visum"]),
    ("Wohnsitz", &["Anmeldung", "Ummeldung", "Wohnungsgeberbestätigung", "Meldebescheinigung", "Umzug", "Nebenwohnung"]),
    ("Hundesteuer", &["Hund", "Hundemarke", "Kampfhund", "Steuerbescheid", "Hundehaltung", "Ermäßigung"]),
    ("Gewerbeanmeldung", &["Gewerbe", "Gewerbeschein", "Betrieb", "Handwerkskammer", "Gewerbeabmeldung", "Gaststätte"]),
    ("Führungszeugnis", &["Zeugnis", "Bundeszentralregister", "Ehrenamt", "Arbeitgeber", "Auskunft", "Belegart"]),
    ("Baugenehmigung", &["Bauantrag", "Bauvorlage", "Grundstück", "Bebauungsplan", "Statik", "Bauamt"]),
    ("Bewohnerparkausweis", &["Parkausweis", "Parkzone", "Kennzeichen", "Fahrzeugschein", "Parkplatz", "Anwohner"]),
    ("Sperrmüll", &["Abfall", "Wertstoffhof", "Abholung", "Elektroschrott", "Mülltonne", "Entsorgung"]),
    ("Kindertagesstätte", &["Kita", "Betreuungsplatz", "Kindergarten", "Krippe", "Elternbeitrag", "Tagespflege"]),
    ("Elterngeld", &["Elternzeit", "Geburt", "Einkommen", "Partnermonate", "Antragsformular", "Familienkasse"]),
    ("Geburtsurkunde", &["Urkunde", "Standesamt", "Geburt", "Personenstandsregister", "Abschrift", "Namensgebung"]),
    ("Eheschließung", &["Trauung", "Standesamt", "Ehefähigkeitszeugnis", "Trauzimmer", "Namensführung", "Heirat"]),
    ("Fahrerlaubnis", &["Führerschein", "Fahrschule", "Sehtest", "Erste-Hilfe-Kurs", "Umtausch", "Fahrprüfung"]),
    ("Fahrzeugzulassung", &["Zulassung", "Kennzeichen", "Fahrzeugbrief", "Versicherung", "Abmeldung", "Umweltplakette"]),
    ("Wohngeld", &["Miete", "Zuschuss", "Haushalt", "Einkommensnachweis", "Mietvertrag", "Lastenzuschuss"]),
    ("Bürgergeld", &["Jobcenter", "Regelbedarf", "Unterkunft", "Weiterbewilligung", "Bedarfsgemeinschaft", "Leistung"]),
    ("Grundsteuer", &["Grundbesitz", "Hebesatz", "Steuerbescheid", "Einheitswert", "Grundstück", "Fälligkeit"]),
    ("Fundbüro", &["Fundsache", "Verlust", "Schlüssel", "Geldbörse", "Finderlohn", "Aufbewahrung"]),
    ("Bibliotheksausweis", &["Bibliothek", "Ausleihe", "Medien", "Mahngebühr", "Onleihe", "Lesesaal"]),
    ("Sondernutzung", &["Gehweg", "Straßenfest", "Baustelle", "Container", "Sondernutzungserlaubnis", "Verkehrszeichen"]),
    ("Schwerbehindertenausweis", &["Behinderung", "Merkzeichen", "Versorgungsamt", "Nachteilsausgleich", "Gutachten", "Parkerleichterung"]),
    ("Einbürgerung", &["Staatsangehörigkeit", "Einbürgerungstest", "Sprachnachweis", "Aufenthalt", "Urkunde", "Ausländerbehörde"]),
    ("Aufenthaltstitel", &["Aufenthaltserlaubnis", "Ausländerbehörde", "Niederlassungserlaubnis", "Visum", "Arbeitserlaubnis", "Verlängerung"]),
    ("Wahlschein", &["Briefwahl", "Wahlbenachrichtigung", "Wahllokal", "Stimmzettel", "Wählerverzeichnis", "Wahlamt"]),
    ("Baumfällung", &["Baum", "Baumschutzsatzung", "Ersatzpflanzung", "Grünflächenamt", "Genehmigung", "Gutachten"]),
    ("Schulanmeldung", &["Schule", "Grundschule", "Einschulung", "Schulbezirk", "Schulweg", "Schulamt"]),
    ("Anwohnerparken", &["Parkausweis", "Parkzone", "Gebühr", "Anwohner", "Kennzeichen", "Parkschein"]),
    ("Lärmbeschwerde", &["Lärm", "Ruhezeit", "Ordnungsamt", "Nachbarschaft", "Baulärm", "Beschwerde"]),
    ("Straßenbeleuchtung", &["Laterne", "Störung", "Straße", "Beleuchtung", "Meldung", "Tiefbauamt"]),
    ("Wohnberechtigungsschein", &["Sozialwohnung", "Einkommensgrenze", "Wohnfläche", "Haushalt", "Wohnungsamt", "Berechtigung"]),
    ("Pflegegeld", &["Pflege", "Pflegegrad", "Pflegekasse", "Angehörige", "Pflegedienst", "Beratung"]),
    ("Vereinsregister", &["Verein", "Satzung", "Vorstand", "Amtsgericht", "Eintragung", "Gemeinnützigkeit"]),
    ("Fischereischein", &["Fischerei", "Angeln", "Prüfung", "Gewässer", "Angelschein", "Fischereiabgabe"]),
    ("Waffenschein", &["Waffe", "Waffenbesitzkarte", "Zuverlässigkeit", "Sachkunde", "Jäger", "Schützenverein"]),
    ("Gaststättenerlaubnis", &["Gaststätte", "Ausschank", "Hygiene", "Konzession", "Außengastronomie", "Sperrzeit"]),
    ("Rundfunkbeitrag", &["Beitrag", "Befreiung", "Beitragsservice", "Wohnung", "Ermäßigung", "Abmeldung"]),
    ("Sterbeurkunde", &["Sterbefall", "Bestattung", "Friedhof", "Nachlass", "Standesamt", "Grabstelle"]),
    ("Straßenreinigung", &["Reinigung", "Winterdienst", "Gehweg", "Gebühr", "Kehrbezirk", "Streupflicht"]),
    ("Jugendamt", &["Beistandschaft", "Unterhalt", "Sorgerecht", "Erziehungsberatung", "Vormundschaft", "Jugendhilfe"]),
];

#[rustfmt::skip]
const FUNCTION_WORDS: &[&str] = &[
    "die", "der", "und", "Sie", "den", "im", "für", "mit", "das", "ist", "bei", "eine", "ein",
    "auf", "dem", "des", "zu", "an", "oder", "wenn", "nicht", "auch", "von", "werden", "können",
    "vor", "nach", "Ihr", "Ihre", "bitte", "sowie", "über", "innerhalb", "bis", "zum", "zur",
    "wird", "sind", "haben", "muss",
];

#[rustfmt::skip]
const GENERAL: &[&str] = &[
    "Antrag", "Termin", "Bürgerbüro", "Gebühr", "Unterlagen", "Nachweis", "Formular", "Frist",
    "Verwaltung", "Behörde", "Stadt", "Bearbeitung", "Online", "Servicecenter", "Öffnungszeiten",
    "Vollmacht", "Bescheid", "Zahlung", "Euro", "Wochen", "Tage", "persönlich", "schriftlich",
    "Post", "E-Mail", "Auskunft", "Rathaus", "Sachbearbeitung", "Voraussetzung", "Kosten",
    "Erstattung", "Kopie", "Original", "Widerspruch", "Rechtsgrundlage", "Zuständigkeit",
    "Ansprechpartner", "Barrierefreiheit", "Datenschutz", "Bescheinigung",
];

#[rustfmt::skip]
const VERBS: &[&str] = &[
    "beantragen", "vereinbaren", "einreichen", "vorlegen", "anmelden", "abmelden", "ummelden",
    "verlängern", "bezahlen", "erhalten", "abholen", "ausfüllen", "nachweisen", "prüfen",
    "mitbringen", "zusenden", "ändern", "melden", "genehmigen", "erteilen",
];

#[rustfmt::skip]
const COMPOUND_HEADS: &[&str] = &[
    "Gebühren", "Antrags", "Melde", "Park", "Bau", "Steuer", "Wohn", "Miet", "Ausweis", "Termin",
    "Bürger", "Abfall", "Kinder", "Schul", "Straßen", "Verkehrs", "Gewerbe", "Familien", "Sozial",
    "Pflege", "Renten", "Standes", "Ordnungs", "Grün", "Wahl", "Hunde", "Fahrzeug", "Jugend",
    "Kultur", "Sport", "Umwelt", "Wasser", "Energie", "Friedhofs", "Feuerwehr", "Gesundheits",
    "Integrations", "Senioren", "Vereins", "Zuschuss",
];

#[rustfmt::skip]
const COMPOUND_TAILS: &[&str] = &[
    "bescheid", "antrag", "stelle", "amt", "ordnung", "satzung", "formular", "gebühr", "nachweis",
    "frist", "termin", "bescheinigung", "beratung", "verfahren", "erlaubnis", "ausweis",
    "register", "zuschuss", "konto", "schalter", "verzeichnis", "auskunft", "meldung", "pflicht",
    "recht", "verordnung", "plan", "zentrale", "portal", "kasse",
];

/// Index in `0..n` drawn with probability ∝ 1/(rank + 1) (Zipf, exponent 1), by inverting
/// the continuous approximation of the harmonic distribution.
fn zipf(rng: &mut SplitMix64, n: usize) -> usize {
    let u = rng.next_f64();
    let x = ((n as f64 + 1.0).ln() * u).exp() - 1.0;
    (x as usize).min(n - 1)
}

fn pick<'a>(rng: &mut SplitMix64, words: &[&'a str]) -> &'a str {
    words[zipf(rng, words.len())]
}

fn compound(rng: &mut SplitMix64) -> String {
    format!("{}{}", pick(rng, COMPOUND_HEADS), pick(rng, COMPOUND_TAILS))
}

/// Generator state for document `n`: independent of every other document.
fn doc_rng(seed: u64, n: usize) -> SplitMix64 {
    let mut mix = SplitMix64::new(seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    SplitMix64::new(mix.next_u64())
}

/// The service area of document `n` (Zipf-distributed: a few areas have many documents).
fn area_of(rng: &mut SplitMix64) -> usize {
    zipf(rng, AREAS.len())
}

fn sentence(rng: &mut SplitMix64, area: usize, words: usize) -> String {
    let topical = AREAS[area].1;
    let mut out: Vec<String> = Vec::with_capacity(words);
    for i in 0..words {
        let roll = rng.next_f64();
        let word = if i + 1 == words {
            pick(rng, VERBS).to_string()
        } else if roll < 0.45 {
            pick(rng, FUNCTION_WORDS).to_string()
        } else if roll < 0.62 {
            pick(rng, topical).to_string()
        } else if roll < 0.80 {
            pick(rng, GENERAL).to_string()
        } else if roll < 0.88 {
            compound(rng)
        } else if roll < 0.92 {
            // A word from another area: the long tail that keeps idf meaningful.
            let other = rng.below(AREAS.len());
            pick(rng, AREAS[other].1).to_string()
        } else if roll < 0.96 {
            pick(rng, VERBS).to_string()
        } else {
            (rng.below(500) + 1).to_string()
        };
        out.push(word);
    }
    let mut text = out.join(" ");
    if let Some(first) = text.get(..1) {
        let upper = first.to_uppercase();
        text.replace_range(..1, &upper);
    }
    text.push('.');
    text
}

/// One synthetic document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticDocument {
    /// `syn-{n:07}`.
    pub doc_id: String,
    /// Service area title, e.g. "Hundesteuer anmelden".
    pub title: String,
    /// One passage of 70–140 words without line breaks.
    pub body: String,
    /// Short teaser (every third document has none).
    pub teaser: Option<String>,
}

/// The id of synthetic document `n`.
pub fn doc_id(n: usize) -> String {
    format!("syn-{n:07}")
}

/// Document `n` of the corpus with `seed`.
pub fn document(seed: u64, n: usize) -> SyntheticDocument {
    let mut rng = doc_rng(seed, n);
    let area = area_of(&mut rng);
    let title = format!("{} {}", AREAS[area].0, pick(&mut rng, VERBS));
    let target = 70 + rng.below(71);
    let mut body = String::new();
    let mut words = 0;
    while words < target {
        let len = (8 + rng.below(11)).min(target - words).max(3);
        if !body.is_empty() {
            body.push(' ');
        }
        body.push_str(&sentence(&mut rng, area, len));
        words += len;
    }
    let teaser = (n % 3 != 2).then(|| sentence(&mut rng, area, 8));
    SyntheticDocument {
        doc_id: doc_id(n),
        title,
        body,
        teaser,
    }
}

/// Documents `range` as one record batch with the columns `doc_id`, `title`, `body`, `url`,
/// `licence`, `teaser`, `attribution`, `kind` (all `Utf8`).
pub fn document_batch(seed: u64, range: std::ops::Range<usize>) -> Result<RecordBatch> {
    let docs: Vec<SyntheticDocument> = range.clone().map(|n| document(seed, n)).collect();
    let strings = |values: Vec<Option<String>>| -> ArrayRef { Arc::new(StringArray::from(values)) };
    let all = |f: &dyn Fn(&SyntheticDocument) -> String| -> ArrayRef {
        strings(docs.iter().map(|d| Some(f(d))).collect())
    };
    Ok(RecordBatch::try_from_iter([
        ("doc_id", all(&|d| d.doc_id.clone())),
        ("title", all(&|d| d.title.clone())),
        ("body", all(&|d| d.body.clone())),
        (
            "url",
            all(&|d| format!("https://musterstadt.example/leistungen/{}", d.doc_id)),
        ),
        ("licence", all(&|_| "dl-de/by-2-0".to_string())),
        (
            "teaser",
            strings(docs.iter().map(|d| d.teaser.clone()).collect()),
        ),
        (
            "attribution",
            all(&|_| "Stadt Musterstadt (synthetische Daten)".to_string()),
        ),
        (
            "kind",
            strings(
                range
                    .map(|n| Some(if n % 10 == 0 { "office" } else { "service" }.to_string()))
                    .collect(),
            ),
        ),
    ])?)
}

/// Documents `0..n` in batches of at most `batch_rows` rows (one passage each).
pub fn document_batches(seed: u64, n: usize, batch_rows: usize) -> Result<Vec<RecordBatch>> {
    let step = batch_rows.max(1);
    (0..n)
        .step_by(step)
        .map(|start| document_batch(seed, start..(start + step).min(n)))
        .collect()
}

/// `count` citizen-style queries of 1–4 words over the corpus vocabulary ("Hundesteuer
/// anmelden", "Gebühr Reisepass Lichtbild"): an area word, often a verb or topical noun, a
/// general word, sometimes a compound.
pub fn queries(seed: u64, count: usize) -> Vec<String> {
    let mut rng = SplitMix64::new(seed ^ 0x517E_A5CE);
    (0..count)
        .map(|_| {
            let area = area_of(&mut rng);
            let mut words = vec![AREAS[area].0.to_string()];
            if rng.next_f64() < 0.6 {
                words.push(pick(&mut rng, VERBS).to_string());
            }
            if rng.next_f64() < 0.5 {
                words.push(pick(&mut rng, AREAS[area].1).to_string());
            }
            if rng.next_f64() < 0.3 {
                words.push(pick(&mut rng, GENERAL).to_string());
            }
            if rng.next_f64() < 0.1 {
                words.push(compound(&mut rng));
            }
            words.join(" ")
        })
        .collect()
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut SplitMix64) -> f32 {
    let (u, v) = (rng.next_f64(), rng.next_f64());
    ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
}

fn random_unit(rng: &mut SplitMix64, dim: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim).map(|_| gaussian(rng)).collect();
    normalize(&mut v);
    v
}

fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Sub-topics per topic of [`clustered_unit_vectors`].
const SUBTOPICS: usize = 20;
/// Vectors per topic of [`clustered_unit_vectors`] (on average).
const VECTORS_PER_TOPIC: usize = 2_000;

/// The mixture behind [`clustered_unit_vectors`] and [`query_vectors`] (see the module docs).
struct Mixture {
    dim: usize,
    common: Vec<f32>,
    topics: Vec<Vec<f32>>,
    subtopics: Vec<Vec<f32>>,
}

impl Mixture {
    fn new(seed: u64, n: usize, dim: usize) -> Self {
        let mut rng = SplitMix64::new(seed);
        let topics = n / VECTORS_PER_TOPIC + 1;
        Self {
            dim,
            common: random_unit(&mut rng, dim),
            topics: (0..topics).map(|_| random_unit(&mut rng, dim)).collect(),
            subtopics: (0..topics * SUBTOPICS)
                .map(|_| random_unit(&mut rng, dim))
                .collect(),
        }
    }

    fn draw(&self, rng: &mut SplitMix64) -> Vec<f32> {
        let topic = rng.below(self.topics.len());
        let sub = topic * SUBTOPICS + rng.below(SUBTOPICS);
        let noise_scale = 0.35 / (self.dim as f32).sqrt();
        let mut v: Vec<f32> = (0..self.dim)
            .map(|i| {
                0.6 * self.common[i]
                    + self.topics[topic][i]
                    + 0.6 * self.subtopics[sub][i]
                    + noise_scale * gaussian(rng)
            })
            .collect();
        normalize(&mut v);
        v
    }
}

/// A [`DenseIndex`] of `n` clustered `dim`-dimensional unit vectors (see the module docs) with
/// the ids of the synthetic passages (`syn-{n:07}#0`).
pub fn clustered_unit_vectors(seed: u64, n: usize, dim: usize) -> DenseIndex {
    let mixture = Mixture::new(seed, n, dim);
    let mut index = DenseIndex::new(dim);
    index.ids.reserve(n);
    index.vectors.reserve(n * dim);
    for row in 0..n {
        let mut rng = doc_rng(seed ^ 0x00D3_45E0, row);
        index.ids.push(format!("{}#0", doc_id(row)));
        index.vectors.extend(mixture.draw(&mut rng));
    }
    index
}

/// `count` query vectors from the mixture of [`clustered_unit_vectors`] with the same `seed`
/// and `n` (fresh draws, not copies of indexed rows).
pub fn query_vectors(seed: u64, n: usize, dim: usize, count: usize) -> Vec<Vec<f32>> {
    let mixture = Mixture::new(seed, n, dim);
    let mut rng = SplitMix64::new(seed ^ 0x00EE_41E5);
    (0..count).map(|_| mixture.draw(&mut rng)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passages::split_passages;

    #[test]
    fn documents_are_stable_single_passages() {
        for n in [0, 1, 2, 17, 999, 123_456] {
            let doc = document(7, n);
            assert_eq!(doc, document(7, n), "deterministic");
            assert_eq!(doc.doc_id, doc_id(n));
            let words = doc.body.split_whitespace().count();
            assert!((70..=140).contains(&words), "{words} words");
            assert_eq!(split_passages(&doc.body), vec![doc.body.clone()]);
            assert!(!doc.body.contains('\n'));
        }
        assert_ne!(document(7, 1).body, document(8, 1).body);
    }

    #[test]
    fn batches_have_the_ingest_shape() {
        let batches = document_batches(1, 25, 10).unwrap();
        assert_eq!(
            batches
                .iter()
                .map(RecordBatch::num_rows)
                .collect::<Vec<_>>(),
            [10, 10, 5]
        );
        let docs = crate::ingest::read_documents(&batches).unwrap();
        assert_eq!(docs.len(), 25);
        assert_eq!(docs[24].doc_id, "syn-0000024");
        assert_eq!(docs[3].body, document(1, 3).body);
        assert_eq!(docs[2].teaser, None);
        assert_eq!(docs[0].kind.as_deref(), Some("office"));
    }

    #[test]
    fn vocabulary_has_a_long_tail() {
        let mut counts = std::collections::HashMap::new();
        for n in 0..300 {
            for w in document(3, n).body.split_whitespace() {
                *counts
                    .entry(w.trim_end_matches('.').to_lowercase())
                    .or_insert(0) += 1;
            }
        }
        let mut freq: Vec<usize> = counts.values().copied().collect();
        freq.sort_unstable_by(|a, b| b.cmp(a));
        assert!(counts.len() > 700, "{} distinct words", counts.len());
        assert!(
            freq[0] > 50 * freq[freq.len() / 2],
            "Zipf-like head: {freq:?}"
        );
    }

    #[test]
    fn queries_are_deterministic_and_short() {
        let q = queries(5, 100);
        assert_eq!(q, queries(5, 100));
        assert!(
            q.iter()
                .all(|q| (1..=5).contains(&q.split_whitespace().count()))
        );
        assert!(q.iter().collect::<std::collections::HashSet<_>>().len() > 50);
    }

    #[test]
    fn vectors_are_unit_clustered_and_deterministic() {
        let index = clustered_unit_vectors(9, 400, 32);
        assert_eq!(index.len(), 400);
        assert_eq!(index.ids[5], "syn-0000005#0");
        assert_eq!(index, clustered_unit_vectors(9, 400, 32));
        for row in 0..index.len() {
            let v = index.vector(row);
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
        }
        let queries = query_vectors(9, 400, 32, 3);
        assert_eq!(queries.len(), 3);
        let best = index.search_exact(&queries[0], 1).unwrap()[0].1;
        assert!(best > 0.8, "a query lands in a cluster: {best}");
    }
}
