//! Parsing of German-formatted values: `23.456` (thousands separator), `17,3` (decimal comma),
//! `01.02.2024` (dates), and the placeholders statistics offices write for "no value".

use chrono::NaiveDate;

/// Cell contents that German statistics tables use to mean "no value" (or "secret").
pub const NULL_PLACEHOLDERS: [&str; 7] = ["", "-", ".", "x", "X", "...", "…"];

/// True when the cell means "no value".
pub fn is_null(cell: &str) -> bool {
    NULL_PLACEHOLDERS.contains(&cell.trim())
}

/// Parses an integer written with optional `.`, space or no-break-space thousands groups.
/// Groups must have exactly three digits, so `1.5` is not an integer (it may be a decimal).
pub fn parse_int(cell: &str) -> Option<i64> {
    let s = cell.trim();
    let (negative, digits) = split_sign(s);
    let plain = strip_thousands(digits)?;
    let value: i64 = plain.parse().ok()?;
    Some(if negative { -value } else { value })
}

/// Parses a decimal number: decimal comma (`17,3`, `1.234,5`) or, when the value has no comma
/// and is not a valid thousands grouping, a decimal point (`48.1374`).
pub fn parse_float(cell: &str) -> Option<f64> {
    let s = cell.trim();
    let (negative, body) = split_sign(s);
    let value = if let Some((int_part, frac)) = body.split_once(',') {
        if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let int_plain = if int_part.is_empty() {
            "0".to_string()
        } else {
            strip_thousands(int_part)?
        };
        format!("{int_plain}.{frac}").parse::<f64>().ok()?
    } else if let Some(int) = strip_thousands(body) {
        int.parse::<f64>().ok()?
    } else {
        let (int_part, frac) = body.split_once('.')?;
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(int_part) || !digits(frac) {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if negative { -value } else { value })
}

/// How a column writes decimals. German tables use a decimal comma and `.` for thousands, but
/// many files (coordinates, areas in km²) use a decimal point: `53.02`, `123.456`. The style is
/// decided per column, so `123.456` is not read as 123456 in a column of decimal points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberStyle {
    /// `1.234,5`: comma decimal, point (or space) thousands.
    DecimalComma,
    /// `1 234.5`: point decimal, space thousands.
    DecimalPoint,
}

/// Decides a column's style: any decimal comma → German; otherwise any `.` that cannot be a
/// thousands separator (not followed by exactly three digits) → decimal point; otherwise German.
pub fn detect_style<'a>(cells: impl Iterator<Item = &'a str>) -> NumberStyle {
    let mut point = false;
    for cell in cells.map(str::trim).filter(|c| !is_null(c)) {
        if cell.contains(',') && parse_float(cell).is_some() {
            return NumberStyle::DecimalComma;
        }
        if let Some((_, frac)) = cell.rsplit_once('.') {
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            point |= digits(frac) && frac.len() != 3 && parse_float(cell).is_some();
        }
    }
    if point {
        NumberStyle::DecimalPoint
    } else {
        NumberStyle::DecimalComma
    }
}

/// [`parse_int`] under a column style: with decimal points, `1.234` is not an integer.
pub fn parse_int_styled(cell: &str, style: NumberStyle) -> Option<i64> {
    match style {
        NumberStyle::DecimalComma => parse_int(cell),
        NumberStyle::DecimalPoint => parse_int(cell).filter(|_| !cell.contains('.')),
    }
}

/// [`parse_float`] under a column style: with decimal points, `.` is always the decimal mark
/// and only spaces group thousands.
pub fn parse_float_styled(cell: &str, style: NumberStyle) -> Option<f64> {
    match style {
        NumberStyle::DecimalComma => parse_float(cell),
        NumberStyle::DecimalPoint => {
            let compact: String = cell
                .trim()
                .chars()
                .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
                .collect();
            let (negative, body) = split_sign(&compact);
            let valid = body.split('.').count() <= 2
                && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && body.bytes().any(|b| b.is_ascii_digit());
            if !valid || cell.contains(',') {
                return None;
            }
            let value: f64 = body.parse().ok()?;
            Some(if negative { -value } else { value })
        }
    }
}

/// Parses `dd.mm.yyyy` (also `d.m.yyyy`) and ISO `yyyy-mm-dd`.
pub fn parse_date(cell: &str) -> Option<NaiveDate> {
    let s = cell.trim();
    NaiveDate::parse_from_str(s, "%d.%m.%Y")
        .ok()
        .filter(|_| s.len() >= 8 && s.matches('.').count() == 2)
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|_| s.len() == 10)
        })
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.strip_prefix(['-', '−']) {
        Some(rest) => (true, rest.trim_start()),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    }
}

/// Removes thousands separators if the grouping is valid; returns the bare digits.
fn strip_thousands(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(s.to_string());
    }
    let sep = s
        .chars()
        .find(|c| matches!(c, '.' | ' ' | '\u{a0}' | '\u{202f}'))?;
    let groups: Vec<&str> = s.split(sep).collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    let digits_ok = groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    (first_ok && rest_ok && digits_ok && groups.len() > 1).then(|| groups.concat())
}

/// The Arrow type a column of cells is inferred as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferredType {
    /// 64-bit integers.
    Int,
    /// 64-bit floats.
    Float,
    /// Calendar dates.
    Date,
    /// Anything else.
    Text,
}

/// Infers the narrowest type that every non-null cell fits, under the column's number style.
/// An all-null column is text.
pub fn infer<'a>(cells: impl Iterator<Item = &'a str>, style: NumberStyle) -> InferredType {
    let (mut int, mut float, mut date, mut seen) = (true, true, true, false);
    for cell in cells.filter(|c| !is_null(c)) {
        seen = true;
        int = int && parse_int_styled(cell, style).is_some();
        float = float && parse_float_styled(cell, style).is_some();
        date = date && parse_date(cell).is_some();
        if !(int || float || date) {
            return InferredType::Text;
        }
    }
    match (seen, int, float, date) {
        (false, ..) => InferredType::Text,
        (_, true, _, _) => InferredType::Int,
        (_, _, true, _) => InferredType::Float,
        (_, _, _, true) => InferredType::Date,
        _ => InferredType::Text,
    }
}

/// Turns a German column header into an SQL-friendly identifier:
/// `"Anteil unter 18 (%)"` → `anteil_unter_18_prozent`, `"davon männlich"` → `davon_maennlich`.
pub fn sql_identifier(header: &str) -> String {
    let mut out = String::new();
    for c in header.trim().chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            '%' => out.push_str("_prozent_"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => out.push('_'),
        }
    }
    let collapsed = out
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    match collapsed.chars().next() {
        None => String::new(),
        Some(c) if c.is_ascii_digit() => format!("c_{collapsed}"),
        Some(_) => collapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_with_thousands_groups() {
        assert_eq!(parse_int("23.456"), Some(23_456));
        assert_eq!(parse_int("1 234 567"), Some(1_234_567));
        assert_eq!(parse_int("-1.000"), Some(-1000));
        assert_eq!(parse_int("1.5"), None);
        assert_eq!(parse_int("12.34.567"), None);
        assert_eq!(parse_int("abc"), None);
    }

    #[test]
    fn decimals_with_comma_or_point() {
        assert_eq!(parse_float("17,3"), Some(17.3));
        assert_eq!(parse_float("1.234,5"), Some(1234.5));
        assert_eq!(parse_float("-0,25"), Some(-0.25));
        assert_eq!(parse_float("48.1374"), Some(48.1374));
        assert_eq!(parse_float("12,"), None);
        assert_eq!(parse_float("1,2,3"), None);
    }

    #[test]
    fn dates_and_nulls() {
        assert_eq!(
            parse_date("01.02.2024"),
            NaiveDate::from_ymd_opt(2024, 2, 1)
        );
        assert_eq!(
            parse_date("2024-02-01"),
            NaiveDate::from_ymd_opt(2024, 2, 1)
        );
        assert_eq!(parse_date("31.02.2024"), None);
        assert!(is_null(" - ") && is_null("x") && !is_null("0"));
    }

    fn infer_auto(cells: &[&str]) -> InferredType {
        infer(cells.iter().copied(), detect_style(cells.iter().copied()))
    }

    #[test]
    fn inference_picks_narrowest_type() {
        assert_eq!(infer_auto(&["1.000", "-", "23"]), InferredType::Int);
        assert_eq!(infer_auto(&["1.000", "2,5"]), InferredType::Float);
        assert_eq!(infer_auto(&["01.01.2020", "x"]), InferredType::Date);
        assert_eq!(infer_auto(&["Altstadt", "12"]), InferredType::Text);
        assert_eq!(infer_auto(&["-", ""]), InferredType::Text);
    }

    #[test]
    fn decimal_point_columns_keep_three_decimals() {
        let cells = ["53.02", "123.456", "1 204.5"];
        let style = detect_style(cells.into_iter());
        assert_eq!(style, NumberStyle::DecimalPoint);
        assert_eq!(infer(cells.into_iter(), style), InferredType::Float);
        assert_eq!(parse_float_styled("123.456", style), Some(123.456));
        assert_eq!(parse_float_styled("1 204.5", style), Some(1204.5));
        assert_eq!(parse_float_styled("1.2.3", style), None);
        assert_eq!(parse_int_styled("1.234", style), None);
        // Without a telltale cell the German reading wins.
        let german = ["1.234", "23.456"];
        assert_eq!(detect_style(german.into_iter()), NumberStyle::DecimalComma);
        assert_eq!(
            infer(german.into_iter(), NumberStyle::DecimalComma),
            InferredType::Int
        );
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            sql_identifier("Anteil unter 18 (%)"),
            "anteil_unter_18_prozent"
        );
        assert_eq!(sql_identifier("davon männlich"), "davon_maennlich");
        assert_eq!(sql_identifier("2019"), "c_2019");
        assert_eq!(sql_identifier("Straße/Nr."), "strasse_nr");
    }
}
