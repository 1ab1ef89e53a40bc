//! Splitting a text with several SQL statements (`SELECT 1; SELECT 2`) into single statements,
//! for interfaces whose clients send scripts (the PostgreSQL protocol's simple query). The
//! engine itself runs one statement at a time.

use datafusion::sql::parser::DFParser;

/// The statements of `text`: several when it holds several, each re-rendered from its parse
/// tree; otherwise the text itself without a trailing `;` (also when it does not parse, so
/// that the engine reports the error for the text the caller wrote).
pub fn split_statements(text: &str) -> Vec<String> {
    match DFParser::parse_sql(text) {
        Ok(parsed) if parsed.len() > 1 => parsed.iter().map(ToString::to_string).collect(),
        _ => vec![text.trim().trim_end_matches(';').trim_end().to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_is_split_into_its_statements() {
        assert_eq!(split_statements("SELECT 1;"), ["SELECT 1"]);
        assert_eq!(split_statements("  SELECT 1 ;  "), ["SELECT 1"]);
        assert_eq!(
            split_statements("SELECT 1; SELECT 'a;b'"),
            ["SELECT 1", "SELECT 'a;b'"]
        );
        // Unparseable text is kept whole: the engine names the error.
        assert_eq!(split_statements("SELEC 1; SELECT 2"), ["SELEC 1; SELECT 2"]);
    }
}
