//! Dictionary-based splitting of German compounds ("Bewohnerparkausweis" → "bewohner",
//! "park", "ausweis"), so that a search for one part finds the compound and vice versa.
//!
//! [`Decompounder`] holds a dictionary of known words and stems (the constituents, not the
//! compounds; [`GERMAN_DICTIONARY`] is `search/compounds.txt`, data not code) and splits a
//! lower-cased, folded word into parts by dynamic programming over the word:
//!
//! - a split must cover the whole word with dictionary entries of at least [`MIN_PART_LEN`]
//!   letters, optionally each followed by one linking element of [`LINKING_ELEMENTS`] (the
//!   Fugen-s of "Wohnung-s-geber", the "-e-" of "Hund-e-steuer"; after the last part the same
//!   endings cover inflection: "Parkausweis-e");
//! - it needs at least two parts: a word that is a dictionary entry, or an entry plus an ending
//!   ("Hunde"), is not a compound (so plurals an ending covers need no entry of their own);
//! - of all splits the one with the fewest parts wins, then the one with the fewest linking
//!   letters ("Buß-geld" beats "Bus-s-geld"), then the one with the longer last part;
//! - a part that is itself a compound of dictionary entries is split further.
//!
//! Only words of ASCII lower-case letters are split (the analyzer folds "ä" → "a", "ß" → "ss"
//! before this step); words with digits or other scripts pass unchanged. Dictionary entries are
//! folded the same way on load, and for entries with umlauts the "ae"/"oe"/"ue" spelling is
//! added, so "Buergerbuero" splits like "Bürgerbüro". Parts are returned in the dictionary's
//! folded spelling ("burger", "buro"), which the stemmer then treats like any other word.
//!
//! [`Decompound`] is the Tantivy [`TokenFilter`] built on it: it emits every token unchanged
//! and, right after it, one token per part with the same position and offsets (see
//! [`crate::analyzer`]).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer,
};

/// The German dictionary: constituents of municipal compounds, one per line, `#` comments.
pub const GERMAN_DICTIONARY: &str = include_str!("../compounds.txt");

/// Parts shorter than this many letters are never split off ("aus" + "weis" would need "aus").
pub const MIN_PART_LEN: usize = 3;

/// Linking elements (Fugenelemente) allowed after a part, and inflection endings after the last.
pub const LINKING_ELEMENTS: [&str; 8] = ["s", "es", "n", "en", "e", "er", "ns", "ens"];

/// Words longer than this many bytes are not split (the analyzer drops longer tokens anyway).
const MAX_WORD_BYTES: usize = 64;

/// Splits German compounds into known parts; see the module docs for the rules.
#[derive(Debug, Clone, Default)]
pub struct Decompounder {
    /// Spelling in a word (folded, or with "ae"/"oe"/"ue") → canonical folded spelling.
    words: HashMap<String, String>,
    /// Length in bytes of the longest spelling in `words`.
    longest: usize,
}

/// Lower-cases and folds `word` exactly like the analyzer does before decompounding.
fn fold(folder: &mut TextAnalyzer, word: &str) -> String {
    let mut stream = folder.token_stream(word);
    let mut out = String::new();
    while stream.advance() {
        out.push_str(&stream.token().text);
    }
    out
}

/// "bürger" → "buerger" (the spelling of users without umlaut keys), lower-case input.
fn transliterate(word: &str) -> String {
    word.replace('ä', "ae")
        .replace('ö', "oe")
        .replace('ü', "ue")
}

/// A candidate split of a word prefix: fewer parts, then fewer linking letters, is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Cost {
    parts: usize,
    linking: usize,
}

impl Decompounder {
    /// Builds a decompounder from dictionary words in normal spelling (any case, umlauts, ß).
    /// Entries shorter than [`MIN_PART_LEN`] letters after folding, or containing anything but
    /// letters, are ignored.
    pub fn from_words<I, S>(words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut folder = TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .build();
        let mut this = Self::default();
        for word in words {
            let word = word.as_ref().trim();
            let canonical = fold(&mut folder, word);
            if canonical.len() < MIN_PART_LEN || !canonical.bytes().all(|b| b.is_ascii_lowercase())
            {
                continue;
            }
            let transliterated = transliterate(&word.to_lowercase());
            for spelling in [canonical.clone(), fold(&mut folder, &transliterated)] {
                this.longest = this.longest.max(spelling.len());
                this.words
                    .entry(spelling)
                    .or_insert_with(|| canonical.clone());
            }
        }
        this
    }

    /// Parses a dictionary text: one entry per line, `#` starts a comment, blank lines ignored.
    pub fn from_text(text: &str) -> Self {
        Self::from_words(
            text.lines()
                .map(|line| line.split('#').next().unwrap_or_default().trim())
                .filter(|line| !line.is_empty()),
        )
    }

    /// The shared decompounder over [`GERMAN_DICTIONARY`] (built once).
    pub fn german() -> Arc<Self> {
        static GERMAN: LazyLock<Arc<Decompounder>> =
            LazyLock::new(|| Arc::new(Decompounder::from_text(GERMAN_DICTIONARY)));
        Arc::clone(&GERMAN)
    }

    /// Number of distinct spellings known (folded and transliterated forms count separately).
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the dictionary is empty (nothing is ever split).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether `word` (lower-case, folded) is a dictionary entry in one of its spellings.
    pub fn contains(&self, word: &str) -> bool {
        self.words.contains_key(word)
    }

    /// The parts of `word` (lower-case, folded as by the analyzer) in order, each part that is
    /// itself a compound followed by its own parts, without duplicates and without `word`
    /// itself. Empty when `word` is not a compound of dictionary entries.
    ///
    /// ```
    /// use allmende_search::decompound::Decompounder;
    /// let d = Decompounder::german();
    /// assert_eq!(d.split("hundesteuer"), ["hund", "steuer"]);
    /// assert!(d.split("verwaltung").is_empty());
    /// ```
    pub fn split(&self, word: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.split_into(word, &mut out);
        out
    }

    fn split_into(&self, word: &str, out: &mut Vec<String>) {
        for part in self.best_split(word) {
            if !out.contains(&part) && part != word {
                out.push(part.clone());
            }
            // Parts are strictly shorter than `word`, so this terminates.
            self.split_into(&part, out);
        }
    }

    /// The best split of `word` into at least two parts (canonical spellings), or nothing.
    fn best_split(&self, word: &str) -> Vec<String> {
        let n = word.len();
        if !(2 * MIN_PART_LEN..=MAX_WORD_BYTES).contains(&n)
            || !word.bytes().all(|b| b.is_ascii_lowercase())
        {
            return Vec::new();
        }
        // best[i]: cheapest way to cover word[..i] with whole parts (each with its linking
        // element); back[i]: (start of the last part, end of the last part without linking).
        let mut best: Vec<Option<Cost>> = vec![None; n + 1];
        let mut back: Vec<(usize, usize)> = vec![(0, 0); n + 1];
        best[0] = Some(Cost {
            parts: 0,
            linking: 0,
        });
        for start in 0..n {
            let Some(cost) = best[start] else { continue };
            let max_end = n.min(start + self.longest);
            // Longest part first: on equal cost the first candidate found is kept.
            for end in (start + MIN_PART_LEN..=max_end).rev() {
                if !self.words.contains_key(&word[start..end]) {
                    continue;
                }
                let links = std::iter::once("").chain(LINKING_ELEMENTS);
                for link in links.filter(|l| word[end..].starts_with(l)) {
                    let next = end + link.len();
                    // The first part alone never covers the word: a split has two parts.
                    if start == 0 && next == n {
                        continue;
                    }
                    let candidate = Cost {
                        parts: cost.parts + 1,
                        linking: cost.linking + link.len(),
                    };
                    if best[next].is_none_or(|b| candidate < b) {
                        best[next] = Some(candidate);
                        back[next] = (start, end);
                    }
                }
            }
        }
        if best[n].is_none() {
            return Vec::new();
        }
        let mut parts = Vec::new();
        let mut at = n;
        while at > 0 {
            let (start, end) = back[at];
            parts.push(self.words[&word[start..end]].clone());
            at = start;
        }
        parts.reverse();
        parts
    }
}

/// Tantivy [`TokenFilter`] that keeps every token and adds the parts of compounds after it, at
/// the same position and with the same offsets (so highlighting marks the whole word).
#[derive(Debug, Clone)]
pub struct Decompound {
    decompounder: Arc<Decompounder>,
}

impl Decompound {
    /// A filter over `decompounder`.
    pub fn new(decompounder: Arc<Decompounder>) -> Self {
        Self { decompounder }
    }

    /// A filter over [`Decompounder::german`].
    pub fn german() -> Self {
        Self::new(Decompounder::german())
    }
}

impl TokenFilter for Decompound {
    type Tokenizer<T: Tokenizer> = DecompoundFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> DecompoundFilter<T> {
        DecompoundFilter {
            decompounder: self.decompounder,
            inner: tokenizer,
        }
    }
}

/// The [`Tokenizer`] made by [`Decompound`].
#[derive(Debug, Clone)]
pub struct DecompoundFilter<T> {
    decompounder: Arc<Decompounder>,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for DecompoundFilter<T> {
    type TokenStream<'a> = DecompoundTokenStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        DecompoundTokenStream {
            decompounder: &self.decompounder,
            tail: self.inner.token_stream(text),
            parts: Vec::new(),
            next_part: 0,
            current: None,
        }
    }
}

/// The [`TokenStream`] of [`DecompoundFilter`]: each token, then its parts.
pub struct DecompoundTokenStream<'a, S> {
    decompounder: &'a Decompounder,
    tail: S,
    /// Part tokens of the current tail token.
    parts: Vec<Token>,
    /// Index of the next part to emit.
    next_part: usize,
    /// The part being emitted; `None` while the tail token itself is current.
    current: Option<usize>,
}

impl<S: TokenStream> TokenStream for DecompoundTokenStream<'_, S> {
    fn advance(&mut self) -> bool {
        if self.next_part < self.parts.len() {
            self.current = Some(self.next_part);
            self.next_part += 1;
            return true;
        }
        self.current = None;
        self.parts.clear();
        self.next_part = 0;
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token();
        for part in self.decompounder.split(&token.text) {
            self.parts.push(Token {
                text: part,
                ..token.clone()
            });
        }
        true
    }

    fn token(&self) -> &Token {
        match self.current {
            Some(i) => &self.parts[i],
            None => self.tail.token(),
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.current {
            Some(i) => &mut self.parts[i],
            None => self.tail.token_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(word: &str) -> Vec<String> {
        Decompounder::german().split(word)
    }

    #[test]
    fn municipal_compounds_split_into_their_parts() {
        let cases: &[(&str, &[&str])] = &[
            ("bewohnerparkausweis", &["bewohner", "park", "ausweis"]),
            ("parkausweis", &["park", "ausweis"]),
            ("hundesteuer", &["hund", "steuer"]),
            ("hundesteuermarke", &["hund", "steuer", "marke"]),
            (
                "wohnungsgeberbestatigung",
                &["wohnung", "geber", "bestatigung"],
            ),
            ("meldebescheinigung", &["melde", "bescheinigung"]),
            ("personalausweis", &["personal", "ausweis"]),
            ("personalausweisantrag", &["personal", "ausweis", "antrag"]),
            (
                "sperrmullabholung",
                &["sperrmull", "sperr", "mull", "abholung"],
            ),
            ("kindertagesstatte", &["kind", "tag", "statte"]),
            ("fuhrungszeugnis", &["fuhrung", "zeugnis"]),
            ("gewerbeanmeldung", &["gewerbe", "anmeldung"]),
            ("baugenehmigung", &["bau", "genehmigung"]),
            ("einburgerungsantrag", &["einburgerung", "antrag"]),
            ("standesamt", &["stand", "amt"]),
            ("steuerverwaltung", &["steuer", "verwaltung"]),
            ("zulassungsstelle", &["zulassung", "stelle"]),
            ("geburtsurkunde", &["geburt", "urkunde"]),
            ("burgerburo", &["burger", "buro"]),
            ("offnungszeiten", &["offnung", "zeit"]),
            ("kindergeld", &["kind", "geld"]),
            ("wohnsitz", &["wohn", "sitz"]),
            ("reisepass", &["reise", "pass"]),
            ("eheschliessung", &["ehe", "schliessung"]),
            ("bewohnerparkzonen", &["bewohner", "park", "zone"]),
            ("abfallkalender", &["abfall", "kalender"]),
            ("rathaus", &["rat", "haus"]),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(word, parts)| split(word) != *parts)
            .map(|(word, _)| format!("{word} → {:?}", split(word)))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn dictionary_compounds_are_split_further() {
        // "sperrmüll" and "bürgerbüro" are entries themselves, and compounds of entries.
        assert_eq!(split("sperrmull"), ["sperr", "mull"]);
        assert_eq!(
            split("sperrmulltermine"),
            ["sperrmull", "sperr", "mull", "termin"]
        );
    }

    #[test]
    fn fewest_linking_letters_win_ties() {
        // "buß" + "geld", not "bus" + "s" + "geld".
        assert_eq!(split("bussgeld"), ["buss", "geld"]);
        // "stand" + "es" + "amt"; plurals covered by an ending are not entries ("stände").
        assert_eq!(split("standesamt"), ["stand", "amt"]);
    }

    #[test]
    fn inflected_compounds_split_without_the_ending() {
        assert_eq!(split("parkausweise"), ["park", "ausweis"]);
        assert_eq!(split("parkausweises"), ["park", "ausweis"]);
        assert_eq!(split("hundesteuern"), ["hund", "steuer"]);
    }

    #[test]
    fn transliterated_spellings_split_to_folded_parts() {
        assert_eq!(split("buergerbuero"), ["burger", "buro"]);
        assert_eq!(split("sperrmuellabholung"), split("sperrmullabholung"));
        assert_eq!(split("fuehrungszeugnis"), ["fuhrung", "zeugnis"]);
    }

    #[test]
    fn ordinary_words_are_not_split() {
        for word in [
            "verwaltung",
            "ausweis",
            "beantragen",
            "gebuhren",
            "anmeldung",
            "erbschaft",
            "hunde",
            "hund",
            "ausweise",
            "meldung",
            "wohnung",
            "beratung",
            "heirat",
            "bestand",
            "antrag",
            "vertrag",
            "steuern",
            "zeitung",
            "markierung",
            "bauer",
            "bauern",
            "",
            "ab",
            "hundesteuer2026",
            "собака",
        ] {
            assert!(split(word).is_empty(), "{word}: {:?}", split(word));
        }
    }

    #[test]
    fn dictionary_is_well_formed() {
        let d = Decompounder::german();
        assert!(d.len() > 400, "{}", d.len());
        assert!(d.contains("burger") && d.contains("buerger") && d.contains("ausweis"));
        let mut seen = std::collections::HashSet::new();
        for line in GERMAN_DICTIONARY.lines() {
            let entry = line.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            assert!(seen.insert(entry), "duplicate entry {entry}");
            assert_eq!(entry, entry.to_lowercase(), "entries are lower-case");
            assert!(entry.chars().count() >= MIN_PART_LEN, "{entry} too short");
            assert!(entry.chars().all(char::is_alphabetic), "{entry}");
            for banned in ["aus", "ein", "ver", "ung", "heit", "keit", "schaft", "weis"] {
                assert_ne!(entry, banned, "prefixes and suffixes split ordinary words");
            }
        }
    }

    #[test]
    fn filter_keeps_the_token_and_adds_parts_at_its_position() {
        let mut analyzer = TextAnalyzer::builder(tantivy::tokenizer::SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(Decompound::german())
            .build();
        let mut stream = analyzer.token_stream("Die Hundesteuer zahlen");
        let mut tokens = Vec::new();
        while stream.advance() {
            let t = stream.token();
            tokens.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
        }
        let expected = [
            ("die", 0, 0, 3),
            ("hundesteuer", 1, 4, 15),
            ("hund", 1, 4, 15),
            ("steuer", 1, 4, 15),
            ("zahlen", 2, 16, 22),
        ];
        let expected: Vec<(String, usize, usize, usize)> = expected
            .iter()
            .map(|(t, p, f, o)| ((*t).to_string(), *p, *f, *o))
            .collect();
        assert_eq!(tokens, expected);
    }

    #[test]
    fn empty_dictionary_splits_nothing() {
        let d = Decompounder::from_words(["", "ab", "x1y", "  "]);
        assert!(d.is_empty());
        assert!(d.split("hundesteuer").is_empty());
        let d = Decompounder::from_text("# only comments\n\nHund # animal\nSteuer\n");
        assert_eq!(d.split("hundesteuer"), ["hund", "steuer"]);
    }
}
