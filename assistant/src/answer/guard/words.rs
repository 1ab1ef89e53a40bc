//! Word lists and the word tokenizer shared by the detectors: what looks like a person's name,
//! what is an office or a service (not a person), function words.

/// One word of a normalised text.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    /// As written (case kept).
    pub orig: String,
    /// Lower-cased and folded (`Bürgerbüro` → `buergerbuero`).
    pub low: String,
    /// Whether only spaces separate this word from the previous one (no punctuation).
    pub joined_to_previous: bool,
}

/// Splits `clean` text into words (letters, digits, inner hyphens and apostrophes).
pub(crate) fn words(clean: &str) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    let mut current = String::new();
    let mut gap = String::new();
    let push = |current: &mut String, gap: &mut String, out: &mut Vec<Word>| {
        let trimmed = current.trim_matches(|c| c == '-' || c == '\'');
        if !trimmed.is_empty() {
            out.push(Word {
                orig: trimmed.to_string(),
                low: super::normalize::Normalized::new(trimmed).folded,
                joined_to_previous: !out.is_empty() && gap.chars().all(|c| c == ' '),
            });
            gap.clear();
        }
        current.clear();
    };
    for c in clean.chars() {
        if c.is_alphanumeric() || ((c == '-' || c == '\'' || c == '’') && !current.is_empty()) {
            current.push(if c == '’' { '\'' } else { c });
        } else {
            push(&mut current, &mut gap, &mut out);
            gap.push(c);
        }
    }
    push(&mut current, &mut gap, &mut out);
    out
}

/// Function words, question words, pronouns and sentence-initial verbs that are capitalised at
/// the start of a sentence but are never part of a name.
const STOP: &[&str] = &[
    "ab",
    "aber",
    "alle",
    "alles",
    "als",
    "also",
    "am",
    "an",
    "auch",
    "auf",
    "aus",
    "bei",
    "beim",
    "bin",
    "bis",
    "bist",
    "bitte",
    "brauche",
    "brauchen",
    "da",
    "dann",
    "das",
    "dass",
    "dein",
    "deine",
    "dem",
    "den",
    "denn",
    "der",
    "des",
    "die",
    "dies",
    "diese",
    "dieser",
    "dir",
    "doch",
    "du",
    "durch",
    "ein",
    "eine",
    "einem",
    "einen",
    "einer",
    "eines",
    "er",
    "es",
    "etwa",
    "fuer",
    "gib",
    "gibt",
    "gebe",
    "geben",
    "guten",
    "hallo",
    "hat",
    "hast",
    "hatte",
    "habe",
    "haben",
    "hey",
    "hi",
    "hier",
    "ich",
    "ihm",
    "ihn",
    "ihnen",
    "ihr",
    "ihre",
    "ihren",
    "im",
    "in",
    "ist",
    "ja",
    "je",
    "jetzt",
    "kann",
    "kannst",
    "kein",
    "keine",
    "koennen",
    "koennten",
    "koenntest",
    "lieber",
    "liebe",
    "man",
    "mein",
    "meine",
    "meinem",
    "meinen",
    "meiner",
    "mich",
    "mir",
    "mit",
    "moechte",
    "muss",
    "nach",
    "nein",
    "nenne",
    "nenn",
    "nicht",
    "noch",
    "nun",
    "nur",
    "ob",
    "oder",
    "ohne",
    "sag",
    "sage",
    "sagen",
    "schon",
    "sehr",
    "sein",
    "seine",
    "seit",
    "sich",
    "sie",
    "sind",
    "so",
    "sowie",
    "ueber",
    "um",
    "und",
    "uns",
    "unser",
    "unsere",
    "vom",
    "von",
    "vor",
    "war",
    "warum",
    "was",
    "weil",
    "welche",
    "welchem",
    "welchen",
    "welcher",
    "welches",
    "wem",
    "wen",
    "wenn",
    "wer",
    "werde",
    "weshalb",
    "wie",
    "wieso",
    "wir",
    "wo",
    "woher",
    "wohin",
    "wann",
    "wurde",
    "zeig",
    "zeige",
    "zu",
    "zum",
    "zur",
    "a",
    "about",
    "all",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "dear",
    "for",
    "from",
    "give",
    "hello",
    "her",
    "his",
    "how",
    "i",
    "if",
    "in",
    "is",
    "it",
    "its",
    "me",
    "my",
    "of",
    "on",
    "or",
    "our",
    "please",
    "show",
    "tell",
    "that",
    "the",
    "their",
    "them",
    "they",
    "this",
    "to",
    "was",
    "we",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
];

/// Offices, institutions and places: objects that are not persons.
const OFFICES: &[&str] = &[
    "buergerbuero",
    "buergeramt",
    "buergerservice",
    "buergertelefon",
    "standesamt",
    "rathaus",
    "amt",
    "stadt",
    "stadtverwaltung",
    "verwaltung",
    "gemeinde",
    "kommune",
    "behoerde",
    "musterstadt",
    "mitte",
    "nord",
    "sued",
    "ost",
    "west",
    "ordnungsamt",
    "jugendamt",
    "sozialamt",
    "finanzamt",
    "bauamt",
    "gesundheitsamt",
    "auslaenderbehoerde",
    "jobcenter",
    "zulassungsstelle",
    "fundbuero",
    "wertstoffhof",
    "stadtbibliothek",
    "bibliothek",
    "volkshochschule",
    "vhs",
    "musikschule",
    "polizei",
    "feuerwehr",
    "stadtkasse",
    "kasse",
    "familienkasse",
    "buergermeister",
    "buergermeisterin",
    "oberbuergermeister",
    "oberbuergermeisterin",
    "landratsamt",
    "kreisverwaltung",
    "bezirksamt",
    "stadtwerke",
    "abfallwirtschaft",
    "friedhof",
    "friedhofsverwaltung",
    "schwimmbad",
    "hallenbad",
    "kita",
    "schule",
    "office",
    "city",
    "council",
    "town",
    "hall",
    "registry",
    "department",
    "citizens",
    "citizen",
    "service",
    "services",
    "centre",
    "center",
    "deutschland",
    "germany",
    "berlin",
    "hamburg",
    "muenchen",
    "koeln",
    "frankfurt",
    "stuttgart",
    "kfz",
    "kfz-zulassung",
    "gmbh",
    "ag",
    "kg",
    "ev",
    "awm",
    "wahlamt",
];

/// Endings of office, service and document nouns (after folding): such words are not names.
const NOUN_ENDINGS: &[&str] = &[
    "amt",
    "amts",
    "aemter",
    "buero",
    "bueros",
    "stelle",
    "stellen",
    "behoerde",
    "verwaltung",
    "hof",
    "hofs",
    "haus",
    "hauses",
    "zentrum",
    "zentrums",
    "center",
    "schule",
    "kita",
    "dienst",
    "dienstes",
    "service",
    "gericht",
    "gerichts",
    "kasse",
    "steuer",
    "ausweis",
    "ausweises",
    "schein",
    "scheins",
    "urkunde",
    "bescheinigung",
    "gebuehr",
    "gebuehren",
    "antrag",
    "antrags",
    "ung",
    "ungen",
    "heit",
    "keit",
    "schaft",
    "tion",
    "nummer",
    "adresse",
    "anschrift",
    "platz",
    "platzes",
    "strasse",
    "str",
    "weg",
    "wegs",
    "allee",
    "gasse",
    "damm",
    "ufer",
    "zeit",
    "zeiten",
    "pass",
    "passes",
    "karte",
    "recht",
    "gesetz",
    "buch",
    "liste",
    "register",
    "daten",
    "termin",
    "termine",
    "unterlagen",
    "muell",
    "tonne",
    "ort",
    "orts",
    "stadt",
    "dorf",
    "land",
    "kreis",
    "bezirk",
    "viertel",
    "markt",
    "park",
    "bad",
    "bibliothek",
    "museum",
    "halle",
    "prompt",
    "modus",
    "mode",
    "regeln",
    "anweisung",
    "anweisungen",
    "betrieb",
    "betriebs",
    "betriebe",
    "werk",
    "werke",
    "werks",
    "agentur",
    "verband",
    "verein",
    "vereins",
    "kammer",
    "institut",
    "theater",
    "kirche",
    "klinik",
    "klinikum",
    "gemeinde",
    "universitaet",
    "gmbh",
    "behoerden",
    "zentrale",
    "kanzlei",
    "praxis",
    "apotheke",
];

/// Honorifics and forms of address that precede a name.
const HONORIFICS: &[&str] = &[
    "herr", "herrn", "frau", "familie", "fam", "mr", "mrs", "ms", "miss", "mister",
];

/// Academic titles skipped between an honorific and the name.
const TITLES: &[&str] = &["dr", "prof", "med", "dipl", "ing"];

/// True when `low` is a function word.
pub(crate) fn is_stop(low: &str) -> bool {
    STOP.contains(&low)
}

/// True when `low` names an office, institution or place, or ends like a service noun.
pub(crate) fn is_office_or_noun(low: &str) -> bool {
    let low = low.trim_end_matches('\'');
    OFFICES.contains(&low)
        || low
            .strip_suffix('s')
            .is_some_and(|stem| OFFICES.contains(&stem))
        || low.split('-').any(|part| OFFICES.contains(&part))
        || NOUN_ENDINGS
            .iter()
            .any(|e| low == *e || (low.ends_with(e) && low.len() >= e.len() + 3))
}

/// True for an honorific (`Herr`, `Frau`, `Familie`, `Mr` …).
pub(crate) fn is_honorific(low: &str) -> bool {
    HONORIFICS.contains(&low)
}

/// True for an academic title (`Dr`, `Prof` …).
pub(crate) fn is_title(low: &str) -> bool {
    TITLES.contains(&low)
}

/// True when `word` could be (part of) a person's name: capitalised (or the whole text is lower
/// case), alphabetic, not a function word, office, service noun or data word.
pub(crate) fn is_name_like(word: &Word, all_lower: bool) -> bool {
    let mut chars = word.orig.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let rest: Vec<char> = chars.collect();
    let capitalised = first.is_uppercase() && rest.iter().any(|c| c.is_lowercase());
    let acronym = rest.len() > 1 && rest.iter().all(|c| c.is_uppercase());
    (capitalised || (all_lower && first.is_lowercase()))
        && !acronym
        && word.orig.chars().count() >= 2
        && word
            .orig
            .chars()
            .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        && !is_stop(&word.low)
        && !is_honorific(&word.low)
        && !is_title(&word.low)
        && !is_office_or_noun(&word.low)
        && !super::personal::is_data_word(&word.low)
        && !super::personal::is_relation(&word.low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_case_and_fold() {
        let w = words("Wo wohnt Max Mustermann-Öztürk? Im Bürgerbüro.");
        let low: Vec<&str> = w.iter().map(|w| w.low.as_str()).collect();
        assert_eq!(
            low,
            [
                "wo",
                "wohnt",
                "max",
                "mustermann-oeztuerk",
                "im",
                "buergerbuero"
            ]
        );
        assert_eq!(w[3].orig, "Mustermann-Öztürk");
        assert!(w[3].joined_to_previous && !w[4].joined_to_previous);
    }

    #[test]
    fn names_are_told_from_offices_and_nouns() {
        let w = words("Erika Mustermann Bürgerbüro Mitte Telefonnummer Welche SPD Lindenallee");
        let name_like: Vec<bool> = w.iter().map(|w| is_name_like(w, false)).collect();
        assert_eq!(
            name_like,
            [true, true, false, false, false, false, false, false]
        );
    }
}
