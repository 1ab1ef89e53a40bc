//! The language of a citizen's question, and how answers are written.
//!
//! [`detect`] guesses the language a question is asked in, so that the assistant answers in it
//! ([`language_instruction`] tells the model). The script decides first (Cyrillic: Ukrainian or
//! Russian; Arabic script: Arabic); Latin-script text is scored by characteristic words and
//! letters (umlauts and ß for German, ı ğ ş for Turkish, ą ę ł … for Polish, ñ ¿ for Spanish).
//! German is the house language: when the text is short, mixed or the scores are close, the
//! answer is German.
//!
//! [`AnswerStyle`] picks between standard answers and Leichte Sprache ([`LEICHTE_SPRACHE_RULES`]);
//! [`pick`] chooses between the German and English variants of fixed texts.

use serde::{Deserialize, Serialize};

/// A language the assistant can be asked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// German, the default.
    #[default]
    De,
    /// English.
    En,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Italian.
    It,
    /// Turkish.
    Tr,
    /// Polish.
    Pl,
    /// Ukrainian.
    Uk,
    /// Russian.
    Ru,
    /// Arabic.
    Ar,
}

impl Language {
    /// Every language, German first.
    pub const ALL: [Language; 10] = [
        Self::De,
        Self::En,
        Self::Fr,
        Self::Es,
        Self::It,
        Self::Tr,
        Self::Pl,
        Self::Uk,
        Self::Ru,
        Self::Ar,
    ];

    /// The ISO 639-1 code: `"de"`, `"en"`, …
    pub fn code(self) -> &'static str {
        self.names().0
    }

    /// The language of a code such as `"de"`, `"EN"`, `"de-DE"`, `"en_US"` or `"deu"`
    /// (ISO 639-1, or the ISO 639-2 code); `None` for a language the assistant does not know.
    pub fn from_code(code: &str) -> Option<Self> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        let two = match primary.as_str() {
            "deu" | "ger" => "de",
            "eng" => "en",
            "fra" | "fre" => "fr",
            "spa" => "es",
            "ita" => "it",
            "tur" => "tr",
            "pol" => "pl",
            "ukr" => "uk",
            "rus" => "ru",
            "ara" => "ar",
            other => other,
        };
        Self::ALL.into_iter().find(|l| l.code() == two)
    }

    /// The German name, as used in the prompt: "Antworten Sie auf Englisch."
    pub fn name_in_german(self) -> &'static str {
        self.names().1
    }

    /// The language's name for itself ("English", "Türkçe", "Українська"), e.g. for a language
    /// menu.
    pub fn name_in_own_language(self) -> &'static str {
        self.names().2
    }

    /// Code, German name, own name.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::De => ("de", "Deutsch", "Deutsch"),
            Self::En => ("en", "Englisch", "English"),
            Self::Fr => ("fr", "Französisch", "Français"),
            Self::Es => ("es", "Spanisch", "Español"),
            Self::It => ("it", "Italienisch", "Italiano"),
            Self::Tr => ("tr", "Türkisch", "Türkçe"),
            Self::Pl => ("pl", "Polnisch", "Polski"),
            Self::Uk => ("uk", "Ukrainisch", "Українська"),
            Self::Ru => ("ru", "Russisch", "Русский"),
            Self::Ar => ("ar", "Arabisch", "العربية"),
        }
    }
}

/// Characteristic words of the Latin-script languages (lower case, separated by spaces). Words
/// shared by several languages count for each of them, so they decide nothing between those.
const WORDS: [(Language, &str); 7] = [
    (
        Language::De,
        "der die das den dem und ist sind ich wie wo was wer wann warum welche welcher kann \
         muss mein meine meinen meinem ein eine einen nicht für mit bei zu zum von auf sich \
         mich mir wir es gibt habe hat bin brauche bitte kostet dauert lange neuen neue oder \
         auch noch beim beantragen ummelden anmelden abmelden melde verlängern möchte können \
         darf wird funktioniert ausweis personalausweis reisepass wohnung anmeldung antrag \
         termin bürgeramt",
    ),
    (
        Language::En,
        "the is are how do does did i my me can could where what when who which why to a of \
         for you your it this that with need get have has and or not lost apply register \
         renew cost much new please should there from on at be permit card passport office \
         would want if about we hello thanks",
    ),
    (
        Language::Fr,
        "le la les de des du un une et est je j mon ma mes comment où que qu quoi pour avec \
         dans sur pas ne vous nous il elle ce cette puis peux faire carte identité bonjour \
         merci mairie nouvelle nouveau combien coûte quand au aux en a renouveler passeport \
         perdu besoin dois faut demande demander",
    ),
    (
        Language::Es,
        "el la los las de del un una y es en que qué cómo como dónde donde cuándo cuánto \
         cuesta puedo para por con mi mis nuevo nueva necesito tengo hola gracias solicitar \
         renovar pasaporte perdido he se lo al hacer quiero documento dirección cita \
         ayuntamiento a",
    ),
    (
        Language::It,
        "il lo la gli le di del della un una e è che come dove quando quanto costa posso per \
         con mio mia miei nuovo nuova ho ciao grazie richiedere rinnovare passaporto carta \
         identità perso devo fare sono non cosa residenza comune indirizzo nel nella mi a",
    ),
    (
        Language::Tr,
        "nasıl nerede ne bir mi mı mu mü ve bu için ile ben benim var yok nedir kaç zaman \
         nereye yeni kimlik pasaport adres başvuru istiyorum kayıp kaybettim merhaba teşekkür \
         lazım gerekli belge çok hangi neden kadar nereden",
    ),
    (
        Language::Pl,
        "jak gdzie czy co nie jest się w z na do mój moja moje mogę mam dla jaki jaka kiedy \
         ile kosztuje potrzebuję wniosek dowód osobisty paszport zgubiłem zgubiłam adres \
         urząd nowy proszę dzień dobry dziękuję można przez od po za złożyć zameldować \
         meldunek",
    ),
];

/// Ukrainian words absent from Russian, for Cyrillic text without the letters only one of the
/// two languages has.
const UK_WORDS: &str = "як де що мені можу чи та це мій моя \
    отримати потрібно треба скільки коштує будь ласка новий нову";
/// Russian words absent from Ukrainian.
const RU_WORDS: &str = "как где что мне могу ли это мой получить нужно \
    надо сколько стоит пожалуйста новый новую";

/// Below this score nothing is decided: German.
const MIN_SCORE: u32 = 2;

/// The language `text` is written in; German when unsure (short, mixed or number-only input).
pub fn detect(text: &str) -> Language {
    let (mut latin, mut cyrillic, mut arabic) = (0usize, 0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        match c {
            '\u{0400}'..='\u{052F}' => cyrillic += 1,
            '\u{0600}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}' => {
                arabic += 1
            }
            _ => latin += 1,
        }
    }
    if arabic >= 2 && arabic >= latin && arabic >= cyrillic {
        return Language::Ar;
    }
    if cyrillic >= 2 && cyrillic >= latin {
        return detect_cyrillic(&text.to_lowercase());
    }
    detect_latin(&text.to_lowercase())
}

/// True when `word` is in the space-separated `list`.
fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

fn words(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
}

/// Ukrainian when its own letters (і ї є ґ) or words outweigh Russian ones (ы э ъ ё), else Russian.
fn detect_cyrillic(lower: &str) -> Language {
    let letters = |set: &[char]| 2 * lower.chars().filter(|c| set.contains(c)).count();
    let uk = letters(&['і', 'ї', 'є', 'ґ']) + words(lower).filter(|w| listed(UK_WORDS, w)).count();
    let ru = letters(&['ы', 'э', 'ъ', 'ё']) + words(lower).filter(|w| listed(RU_WORDS, w)).count();
    if uk > ru { Language::Uk } else { Language::Ru }
}

fn detect_latin(lower: &str) -> Language {
    use Language::{De, Es, Fr, It, Pl, Tr};
    let mut ranked: Vec<(Language, u32)> = WORDS.iter().map(|&(l, _)| (l, 0)).collect();
    let mut add = |language: Language, points: u32| {
        if let Some(entry) = ranked.iter_mut().find(|(l, _)| *l == language) {
            entry.1 += points;
        }
    };
    for word in words(lower) {
        for (language, list) in WORDS {
            if listed(list, word) {
                add(language, 1);
            }
        }
    }
    for c in lower.chars() {
        let points: &[(Language, u32)] = match c {
            'ß' => &[(De, 3)],
            'ä' => &[(De, 2)],
            'ö' | 'ü' => &[(De, 1), (Tr, 1)],
            'ı' | 'ğ' | 'ş' | '\u{307}' => &[(Tr, 3)], // U+0307: the dot of a lower-cased "İ"
            'ą' | 'ę' | 'ł' | 'ń' | 'ś' | 'ź' | 'ż' | 'ć' => &[(Pl, 3)],
            'ñ' | '¿' | '¡' => &[(Es, 3)],
            'á' | 'í' | 'ú' => &[(Es, 1)],
            'ó' => &[(Es, 1), (Pl, 1)],
            'é' => &[(Fr, 1), (Es, 1)],
            'è' | 'à' | 'ù' => &[(Fr, 1), (It, 1)],
            'ê' | 'ë' | 'î' | 'ï' | 'ô' | 'û' | 'œ' | 'â' => &[(Fr, 2)],
            'ç' => &[(Fr, 1), (Tr, 1)],
            'ì' | 'ò' => &[(It, 1)],
            _ => &[],
        };
        for &(language, p) in points {
            add(language, p);
        }
    }
    // Stable sort: on a tie German (listed first) stays in front.
    ranked.sort_by_key(|&(_, score)| std::cmp::Reverse(score));
    let (best, top) = ranked[0];
    let second = ranked[1].1;
    // A clear lead: at least MIN_SCORE, and more than twice the runner-up (mixed text stays German).
    if top >= MIN_SCORE && top > 2 * second {
        best
    } else {
        Language::De
    }
}

/// How an answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStyle {
    /// Plain, friendly administrative language.
    #[default]
    Standard,
    /// Leichte Sprache (German Easy Language): see [`LEICHTE_SPRACHE_RULES`].
    LeichteSprache,
}

/// The rules added to the system prompt for Leichte Sprache (after the rules of the Netzwerk
/// Leichte Sprache), spelled out for small models.
pub const LEICHTE_SPRACHE_RULES: &str = "\
Schreiben Sie in Leichter Sprache. Halten Sie diese Regeln ein:
1. Schreiben Sie kurze Sätze. Jeder Satz hat nur eine Aussage.
2. Benutzen Sie bekannte, einfache Wörter. Benutzen Sie keine Abkürzungen.
3. Schreiben Sie aktiv statt Passiv. Schreiben Sie positiv, ohne Verneinung, wo es geht.
4. Erklären Sie jedes Fachwort in einem zweiten Satz.
5. Schreiben Sie Zahlen als Ziffern: 3 statt drei.
6. Sprechen Sie die Leserin oder den Leser mit „Sie“ an.";

/// The instruction naming the answer language, in German, for the system prompt:
/// "Antworten Sie auf Deutsch." or "Die Frage ist auf Englisch gestellt: Antworten Sie auf
/// Englisch."
pub fn language_instruction(language: Language) -> String {
    match language {
        Language::De => "Antworten Sie auf Deutsch.".to_string(),
        other => {
            let name = other.name_in_german();
            format!("Die Frage ist auf {name} gestellt: Antworten Sie auf {name}.")
        }
    }
}

/// For fixed texts shown without a model (refusals, "nothing found"): the English text when
/// `language` is not German and an English variant exists (is not blank), else the German one.
pub fn pick<'a>(language: Language, german: &'a str, english: &'a str) -> &'a str {
    if language != Language::De && !english.trim().is_empty() {
        english
    } else {
        german
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Language::*;

    #[test]
    fn detects_the_language() {
        let cases = [
            (De, "Wie melde ich meinen neuen Wohnsitz an?"),
            (De, "Wo kann ich einen Reisepass beantragen?"),
            (De, "Was kostet ein Personalausweis?"),
            (De, "Ich habe meine Geldbörse verloren, was muss ich tun?"),
            (De, "Kann ich einen Bewohnerparkausweis online beantragen?"),
            (De, "Muss ich mich ummelden, wenn ich umziehe?"),
            (De, "Öffnungszeiten Bürgeramt"),
            // German with English loanwords stays German.
            (De, "Wie funktioniert das Online-Banking-Update?"),
            (De, "Gibt es ein Update für die App?"),
            (De, "Brauche ich für das Meeting ein Ticket?"),
            (De, "Ich habe meine ID-Card verloren, was kann ich tun?"),
            (De, "Kann ich das Formular als PDF per E-Mail schicken?"),
            (En, "How do I register my new address?"),
            (En, "Where can I renew my passport?"),
            (En, "What does an ID card cost?"),
            (En, "I lost my wallet, what do I do?"),
            (En, "Can I apply for a parking permit online?"),
            (En, "Do I need an appointment for the Bürgeramt?"),
            (Fr, "Comment puis-je renouveler ma carte d'identité ?"),
            (Fr, "Où est la mairie et quand est-ce ouvert ?"),
            (Es, "¿Cómo puedo renovar mi pasaporte?"),
            (Es, "¿Dónde puedo solicitar una cita?"),
            (It, "Come posso rinnovare la mia carta d'identità?"),
            (It, "Dove posso richiedere il passaporto?"),
            (Tr, "Yeni adresimi nasıl kaydedebilirim?"),
            (Tr, "Kimlik kartımı kaybettim, ne yapmalıyım?"),
            (Tr, "Kaydımı yaptırdım."),
            (Pl, "Jak mogę zameldować się pod nowym adresem?"),
            (Pl, "Gdzie mogę złożyć wniosek o paszport?"),
            (Uk, "Як мені зареєструвати нову адресу?"),
            (Uk, "Де я можу отримати паспорт?"),
            (Ru, "Где я могу получить паспорт?"),
            (Ru, "Как зарегистрировать новый адрес?"),
            (Ru, "Паспорт"),
            (Ar, "كيف يمكنني تسجيل عنواني الجديد؟"),
            (Ar, "أين يمكنني تجديد جواز سفري؟"),
        ];
        for (expected, question) in cases {
            assert_eq!(detect(question), expected, "{question:?}");
        }
    }

    #[test]
    fn unsure_means_german() {
        let unsure = [
            "",
            "   ",
            "?",
            "12345",
            "115",
            "Hi",
            "What?",
            "Hola",
            "Formular",
            "Ж",
            "How? Wie? Comment?",
            "Ich brauche Hilfe: how do I register?",
        ];
        for text in unsure {
            assert_eq!(detect(text), De, "{text:?}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for l in Language::ALL {
            assert_eq!(Language::from_code(l.code()), Some(l));
            assert_eq!(l.code().len(), 2);
            let json = serde_json::to_string(&l).expect("serializes");
            assert_eq!(json, format!("\"{}\"", l.code()));
            assert_eq!(serde_json::from_str::<Language>(&json).expect("parses"), l);
        }
        assert_eq!(Language::from_code("de-DE"), Some(De));
        assert_eq!(Language::from_code("en_US"), Some(En));
        assert_eq!(Language::from_code(" EN-gb "), Some(En));
        assert_eq!(Language::from_code("UK"), Some(Uk));
        assert_eq!(Language::from_code("deu"), Some(De));
        assert_eq!(Language::from_code("nl"), None);
        assert_eq!(Language::from_code(""), None);
        assert_eq!(Language::default(), De);
    }

    #[test]
    fn names() {
        assert_eq!(En.name_in_german(), "Englisch");
        assert_eq!(Fr.name_in_german(), "Französisch");
        assert_eq!(Tr.name_in_own_language(), "Türkçe");
        assert_eq!(Uk.name_in_own_language(), "Українська");
        let german: std::collections::HashSet<_> =
            Language::ALL.iter().map(|l| l.name_in_german()).collect();
        assert_eq!(german.len(), Language::ALL.len());
    }

    #[test]
    fn instructions_name_the_language() {
        assert_eq!(language_instruction(De), "Antworten Sie auf Deutsch.");
        assert_eq!(
            language_instruction(En),
            "Die Frage ist auf Englisch gestellt: Antworten Sie auf Englisch."
        );
        assert!(language_instruction(Ar).ends_with("Antworten Sie auf Arabisch."));
    }

    #[test]
    fn answer_style_and_rules() {
        assert_eq!(AnswerStyle::default(), AnswerStyle::Standard);
        let json = serde_json::to_string(&AnswerStyle::LeichteSprache).expect("serializes");
        assert_eq!(json, "\"leichte_sprache\"");
        let lines = LEICHTE_SPRACHE_RULES.lines().count();
        assert!((5..=7).contains(&lines), "{lines} lines");
        for rule in [
            "1. ",
            "Abkürzungen",
            "Passiv",
            "Fachwort",
            "Ziffern",
            "„Sie“",
        ] {
            assert!(LEICHTE_SPRACHE_RULES.contains(rule), "{rule}");
        }
    }

    #[test]
    fn pick_prefers_english_for_foreign_languages() {
        assert_eq!(
            pick(De, "Nichts gefunden.", "Nothing found."),
            "Nichts gefunden."
        );
        assert_eq!(
            pick(En, "Nichts gefunden.", "Nothing found."),
            "Nothing found."
        );
        assert_eq!(
            pick(Tr, "Nichts gefunden.", "Nothing found."),
            "Nothing found."
        );
        assert_eq!(pick(Fr, "Nichts gefunden.", " "), "Nichts gefunden.");
    }
}
