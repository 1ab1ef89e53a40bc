//! Text helpers for fact templates: folding questions for matching, and German number formatting.

/// Folds text for matching: lower case, umlauts and `ß` folded (`ü`, `ue` → `u`; `ß` → `ss`),
/// every run of non-alphanumeric characters turned into one space, padded with one space on
/// each side (`" wie viele einwohner hat die sudstadt "`). Questions, keywords and slot values
/// are folded the same way, so "Südstadt", "Suedstadt" and "SUDSTADT" all match.
pub(crate) fn fold(text: &str) -> String {
    let mut lower = String::with_capacity(text.len() + 2);
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' | 'à' | 'á' | 'â' => lower.push('a'),
            'ö' | 'ò' | 'ó' | 'ô' => lower.push('o'),
            'ü' | 'ù' | 'ú' | 'û' => lower.push('u'),
            'é' | 'è' | 'ê' => lower.push('e'),
            'ß' => lower.push_str("ss"),
            c if c.is_alphanumeric() => lower.push(c),
            _ => lower.push(' '),
        }
    }
    let lower = lower
        .replace("ae", "a")
        .replace("oe", "o")
        .replace("ue", "u");
    let mut out = String::with_capacity(lower.len() + 2);
    out.push(' ');
    for word in lower.split_whitespace() {
        out.push_str(word);
        out.push(' ');
    }
    out
}

/// True when the folded `phrase` starts a word of the folded `question`: `" einwohner "` matches
/// "Einwohnerzahl", `" people live "` matches "people living", `" stadt "` does not match
/// "Südstadt". Both arguments must come from [`fold`].
pub(crate) fn starts_word(question: &str, phrase: &str) -> bool {
    let stem = phrase.trim_end();
    !stem.trim().is_empty() && question.contains(stem)
}

/// True when the folded `value` occurs as whole words in the folded `question`.
pub(crate) fn has_words(question: &str, value: &str) -> bool {
    !value.trim().is_empty() && question.contains(value)
}

/// German formatting of a plain number (`-1234567.5` → `-1.234.567,5`): `.` groups thousands,
/// `,` separates decimals. Anything that is not a plain decimal number is returned unchanged.
pub fn german_number(plain: &str) -> String {
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if int.is_empty() || !plain_digits(int) || !plain_digits(frac) {
        return plain.to_string();
    }
    let mut out = String::with_capacity(plain.len() + int.len() / 3 + 1);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    out
}

/// A float in German style, with exactly `decimals` decimals when given, else the shortest
/// representation that round-trips (`17.3` → `17,3`, `4.0` → `4`).
pub fn german_float(value: f64, decimals: Option<usize>) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let plain = match decimals {
        Some(d) => format!("{value:.d$}"),
        None => format!("{value}"),
    };
    let plain = if plain
        .strip_prefix('-')
        .is_some_and(|rest| rest.chars().all(|c| c == '0' || c == '.'))
    {
        plain[1..].to_string() // no "-0"
    } else {
        plain
    };
    german_number(&plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_umlauts_and_punctuation() {
        assert_eq!(
            fold("Wie viele Einwohner hat die Südstadt?"),
            " wie viele einwohner hat die sudstadt "
        );
        assert_eq!(fold("SUEDSTADT"), fold("Südstadt"));
        assert_eq!(fold("Straße"), " strasse ");
        assert_eq!(
            fold("Südstadt'; DROP TABLE x; --"),
            " sudstadt drop table x "
        );
        assert_eq!(fold(""), " ");
        assert_eq!(fold("Anteil 65+ (%)"), " anteil 65 ");
    }

    #[test]
    fn keywords_match_at_word_starts() {
        let q = fold("Wie groß ist die Einwohnerzahl der Südstadt?");
        assert!(starts_word(&q, &fold("einwohner")));
        assert!(starts_word(&q, &fold("wie groß")));
        assert!(!starts_word(&q, &fold("stadt")));
        assert!(!starts_word(&q, &fold("zahl")));
        assert!(!starts_word(&q, &fold("")));
        let q = fold("How many people are living in Nordviertel?");
        assert!(starts_word(&q, &fold("how many")));
        assert!(!starts_word(&q, &fold("people live")));
        assert!(starts_word(
            &fold("people lived here"),
            &fold("people live")
        ));
    }

    #[test]
    fn values_match_whole_words_only() {
        let q = fold("Wie viele Menschen wohnen am See in der Altstadt?");
        assert!(has_words(&q, &fold("Altstadt")));
        assert!(has_words(&q, &fold("Am See")));
        assert!(!has_words(&q, &fold("Alt")));
        assert!(!has_words(&q, &fold("Stadt")));
        assert!(has_words(&fold("im Jahr 2019?"), &fold("2019")));
        assert!(!has_words(&fold("im Jahr 20190"), &fold("2019")));
    }

    #[test]
    fn german_numbers() {
        assert_eq!(german_number("0"), "0");
        assert_eq!(german_number("999"), "999");
        assert_eq!(german_number("1000"), "1.000");
        assert_eq!(german_number("31456"), "31.456");
        assert_eq!(german_number("-1234567"), "-1.234.567");
        assert_eq!(german_number("140123.25"), "140.123,25");
        assert_eq!(german_number("0.5"), "0,5");
        assert_eq!(german_number("n/a"), "n/a");
        assert_eq!(german_number("1e20"), "1e20");
    }

    #[test]
    fn german_floats() {
        assert_eq!(german_float(17.3, None), "17,3");
        assert_eq!(german_float(4.0, None), "4");
        assert_eq!(german_float(4.0, Some(1)), "4,0");
        assert_eq!(german_float(1234.56, Some(1)), "1.234,6");
        assert_eq!(german_float(-2.25, Some(2)), "-2,25");
        assert_eq!(german_float(-0.01, Some(1)), "0,0");
        assert_eq!(german_float(1e21, None), "1.000.000.000.000.000.000.000");
        assert_eq!(german_float(f64::NAN, None), "NaN");
    }
}
