//! Removes German personal identifiers from text before it is logged.
//!
//! Request logs and tracing events must not keep citizens' personal data. Whatever a citizen
//! typed goes through [`scrub`] first (or is wrapped in [`Scrubbed`] inside a tracing field);
//! each identifier found is replaced by a placeholder naming its kind, such as `[IBAN]`.
//!
//! The rules are tuned for logs, where recall beats precision: when in doubt, a span is
//! scrubbed. The usual shapes of service texts stay untouched: prices ("12,50 Euro"),
//! paragraphs ("§ 44 Abs. 1"), years, postcodes, office dates ("Termin am 12.03.2026") and the
//! short public numbers 110, 112, 115 and 116117.
//!
//! Decisions:
//! - **IBAN**: a German-shaped IBAN (`DE`, 2 check digits, 18 digits) is scrubbed even when its
//!   mod-97 checksum fails (a typo still points to the account); other countries' IBANs only when
//!   the ISO 13616 mod-97 check passes.
//! - **Steuer-ID**: 11 digits (first not 0) with a valid ISO 7064 MOD 11,10 check digit, or any
//!   such 11 digits up to 20 characters after "Steuer-ID", "IdNr" or "Identifikationsnummer".
//! - **Addresses**: street and house number are scrubbed; a following postcode and city stay
//!   (alone they name a municipality, not a person, and tell which office is responsible). A
//!   street name without a house number stays as well.
//! - **Dates**: only up to 25 characters after a birth keyword ("geb.", "geboren",
//!   "Geburtsdatum", "DOB", …); other dates are office dates and deadlines.
//! - **Overlaps**: the match that starts first wins, then the longer one, then the kind declared
//!   first in [`PiiKind`].
//!
//! [`scrub`] repeats until nothing more is found (short placeholders can bring a keyword close
//! enough to a number), so scrubbing scrubbed text changes nothing.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::fmt;
use std::net::Ipv6Addr;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// What kind of identifier was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PiiKind {
    /// An e-mail address.
    Email,
    /// An IBAN: German-shaped, or another country's with a valid checksum.
    Iban,
    /// A Steuer-Identifikationsnummer (11 digits).
    TaxId,
    /// A Personalausweis or Reisepass number.
    IdCardNumber,
    /// A landline or mobile telephone number.
    Phone,
    /// A street with its house number.
    StreetAddress,
    /// A date given as someone's date of birth.
    DateOfBirth,
    /// A payment card number (Luhn-valid).
    CreditCard,
    /// An IPv4 or IPv6 address.
    Ip,
}

impl PiiKind {
    /// The placeholder that replaces an identifier of this kind, e.g. `"[IBAN]"`.
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::Email => "[E-MAIL]",
            Self::Iban => "[IBAN]",
            Self::TaxId => "[STEUER-ID]",
            Self::IdCardNumber => "[AUSWEIS-NR]",
            Self::Phone => "[TELEFON]",
            Self::StreetAddress => "[ADRESSE]",
            Self::DateOfBirth => "[DATUM]",
            Self::CreditCard => "[KARTE]",
            Self::Ip => "[IP]",
        }
    }
}

/// Displays the scrubbed form of the wrapped text, for tracing fields:
/// `tracing::info!(question = %Scrubbed(q))`.
#[derive(Debug, Clone, Copy)]
pub struct Scrubbed<'a>(pub &'a str);

impl fmt::Display for Scrubbed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&scrub(self.0))
    }
}

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("built-in PII pattern does not compile: {e}"))
}

/// House number: digits with an optional letter, or a range ("3-5", "12a/12b").
const HOUSE: &str = r"[0-9]{1,3}[a-zA-Z]?(?:[ ]?[-–/][ ]?[0-9]{1,3}[a-zA-Z]?)?";
/// Endings of compound street names ("Hauptstraße", "Lindenallee"), matched case-insensitively.
const STREET_SUFFIX: &str =
    r"straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer|chaussee|pfad|steig|markt";
/// The same as separate words ("Berliner Straße", "Am Markt").
const STREET_WORD: &str =
    r"Straße|Strasse|Str\.|Weg|Gasse|Allee|Platz|Ring|Damm|Ufer|Chaussee|Pfad|Steig|Markt";

/// Declares lazily compiled patterns: compiled once, on first use.
macro_rules! patterns {
    ($($(#[$doc:meta])* $name:ident = $pattern:expr;)*) => {
        $($(#[$doc])* static $name: LazyLock<Regex> = LazyLock::new(|| compile(&$pattern));)*
    };
}

patterns! {
    EMAIL = r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.\p{L}{2,}\b";
    IBAN_DE = r"\b(?i:de)[0-9]{2}(?:[ ]?[0-9]){18}\b";
    IBAN_ANY = r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?:[ ][A-Z0-9]{4}){2,7}(?:[ ][A-Z0-9]{1,4})?)\b";
    TAX_ID = r"\b[1-9](?:[ ]?[0-9]){10}\b";
    TAX_KEYWORD = r"(?i)steuer-?id|\bid-?nr|identifikationsnummer";
    ID_CARD = r"\b[CFGHJKLMNPRTVWXYZ0-9]{9}[0-9]?\b";
    ID_KEYWORD = concat!(
        r"(?i)\b(?:(?:personal)?ausweis|(?:reise)?pass)(?:-?nummer|-?nr\.?)[ ]*:?[ ]*",
        r"([a-z0-9]{6,10})\b",
    );
    PHONE = concat!(
        r"(?:\+[0-9]{1,3}|\b00[0-9]{1,3}|\(0[0-9]{1,5}\)|\b0[0-9]{1,5})",
        r"(?:[ ]?\(0\))?(?:(?:[ ]?[/-][ ]?|[ ])?[0-9]+)*",
    );
    STREET_NAMED = format!(
        r"(?:\b\p{{Lu}}[\p{{L}}-]*?(?i:{STREET_SUFFIX})|\b(?:\p{{Lu}}[\p{{L}}-]*[ ]){{1,2}}(?:{STREET_WORD})|\b(?:am|im|zum|zur|beim|an der|an den|auf der|auf dem|in der|in den)[ ](?:{STREET_WORD}))[ ]?{HOUSE}\b"
    );
    /// "An der Kirche 5": a preposition, a name and a number, followed by the end of the address
    /// (punctuation, a postcode, "in", the end) so that "In der Regel 3 Wochen" stays.
    STREET_PREP = format!(
        r"\b((?i:am|im|beim|zum|zur|an der|an den|an dem|auf der|auf dem|auf den|in der|in den|unter den|hinter der|hinter dem|vor dem|vor der)[ ]\p{{Lu}}[\p{{L}}-]*(?:[ ]\p{{Lu}}[\p{{L}}-]*)?[ ]{HOUSE})(?:[ ]*(?:[,;)\n]|\.(?:\s|$)|$|[0-9]{{5}}\b)|[ ]+(?:in|bei|und)\b)"
    );
    DATE = concat!(
        r"\b(?:[0-9]{1,2}\.[ ]?[0-9]{1,2}\.[ ]?(?:[0-9]{4}|[0-9]{2})|[0-9]{4}-[0-9]{2}-[0-9]{2}",
        r"|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|[0-9]{1,2}\.?[ ](?:Januar|Jänner|Februar|März|April|Mai",
        r"|Juni|Juli|August|September|Oktober|November|Dezember|January|February|March|May|June",
        r"|July|October|December)[ ][0-9]{4})\b",
    );
    DOB_KEYWORD = concat!(
        r"(?i)\bgeb(?:oren|urtsdatum|urtstag|\.|\b)|\bborn\b|date of birth|\bbirth ?date",
        r"|\bdob\b|\bbirthday|\bd\.o\.b\b",
    );
    CARD = r"\b[1-9](?:[ -]?[0-9]){12,18}\b";
    IPV4 = concat!(
        r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}",
        r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\b",
    );
    IPV6 = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,8}";
}

/// Characters looked at before a number for a keyword.
const LOOKBACK_CHARS: usize = 60;
/// Passes [`scrub`] makes at most.
const MAX_PASSES: usize = 4;

/// Replaces every identifier in `text` with its placeholder; borrowed when nothing matched.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let found = find(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut current = replace(text, &found);
    for _ in 1..MAX_PASSES {
        let more = find(&current);
        if more.is_empty() {
            break;
        }
        current = replace(&current, &more);
    }
    Cow::Owned(current)
}

/// True when `text` holds at least one identifier.
pub fn contains_pii(text: &str) -> bool {
    !find(text).is_empty()
}

/// The identifiers in `text`: non-overlapping byte ranges, in order.
pub fn find(text: &str) -> Vec<(PiiKind, Range<usize>)> {
    let mut candidates = candidates(text);
    // Identical spans (an ID number that starts with 0 also reads as a phone number): the kind
    // declared first in `PiiKind` wins.
    candidates.sort_by_key(|(kind, r)| (r.start, Reverse(r.end), *kind as u8));
    let mut kept: Vec<(PiiKind, Range<usize>)> = Vec::new();
    let mut end = 0;
    for (kind, range) in candidates {
        if range.start >= end {
            end = range.end;
            kept.push((kind, range));
        }
    }
    kept
}

fn replace(text: &str, found: &[(PiiKind, Range<usize>)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (kind, range) in found {
        out.push_str(&text[last..range.start]);
        out.push_str(kind.placeholder());
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Every match of every rule, overlapping ones included.
fn candidates(text: &str) -> Vec<(PiiKind, Range<usize>)> {
    let mut out = Vec::new();
    let mut add = |kind: PiiKind, re: &Regex, accept: &dyn Fn(Range<usize>) -> bool| {
        for caps in re.captures_iter(text) {
            // Group 1, where a rule has one, is the identifier; the rest is context.
            if let Some(m) = caps.get(1).or_else(|| caps.get(0))
                && accept(m.range())
            {
                out.push((kind, m.range()));
            }
        }
    };
    let digits_of = |r: Range<usize>| digits(&text[r]);
    add(PiiKind::Email, &EMAIL, &|_| true);
    add(PiiKind::Iban, &IBAN_DE, &|_| true);
    add(PiiKind::Iban, &IBAN_ANY, &|r| iban_checksum_ok(&text[r]));
    add(PiiKind::TaxId, &TAX_ID, &|r| {
        tax_id_check_ok(&digits_of(r.clone())) || keyword_before(text, r.start, &TAX_KEYWORD, 20)
    });
    add(PiiKind::IdCardNumber, &ID_CARD, &|r| {
        let s = &text[r];
        s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().any(|b| b.is_ascii_alphabetic())
    });
    add(PiiKind::IdCardNumber, &ID_KEYWORD, &|r| {
        text[r].bytes().any(|b| b.is_ascii_digit())
    });
    add(PiiKind::Phone, &PHONE, &|r| digits_of(r).len() >= 6);
    add(PiiKind::StreetAddress, &STREET_NAMED, &|_| true);
    // Names like "in der Hauptstraße 5" are the named rule's: keep its shorter span.
    add(PiiKind::StreetAddress, &STREET_PREP, &|r| {
        !STREET_NAMED.is_match(&text[r])
    });
    add(PiiKind::DateOfBirth, &DATE, &|r| {
        keyword_before(text, r.start, &DOB_KEYWORD, 25)
    });
    add(PiiKind::CreditCard, &CARD, &|r| luhn_ok(&digits_of(r)));
    add(PiiKind::Ip, &IPV4, &|_| true);
    add(PiiKind::Ip, &IPV6, &|r| ipv6_ok(text, r));
    out
}

/// The ASCII digits of `s` as numbers.
fn digits(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

/// True when `keyword` ends at most `max_gap` characters before byte `start`. Keywords inside a
/// placeholder ("[STEUER-ID]") do not count, so scrubbed text stays as it is.
fn keyword_before(text: &str, start: usize, keyword: &Regex, max_gap: usize) -> bool {
    let before = &text[..start];
    let from = before
        .char_indices()
        .rev()
        .nth(LOOKBACK_CHARS - 1)
        .map_or(0, |(i, _)| i);
    let window = &before[from..];
    keyword.find_iter(window).any(|m| {
        !window[..m.start()].ends_with('[') && window[m.end()..].chars().count() <= max_gap
    })
}

/// ISO 13616: move the first four characters to the end, letters to 10..35, remainder mod 97 is 1.
fn iban_checksum_ok(candidate: &str) -> bool {
    let compact: Vec<char> = candidate.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder = 0u32;
    for c in tail.iter().chain(head) {
        let Some(value) = c.to_digit(36) else {
            return false;
        };
        let factor = if value < 10 { 10 } else { 100 };
        remainder = (remainder * factor + value) % 97;
    }
    remainder == 1
}

/// The check digit of the Steuer-Identifikationsnummer (ISO 7064 MOD 11,10).
fn tax_id_check_ok(digits: &[u8]) -> bool {
    if digits.len() != 11 || digits[0] == 0 {
        return false;
    }
    let mut product = 10u32;
    for &d in &digits[..10] {
        let mut sum = (u32::from(d) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    check == u32::from(digits[10])
}

/// The Luhn check of payment card numbers.
fn luhn_ok(digits: &[u8]) -> bool {
    // Every second digit from the right doubled; a two-digit result counts as its digit sum.
    let doubled = |(i, &d): (usize, &u8)| u32::from(d) << (i % 2);
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(doubled)
        .map(|d| d / 10 + d % 10)
        .sum();
    (13..=19).contains(&digits.len()) && sum.is_multiple_of(10)
}

/// A real IPv6 address standing alone, with at least 4 hex digits ("::1" is nobody's).
fn ipv6_ok(text: &str, range: Range<usize>) -> bool {
    let alone = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != ':');
    let candidate = &text[range.clone()];
    alone(text[..range.start].chars().next_back())
        && alone(text[range.end..].chars().next())
        && candidate.chars().filter(char::is_ascii_hexdigit).count() >= 4
        && candidate.parse::<Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PiiKind, &str)> {
        find(text).into_iter().map(|(k, r)| (k, &text[r])).collect()
    }

    /// A valid Steuer-ID made from its first ten digits.
    fn with_check_digit(first_ten: &str) -> String {
        (0..10)
            .map(|d| format!("{first_ten}{d}"))
            .find(|s| tax_id_check_ok(&digits(s)))
            .expect("one check digit fits")
    }

    #[test]
    fn finds_each_kind() {
        use PiiKind::*;
        // «…» marks the span that must be found.
        let cases = [
            (Email, "an «max.mustermann@example.de» bitte"),
            (Email, "Kontakt: «jörg.müller@stadt-musterstadt.de»."),
            (Iban, "IBAN «DE89 3704 0044 0532 0130 00» bei der Bank"),
            (Iban, "Konto «DE89370400440532013000»"),
            (Iban, "«DE12 3456 7890 1234 5678 90» (Prüfsumme falsch)"),
            (Iban, "UK «GB82 WEST 1234 5698 7654 32» please"),
            (Iban, "compte «FR1420041010050500013M02606»"),
            (TaxId, "Steuer-ID: «12 345 678 901»"),
            (TaxId, "Meine IdNr lautet «12345678900»."),
            (TaxId, "Identifikationsnummer «98765432100»"),
            (IdCardNumber, "Ausweisnummer «L01X00T47»"),
            (IdCardNumber, "Mein Ausweis hat die «L01X00T471»."),
            (IdCardNumber, "Passnummer: «c01x00t47»"),
            (IdCardNumber, "Personalausweisnummer «1220001297»"),
            (Phone, "Ruf an: «+49 30 1234567»."),
            (Phone, "Tel «0049 30 1234567»"),
            (Phone, "Tel. «030 12345678»"),
            (Phone, "Durchwahl «030/123 456-78» bitte"),
            (Phone, "Telefon «(0711) 123456»"),
            (Phone, "Handy «0171 1234567»"),
            (Phone, "Tel «+49 (0)30 1234567»"),
            (Phone, "mobil: «+49-171-1234567»"),
            (StreetAddress, "Ich wohne in der «Hauptstraße 5»."),
            (StreetAddress, "«Karl-Marx-Str. 12», 10178 Berlin"),
            (StreetAddress, "«Bahnhofstrasse 3-5»"),
            (StreetAddress, "«Lindenallee 12a»"),
            (StreetAddress, "«Am Markt 3»"),
            (StreetAddress, "wohne «am Markt 3» seit Mai"),
            (StreetAddress, "«An der Kirche 5», 12345 Musterstadt"),
            (StreetAddress, "«Berliner Straße 12» in Musterstadt"),
            (DateOfBirth, "Ich bin geboren am «12.03.1980»."),
            (DateOfBirth, "Geburtsdatum: «1980-03-12»"),
            (DateOfBirth, "Max Muster, geb. «3.4.1975»"),
            (DateOfBirth, "DOB «12/03/1980»"),
            (DateOfBirth, "date of birth: «5. März 1980»"),
            (CreditCard, "Karte «4111 1111 1111 1111» abgelehnt"),
            (CreditCard, "card «5500-0000-0000-0004»"),
            (CreditCard, "Amex «378282246310005»"),
            (Ip, "von «192.168.178.1» aus"),
            (Ip, "client «2001:db8::8a2e:370:7334» failed"),
        ];
        for (kind, marked) in cases {
            let text = marked.replace(['«', '»'], "");
            let span = marked.split(['«', '»']).nth(1).expect("a marked span");
            assert_eq!(found(&text), vec![(kind, span)], "in {marked:?}");
        }
    }

    #[test]
    fn tax_id_check_digit_decides_without_keyword() {
        let valid = with_check_digit("8609574271");
        assert_eq!(valid, "86095742719"); // the example from the BZSt
        assert_eq!(
            found(&format!("Nummer {valid}")),
            vec![(PiiKind::TaxId, valid.as_str())]
        );
        let last = valid.as_bytes()[10] - b'0';
        let invalid = format!("8609574271{}", (last + 1) % 10);
        assert!(found(&format!("Nummer {invalid}")).is_empty());
        assert!(!tax_id_check_ok(&digits("06095742719")));
        // Too far from the keyword: only the check digit would count.
        let far = format!("Steuer-ID habe ich nicht zur Hand, aber {invalid}");
        assert!(found(&far).is_empty());
    }

    #[test]
    fn leaves_service_text_alone() {
        let negatives = [
            "Die Gebühr beträgt 12,50 Euro.",
            "Rechtsgrundlage ist § 44 Abs. 1 BMG.",
            "Das Gesetz gilt seit 2026.",
            "Rufen Sie das Bürgertelefon 115 an.",
            "Im Notfall 110 oder 112, nachts der Bereitschaftsdienst 116117.",
            "Die Postleitzahl ist 12345, für Dresden 01067.",
            "Termin am 12.03.2026 um 10:30 Uhr",
            "Die Gebühr ist am 01.02.2026 fällig.",
            "wohnsitz-ummelden",
            "Wie melde ich meinen Wohnsitz um?",
            "In der Regel dauert es 3 Wochen.",
            "Im Jahr 2026 ändern sich die Gebühren.",
            "Öffnungszeiten: Mo 08:00 - 12:00 Uhr",
            "Die Hauptstraße ist gesperrt.",
            "Version 1.2.3 der App",
            "Karte 4111 1111 1111 1112",
            "GB00 WEST 1234 5698 7654 32",
            "Formular 12 kostet 0,50 Euro, Frist 14 Tage.",
            "Siehe std::vec und 12:30:00.",
        ];
        for text in negatives {
            assert_eq!(found(text), vec![], "in {text:?}");
            assert!(!contains_pii(text));
            assert!(matches!(scrub(text), Cow::Borrowed(_)), "in {text:?}");
        }
    }

    #[test]
    fn scrub_keeps_the_other_words() {
        let text = "Ich bin Max, geboren am 01.02.1990, wohne in der Hauptstraße 5, 12345 \
                    Musterstadt, Tel. 0171 1234567, Mail max@example.org, IBAN DE89 3704 0044 \
                    0532 0130 00.";
        assert_eq!(
            scrub(text),
            "Ich bin Max, geboren am [DATUM], wohne in der [ADRESSE], 12345 Musterstadt, \
             Tel. [TELEFON], Mail [E-MAIL], IBAN [IBAN]."
        );
        assert!(contains_pii(text));
        let kinds: Vec<PiiKind> = find(text).into_iter().map(|(k, _)| k).collect();
        use PiiKind::*;
        assert_eq!(kinds, vec![DateOfBirth, StreetAddress, Phone, Email, Iban]);
    }

    #[test]
    fn placeholders_are_inert() {
        let all =
            "[E-MAIL] [IBAN] [STEUER-ID] [AUSWEIS-NR] [TELEFON] [ADRESSE] [DATUM] [KARTE] [IP]";
        assert!(!contains_pii(all), "{:?}", find(all));
        assert_eq!(PiiKind::IdCardNumber.placeholder(), "[AUSWEIS-NR]");
        assert_eq!(scrub("Steuer-ID: 12 345 678 901"), "Steuer-ID: [STEUER-ID]");
    }

    #[test]
    fn scrubbing_is_idempotent() {
        let texts = [
            "Steuer-ID 12345678900, Ausweisnummer L01X00T47, Karte 4111-1111-1111-1111",
            "Ping 10.0.0.1 und fe80::1ff:fe23:4567:890a von a@b.de",
            "86095742719 86095742710",
            "geb. bei max.mustermann@example.org am 12.03.1980",
            "Ausweis L01X00T47 12345678",
            "Lindenallee 12a, Tel. (0711) 123456, geb. 3.4.1975",
        ];
        for text in texts {
            let once = scrub(text).into_owned();
            assert_ne!(once, text);
            assert_eq!(scrub(&once), once.as_str(), "from {text:?}");
            assert!(!contains_pii(&once), "{once:?}: {:?}", find(&once));
        }
        // 26 characters of e-mail keep the date out of the window until the address is scrubbed.
        let text = texts[3];
        assert_eq!(find(text).len(), 1);
        assert_eq!(scrub(text), "geb. bei [E-MAIL] am [DATUM]");
    }

    #[test]
    fn ranges_are_ordered_and_disjoint() {
        let text = "+49 30 1234567 | DE89 3704 0044 0532 0130 00 | Am Markt 3 | 1.2.3.4";
        let found = find(text);
        assert_eq!(found.len(), 4);
        assert!(found.windows(2).all(|w| w[0].1.end <= w[1].1.start));
        assert_eq!(found[0].0, PiiKind::Phone); // not a tax id starting at "49"
    }

    #[test]
    fn checksums() {
        assert!(iban_checksum_ok("DE89 3704 0044 0532 0130 00"));
        assert!(!iban_checksum_ok("DE88 3704 0044 0532 0130 00"));
        assert!(!iban_checksum_ok("DE89"));
        assert!(luhn_ok(&digits("4111111111111111")));
        assert!(!luhn_ok(&digits("4111111111111121")));
        assert!(!luhn_ok(&digits("0")));
    }

    #[test]
    fn scrubbed_displays_scrubbed_text() {
        let q = "Mail an a.b@example.com, Tel. 030 1234567";
        assert_eq!(Scrubbed(q).to_string(), "Mail an [E-MAIL], Tel. [TELEFON]");
        assert_eq!(Scrubbed("Was kostet das?").to_string(), "Was kostet das?");
    }

    #[test]
    fn handles_non_ascii_around_matches() {
        assert_eq!(
            scrub("Grüße aus der Müllerstraße 7 – Jörg (jörg@beispiel.de) 😀"),
            "Grüße aus der [ADRESSE] – Jörg ([E-MAIL]) 😀"
        );
        assert_eq!(scrub("١٢٣٤٥٦٧٨٩٠١ ٠١٧١"), "١٢٣٤٥٦٧٨٩٠١ ٠١٧١");
    }
}
