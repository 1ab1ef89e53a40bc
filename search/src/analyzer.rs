//! German text analysis, registered with Tantivy under the name [`GERMAN_ANALYZER`].
//!
//! The chain, applied identically at index and at query time:
//!
//! 1. [`SimpleTokenizer`]: splits on every non-alphanumeric character (digits are kept, so
//!    "B 27" or "§ 17" keep "27" and "17"; "Kfz-Zulassung" becomes "kfz", "zulassung").
//! 2. [`RemoveLongFilter`]: drops tokens longer than [`MAX_TOKEN_BYTES`] bytes (garbage, hashes).
//! 3. [`LowerCaser`].
//! 4. [`StopWordFilter`] with Tantivy's German list (it is spelled with umlauts, so it runs
//!    before folding).
//! 5. [`AsciiFoldingFilter`]: "ä" → "a", "ß" → "ss", "é" → "e", so "Straße" and "Strasse" meet.
//! 6. A second, small stop-word list with the folded and transliterated spellings of the
//!    umlaut stop words ("fur", "fuer", "uber", "dass", ...), for users without umlaut keys.
//! 7. [`Decompound`]: compound splitting ([`crate::decompound`]). A compound of words of the
//!    dictionary `search/compounds.txt` is kept and followed by its parts, at the same position
//!    and with the same offsets: "hundesteuer" → "hundesteuer", "hund", "steuer". So "Hund"
//!    finds "Hundesteuer", "Parkausweis" finds "Bewohnerparkausweis", and highlighting marks
//!    the whole compound. It runs after folding (the dictionary is folded the same way) and
//!    before stemming, so the parts are stemmed like every other word.
//! 8. [`Stemmer`] with the Snowball German algorithm. It also maps "ae"/"oe"/"ue" to umlauts
//!    and then folds them, so "Buergerbuero" and "Bürgerbüro" share the stem "burgerburo".
//!
//! Query-side synonyms are not part of the analyzer: see [`crate::query::expand_synonyms`].
//!
//! ## Changing the chain
//!
//! Tantivy stores the terms, not the analyzer: an index written with an older chain keeps its
//! old terms (an index from before decompounding has no part terms, so "Hund" does not find
//! "Hundesteuer" there; nothing breaks, recall is just lower). `allmende ingest` replaces every
//! document source of the index with freshly analyzed passages, so re-running it after an
//! upgrade brings an existing index up to date; [`ANALYZER_VERSION`] names the chain.

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, TokenStream,
};

use crate::decompound::Decompound;
use crate::error::{Error, Result};

/// Name under which the German analyzer is registered on every index.
pub const GERMAN_ANALYZER: &str = "de";

/// Version of the analysis chain; bump it when a change alters the terms of indexed text
/// (1: folding, stop words, stemming; 2: compound splitting). Indexes are rebuilt by
/// `allmende ingest` (see the module docs).
pub const ANALYZER_VERSION: u32 = 2;

/// Tokens longer than this many bytes are dropped (the longest German words in municipal texts,
/// e.g. "Wohnungsgeberbestätigung", stay far below it).
pub const MAX_TOKEN_BYTES: usize = 64;

/// Folded or ae/oe/ue-transliterated forms of the German stop words that contain umlauts or ß.
/// Tantivy's list has them only with umlauts; after folding they would slip through.
const FOLDED_STOP_WORDS: &[&str] = &[
    "dass", "fur", "fuer", "konnen", "koennen", "konnte", "koennte", "uber", "ueber", "wahrend",
    "waehrend", "wurde", "wuerde", "wurden", "wuerden",
];

/// Builds the German analyzer described in the module docs.
pub fn german_analyzer() -> Result<TextAnalyzer> {
    let stop_words = StopWordFilter::new(Language::German).ok_or_else(|| {
        Error::Internal(
            "tantivy has no German stop-word list (is the `stopwords` feature on?)".into(),
        )
    })?;
    let folded_stop_words =
        StopWordFilter::remove(FOLDED_STOP_WORDS.iter().map(|w| (*w).to_string()));
    Ok(TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(stop_words)
        .filter(AsciiFoldingFilter)
        .filter(folded_stop_words)
        .filter(Decompound::german())
        .filter(Stemmer::new(Language::German))
        .build())
}

/// Registers [`german_analyzer`] as [`GERMAN_ANALYZER`] on `index`.
///
/// Custom tokenizers are not persisted by Tantivy, so this runs on every open.
pub fn register(index: &Index) -> Result<()> {
    index
        .tokenizers()
        .register(GERMAN_ANALYZER, german_analyzer()?);
    Ok(())
}

/// Runs `text` through `analyzer` and returns the resulting terms in order (duplicates kept).
pub fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while stream.advance() {
        terms.push(stream.token().text.clone());
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        analyze(&mut german_analyzer().unwrap(), text)
    }

    #[test]
    fn umlauts_and_sharp_s_are_folded() {
        assert_eq!(terms("Straße"), terms("Strasse"));
        assert_eq!(terms("Bürgerbüro"), terms("Buergerbuero"));
        assert_eq!(terms("Bürgerbüro"), terms("Burgerburo"));
        assert_eq!(terms("Gebühren"), terms("Gebuehren"));
    }

    #[test]
    fn stemming_unifies_inflections() {
        assert_eq!(terms("Hunde"), terms("Hund"));
        assert_eq!(terms("beantragen"), terms("beantrage"));
        assert_eq!(terms("Anträge"), terms("Antrag"));
        assert_eq!(terms("Ausweises"), terms("Ausweis"));
    }

    #[test]
    fn stop_words_are_dropped_in_every_spelling() {
        assert!(terms("für die über dass und").is_empty());
        assert!(terms("fuer ueber fur uber daß").is_empty());
        // "Wohnsitz" adds its parts "wohn" and "sitz" (decompounding).
        assert_eq!(
            terms("Wie melde ich meinen Wohnsitz um?"),
            terms("melde Wohnsitz")
        );
        assert_eq!(terms("Wie melde ich meine Adresse um?").len(), 2);
    }

    #[test]
    fn digits_are_kept_and_punctuation_is_ignored() {
        assert_eq!(terms("§ 17 BMG"), vec!["17".to_string(), "bmg".to_string()]);
        assert_eq!(terms("C++ \"AND\" (OR) NOT: [x]"), terms("c and or not x"));
        assert_eq!(terms("Kfz-Zulassung").len(), 2);
    }

    #[test]
    fn compounds_keep_the_whole_word_and_add_stemmed_parts() {
        let hundesteuer = terms("Hundesteuer");
        assert_eq!(hundesteuer.len(), 3, "{hundesteuer:?}");
        assert_eq!(hundesteuer[0], terms("Hundesteuer")[0]);
        assert_eq!(&hundesteuer[1..], terms("Hund Steuer").as_slice());
        // Parts are stemmed: the plural "Hunde" meets the part "hund".
        assert!(hundesteuer.contains(&terms("Hunde")[0]));
        let parken = terms("Bewohnerparkausweise");
        for word in ["Bewohner", "Park", "Ausweis"] {
            assert!(parken.contains(&terms(word)[0]), "{word}: {parken:?}");
        }
        // Umlaut spellings split alike; ordinary words stay single terms.
        assert_eq!(terms("Bürgerbüro"), terms("Buergerbuero"));
        assert_eq!(terms("Führungszeugnis"), terms("Fuehrungszeugnis"));
        assert_eq!(terms("Verwaltung Ausweis beantragen").len(), 3);
        // Positions: the parts share the position of the compound.
        let mut analyzer = german_analyzer().unwrap();
        let mut stream = analyzer.token_stream("Hundesteuer zahlen");
        let mut positions = Vec::new();
        while stream.advance() {
            positions.push(stream.token().position);
        }
        assert_eq!(positions, vec![0, 0, 0, 1]);
    }

    #[test]
    fn odd_input_does_not_panic() {
        let long_word = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(terms(&long_word).is_empty());
        let _ = terms("🐕 Собака 狗 \u{0} \u{200b}");
        assert!(terms("").is_empty());
        assert!(terms("   \n\t ").is_empty());
    }
}
