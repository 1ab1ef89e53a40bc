//! Requests outside the assistant's remit: creative writing, code, homework, individual medical
//! or legal advice, political opinions, betting and investment tips (off-topic), and requests for
//! help with something harmful (forging documents, weapons, attacks on systems), including a
//! crisis pointer when someone mentions harming themselves.
//!
//! The patterns are deliberately narrow: a question about a municipal service that happens to
//! mention a diagnosis (Schwerbehindertenausweis), a poem competition or an election (Briefwahl)
//! must still reach retrieval.

use std::sync::LazyLock;

use regex::Regex;

use super::normalize::Normalized;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("guard pattern is valid")
}

/// What an off-topic or harmful request is about; picks the pointer in the refusal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topic {
    /// Poems, stories, jokes, code, homework, recipes and the like.
    General,
    /// Individual medical advice.
    Medical,
    /// Individual legal advice.
    Legal,
    /// Political opinions and voting advice.
    Political,
    /// Betting, gambling, investment tips.
    Gambling,
    /// Forging documents, weapons, attacks, crimes.
    Harmful,
    /// Someone mentions harming themselves.
    SelfHarm,
}

static OFF_TOPIC: LazyLock<Vec<(Topic, &'static str, Regex)>> = LazyLock::new(|| {
    vec![
        (
            Topic::General,
            "creative writing",
            re(
                r"\b(?:schreib\w*|verfass\w*|dicht\w*|erstell\w*|generier\w*|komponier\w*|erfind\w*|ausdenk\w*|denk\s+dir|write|compose|generate|create|make\s+up|invent|draft)\s+(?:\S+\s+){0,4}?(?:gedicht\w*|poem\w*|lied\w*|song\w*|songtext|geschichte\w*|story|stories|maerchen|witz\w*|joke\w*|rap\w*|haiku\w*|limerick\w*|aufsatz|essay\w*|roman\w*|novel\w*|kurzgeschichte\w*|fanfic\w*|drehbuch|screenplay|sonett\w*|sonnet\w*|reim\w*|rhyme\w*|liebesbrief\w*|love\s+letter|rede|speech|tweet\w*|blogpost\w*|werbetext\w*|slogan\w*)\b|\b(?:erzaehl\w*|tell)\s+(?:\S+\s+){0,3}?(?:witz\w*|jokes?|geschichte|story|maerchen|gute[\s-]?nacht[\s-]?geschichte)\b|\b(?:witz|witze|joke|jokes|gedicht|poem|limerick|haiku)\b",
            ),
        ),
        (
            Topic::General,
            "programming",
            re(
                r"\b(?:schreib\w*|programmier\w*|erstell\w*|generier\w*|code|coden|write|implement\w*|create|generate|build|debug\w*|fix|refactor\w*)\s+(?:\S+\s+){0,5}?(?:code|programm|programme|program|programs|script\w*|skript\w*|funktion|function|klasse|class|sql[\s-]?(?:abfrage|query)|python\w*|javascript|typescript|java|rust|c\+\+|cpp|golang|php|html|css|regex|regulaeren\s+ausdruck|algorithm\w*|algorithmus|bash|shell[\s-]?script|excel[\s-]?formel|makro|macro)\b|\b(?:in|auf|mit)\s+(?:python|javascript|typescript|rust|java|c\+\+|golang|php)\b|\bhello\s+world\b",
            ),
        ),
        (
            Topic::General,
            "homework",
            re(
                r"\bhausaufgabe\w*|\bhausarbeit\w*|\bhomework\b|\bklassenarbeit\w*|\bklausur(?:en)?\b|\bfacharbeit\b|\bbachelorarbeit\b|\bmasterarbeit\b|\bloese\s+(?:\S+\s+){0,2}?(?:aufgabe|gleichung|rechnung|matheaufgabe)\w*|\bsolve\s+(?:this|the|for|my)\b|\b(?:was|what|wie\s*viel)\s+(?:ist|is|sind|are|ergibt|gibt)\s+\d+\s*(?:[-+*/x×:^]|mal|plus|minus|geteilt\s+durch|hoch|times|divided\s+by)\s*\d+|\bintegral\s+von\b|\bableitung\s+von\b|\bderivative\s+of\b|\bquadratwurzel\b|\bsquare\s+root\b|\bphotosynthese\b|\bphotosynthesis\b|\b(?:uebersetze|translate)\s+(?:mir\s+)?(?:this|the\s+following|diesen|den\s+folgenden|folgenden)\b|\bzusammenfassung\s+(?:von|des|der)\s+(?:buch\w*|roman\w*|film\w*)",
            ),
        ),
        (
            Topic::General,
            "recipes and chit-chat",
            re(
                r"\b(?:kochrezept\w*|backrezept\w*|recipe\w*|horoskop\w*|horoscope\w*|sternzeichen|liebeskummer|dating[\s-]?tipps?|dating\s+advice|flirttipps?)\b|\bwie\s+(?:koche|backe|brate)\s+ich\b|\bhow\s+(?:do\s+i|to)\s+(?:cook|bake)\b|\b(?:wetter|weather)\s+(?:morgen|heute|am\s+wochenende|tomorrow|today|forecast)\b",
            ),
        ),
        (
            Topic::Political,
            "political opinion",
            re(
                r"\b(?:was|wie)\s+(?:haeltst|denkst|findest|meinst)\s+du\b|\bdeine\s+meinung\b|\bihre\s+(?:persoenliche\s+)?meinung\s+(?:zu|ueber|von)\b|\byour\s+(?:personal\s+)?(?:opinion|view|views|take)\b|\bwhat\s+do\s+you\s+think\s+(?:of|about)\b|\bdo\s+you\s+(?:like|support|prefer|hate)\b|\bwen\s+(?:soll|sollte|muss|kann)\s+ich\s+(?:\S+\s+){0,3}?waehlen\b|\bwho\s+should\s+i\s+vote\b|\bwelche\s+partei\s+(?:soll|sollte|ist\s+(?:die\s+)?(?:beste|besser|gut|schlecht)|waehlen|empfiehlst|empfehlen)|\bwhich\s+party\s+(?:should|is\s+(?:the\s+)?best|to\s+vote)|\b(?:afd|cdu|csu|spd|fdp|gruenen?|die\s+linke|linkspartei|bsw|freie\s+waehler|npd|volt|republicans?|democrats?)\s+(?:\S+\s+){0,4}?(?:gut|schlecht|besser|schlechter|waehlbar|verbieten|rechtsextrem|meinung|good|bad|better|worse|evil)\b|\b(?:ist|sind|is|are)\s+(?:die\s+|the\s+)?(?:afd|cdu|csu|spd|fdp|gruenen?|linke|bsw|npd)\s+(?:\S+\s+){0,2}?(?:gut|schlecht|besser|rechtsextrem|gefaehrlich|good|bad|dangerous)\b|\b(?:bundeskanzler\w*|kanzler\w*|merz|scholz|trump|putin|biden|selenskyj|erdogan)\s+(?:\S+\s+){0,3}?(?:gut|schlecht|meinung|good|bad|idiot)\b",
            ),
        ),
        (
            Topic::Gambling,
            "betting or investment tips",
            re(
                r"\b(?:sportwette\w*|wettquote\w*|wetten\s+auf|wette\s+auf|quoten\s+fuer|bet\s+on|betting|odds\s+(?:for|on)|gamble|gambling|casino\w*|roulette|poker|lotto[\s-]?zahlen|lottozahlen|lottery\s+numbers|gewinnzahlen|spielautomat\w*|slot\s+machines?)\b|\bwer\s+gewinnt\s+(?:morgen|heute|das\s+spiel|die\s+(?:wahl|meisterschaft|bundesliga|wm|em))\b|\bwho\s+will\s+win\b|\btipp\s+fuer\s+(?:das|die|den)\s+(?:spiel|partie|rennen)\b|\b(?:soll|sollte|should|lohnt|tipps?|tips?|advice|empfiehlst|recommend)\b[^.?!]{0,60}\b(?:investieren|investment|invest|aktien?|stocks?|bitcoin|krypto\w*|crypto\w*|etfs?|geldanlage)\b|\b(?:aktien?|stocks?|bitcoin|krypto\w*|crypto\w*|etfs?)\b[^.?!]{0,40}\b(?:soll|sollte|should|kaufen|verkaufen|buy|sell|investieren|invest)\b|\b(?:anlageberatung|aktientipps?|stock\s+tips?|investment\s+advice)\b",
            ),
        ),
        (
            Topic::Legal,
            "individual legal advice",
            re(
                r"\b(?:verklag\w*|sue|suing|lawsuit|rechtsberatung|legal\s+advice|mietminderung)\b|\bklage\s+gegen\s+(?:meinen|meine|mein)\b|\bchancen\s+vor\s+gericht\b|\b(?:gewinne|verliere)\s+ich\s+(?:den|meinen|vor)\b|\bwin\s+(?:my|the)\s+case\b|\bstrafanzeige\s+gegen\s+(?:meinen|meine|mein)\b|\b(?:meine|my)\s+(?:scheidung|strafverfahren|prozess|gerichtsverfahren|divorce|lawsuit|trial)\b|\bis\s+it\s+legal\s+(?:for\s+me\s+)?to\b|\bist\s+es\s+(?:legal|strafbar|illegal),?\s+wenn\s+ich\b|\bwie\s+viel\s+unterhalt\b|\bhow\s+much\s+(?:alimony|child\s+support)\b",
            ),
        ),
    ]
});

/// Medical terms and the first-person framing that makes them a request for advice.
static MEDICAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:symptom\w*|medikament\w*|tablette\w*|dosis|dosierung|nebenwirkung\w*|schmerzmittel|antibiotik\w*|ibuprofen|paracetamol|diagnose|fieber|ausschlag|entzuendung|kopfschmerz\w*|bauchschmerz\w*|rueckenschmerz\w*|zahnschmerz\w*|halsschmerz\w*|krebs|tumor|herzinfarkt|schlaganfall|husten|huste|corona|covid\w*|grippe|erkaeltung|kopfweh|migraene|allergie\w*|medication|medicine|dosage|side\s+effects?|fever|rash|headache|antibiotics?|painkillers?|cough)\b",
    )
});
static FIRST_PERSON: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:ich|mein|meine|meinem|meiner|meinen|mir|mich|i|my|me|i'm|im)\b"));
/// Municipal context: a question about a certificate, an application or an office.
static SERVICE_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:\w*ausweis\w*|\w*antrag\w*|beantrag\w*|\w*bescheinigung\w*|\w*amt\w*|schwerbehindert\w*|pflegegrad\w*|pflegegeld|formular\w*|nachweis\w*|attest\w*|gebuehr\w*|termin\w*|buergerbuero|zustaendig\w*|certificate|application|apply|office|permit|impf\w*)\b",
    )
});

/// Harmful requests.
static HARMFUL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:wie|how)\s+(?:\S+\s+){0,4}?(?:faelsch\w*|forge|fake|counterfeit)\b|\bgefaelscht\w*\s+(?:\S+\s+)?(?:ausweis\w*|pass|paesse|dokument\w*|urkunde\w*|meldebescheinigung\w*|fuehrerschein\w*|bescheinigung\w*|stempel|unterschrift)|\b(?:ausweis|pass|dokument|urkunde|meldebescheinigung|fuehrerschein|unterschrift|stempel)\w*\s+(?:\S+\s+){0,2}?(?:faelschen|nachmachen|manipulieren)\b|\bfake\s+(?:id|passport|documents?|certificate)\b|\b(?:bombe|sprengsatz|sprengstoff|explosive\w*|bomb|molotow\w*)\s+(?:\S+\s+){0,2}?(?:bauen|basteln|herstellen|build|make)\b|\b(?:bau\w*|bastel\w*|herstell\w*|build|make)\s+(?:\S+\s+){0,3}?(?:bombe|sprengsatz|sprengstoff|explosive\w*|bomb|molotow\w*)\b|\b(?:waffe|waffen|pistole|gewehr)\w*\s+(?:\S+\s+){0,2}?(?:bauen|besorgen|herstellen|drucken|build|make)\b|\b(?:build|make|3d-print)\s+(?:a\s+)?(?:gun|weapon)\b|\bdrogen\s+(?:\S+\s+){0,2}?(?:kaufen|herstellen|besorgen|verkaufen)\b|\b(?:buy|make|cook)\s+(?:drugs|meth|cocaine)\b|\b(?:hack\w*|einbrechen|eindringen)\s+(?:\S+\s+){0,4}?(?:system\w*|server\w*|konto\w*|account\w*|datenbank\w*|database\w*|passwort\w*|password\w*|netzwerk\w*|network\w*|website\w*|webseite\w*)\b|\b(?:server|system|konto|account|datenbank|database|netzwerk|website|webseite|passwort|password)\w*\s+(?:\S+\s+){0,4}?(?:hacken|knacken|angreifen|lahmlegen|hack)\b|\b(?:knacke|knacken|hacke|hacken|hack|crack)\s+(?:ich\s+)?(?:\S+\s+){0,3}?(?:wlan|wifi|wi-fi|passwort|password|pin|konto|account|system|server|datenbank|netzwerk|router|tresor)\w*|\bsql[\s-]?injection\b|\b(?:schadsoftware|malware|ransomware)\b|\bsteuern?\s+hinterzieh\w*|\bsteuerhinterziehung\b|\btax\s+evasion\b|\bevade\s+taxes\b|\bscheinehe\b|\bsham\s+marriage\b|\b(?:jemanden|someone|him|her)\s+(?:umbringen|toeten|kill)\b|\bkill\s+(?:someone|him|her)\b",
    )
});

/// Someone mentions harming themselves: answered with the crisis lines.
static SELF_HARM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:selbstmord\w*|suizid\w*|suicid\w*|mich\s+umbringen|mir\s+das\s+leben\s+nehmen|kill\s+myself|end\s+my\s+life|nicht\s+mehr\s+leben\s+(?:will|moechte)|want\s+to\s+die|will\s+sterben|moechte\s+sterben|ritzen)\b",
    )
});

/// The topic and rule that mark `n` as off-topic or harmful, if any.
pub(crate) fn detect(n: &Normalized) -> Option<(Topic, &'static str)> {
    let texts = [n.folded.replace('\n', " "), n.deleet.clone()];
    for t in &texts {
        if SELF_HARM.is_match(t) {
            return Some((Topic::SelfHarm, "self-harm"));
        }
        if HARMFUL.is_match(t) {
            return Some((Topic::Harmful, "harmful request"));
        }
    }
    for t in &texts {
        if let Some((topic, rule, _)) = OFF_TOPIC.iter().find(|(_, _, re)| re.is_match(t)) {
            return Some((*topic, rule));
        }
        if MEDICAL.is_match(t) && FIRST_PERSON.is_match(t) && !SERVICE_CONTEXT.is_match(t) {
            return Some((Topic::Medical, "individual medical advice"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(q: &str) -> Option<Topic> {
        detect(&Normalized::new(q)).map(|(t, _)| t)
    }

    #[test]
    fn off_topic_requests_are_detected() {
        for (q, expected) in [
            ("Schreib mir ein Gedicht über den Frühling.", Topic::General),
            ("Write a poem about Musterstadt.", Topic::General),
            ("Erzähl mir einen Witz!", Topic::General),
            ("Tell me a joke", Topic::General),
            (
                "Schreibe ein Python-Programm, das Primzahlen berechnet.",
                Topic::General,
            ),
            (
                "Write a function in Rust that sorts a list.",
                Topic::General,
            ),
            (
                "Kannst du meine Hausaufgaben in Mathe machen?",
                Topic::General,
            ),
            ("Was ist 17 * 23?", Topic::General),
            (
                "Ich habe seit drei Tagen Fieber, welches Medikament soll ich nehmen?",
                Topic::Medical,
            ),
            (
                "What dosage of ibuprofen should I take for my headache?",
                Topic::Medical,
            ),
            ("Soll ich meinen Vermieter verklagen?", Topic::Legal),
            (
                "Wie stehen meine Chancen vor Gericht gegen meinen Arbeitgeber?",
                Topic::Legal,
            ),
            ("Was hältst du von der AfD?", Topic::Political),
            (
                "Wen soll ich bei der Bundestagswahl wählen?",
                Topic::Political,
            ),
            ("What is your opinion on the SPD?", Topic::Political),
            ("Ist die CDU besser als die SPD?", Topic::Political),
            (
                "Auf welche Mannschaft soll ich bei der Sportwette setzen?",
                Topic::Gambling,
            ),
            ("Wie lauten die Lottozahlen von Samstag?", Topic::Gambling),
            ("Should I invest in Bitcoin?", Topic::Gambling),
            ("Wie fälsche ich eine Meldebescheinigung?", Topic::Harmful),
            ("Wie baue ich eine Bombe?", Topic::Harmful),
            ("Wie kann ich den Server der Stadt hacken?", Topic::Harmful),
            (
                "Ich will nicht mehr leben, ich denke an Suizid.",
                Topic::SelfHarm,
            ),
            ("Erfinde eine Geschichte über das Rathaus.", Topic::General),
            ("Welche Aktien soll ich kaufen?", Topic::Gambling),
            (
                "Habe ich Corona? Ich huste seit einer Woche.",
                Topic::Medical,
            ),
            ("Wie knacke ich das WLAN im Rathaus?", Topic::Harmful),
        ] {
            assert_eq!(topic(q), Some(expected), "{q}");
        }
    }

    #[test]
    fn municipal_questions_pass() {
        for q in [
            "Wie beantrage ich Briefwahl?",
            "Wann ist die nächste Kommunalwahl?",
            "Wie beantrage ich einen Schwerbehindertenausweis, ich habe eine Diagnose vom Arzt?",
            "Wo kann ich mich gegen Grippe impfen lassen?",
            "Gibt es einen Gedichtwettbewerb der Stadtbibliothek?",
            "Wie melde ich ein Gewerbe für ein Wettbüro an?",
            "Wie lege ich Widerspruch gegen einen Bescheid ein?",
            "Fällt der Wochenmarkt bei schlechtem Wetter aus?",
            "Ich habe einen Blindgänger gefunden, wen rufe ich an?",
            "Wie beantrage ich einen Bewohnerparkausweis?",
            "Ich möchte eine Anweisung zur Hundesteuer",
            "Was kostet ein Personalausweis?",
            "Wie melde ich meinen Wohnsitz um?",
            "Soll ich den Anwohnerparkausweis online kaufen?",
            "Welche Unterlagen brauche ich für die Eheschließung?",
            "Was tun bei Rattenbefall im Hof?",
            "Kann ich meine Aktien als Sicherheit beim Wohngeld angeben?",
            "Ich habe eine Erkältung, kann ich meinen Termin im Bürgerbüro verschieben?",
        ] {
            assert_eq!(topic(q), None, "flagged: {q}");
        }
    }
}
