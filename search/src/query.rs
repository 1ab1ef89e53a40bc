//! Turning free citizen text into a Tantivy query that can never be a syntax error.
//!
//! There is no query language: the text goes through the same German analyzer as the indexed
//! fields, and every resulting term becomes a `Should` clause on `title` (boost
//! [`TITLE_BOOST`]), `teaser` ([`TEASER_BOOST`]) and `body` ([`BODY_BOOST`]). Quotes, colons,
//! brackets, `AND`/`OR`/`NOT`, "C++", emoji and other scripts are just text: punctuation and
//! symbols are dropped by the tokenizer, words are matched as words.
//!
//! Length limits: the query may have at most [`crate::MAX_QUERY_CHARS`] characters
//! ([`Error::QueryTooLong`] otherwise) and at most [`MAX_QUERY_TERMS`] distinct terms are used
//! (the rest are ignored), which bounds the cost of a search.

use std::collections::HashSet;

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use crate::MAX_QUERY_CHARS;
use crate::analyzer::analyze;
use crate::error::{Error, Result};
use crate::schema::Fields;

/// Boost of a term match in the title.
pub const TITLE_BOOST: f32 = 3.0;
/// Boost of a term match in the teaser.
pub const TEASER_BOOST: f32 = 2.0;
/// Boost of a term match in the passage body.
pub const BODY_BOOST: f32 = 1.0;
/// At most this many distinct analyzed terms of a query are used.
pub const MAX_QUERY_TERMS: usize = 32;

/// Rejects queries longer than [`MAX_QUERY_CHARS`] characters (Unicode scalar values).
pub fn check_length(query: &str) -> Result<()> {
    // Count at most MAX + 1 chars: a 10 MB query is rejected without a full scan.
    let len = query.chars().take(MAX_QUERY_CHARS + 1).count();
    if len > MAX_QUERY_CHARS {
        return Err(Error::QueryTooLong {
            len: query.chars().count(),
            max: MAX_QUERY_CHARS,
        });
    }
    Ok(())
}

/// Analyzes `query` and returns its distinct terms in first-seen order, at most
/// [`MAX_QUERY_TERMS`]. Empty when the query has only whitespace, punctuation or stop words.
pub fn query_terms(analyzer: &mut TextAnalyzer, query: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let expanded = expand_synonyms(&rejoin_separable_verbs(query));
    analyze(analyzer, &expanded)
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .take(MAX_QUERY_TERMS)
        .collect()
}

/// Restricts `query` to passages of the given sources (all when `sources` is empty). The
/// source clause is a filter: it does not change scores.
pub fn restrict_to_sources(
    fields: &Fields,
    query: BooleanQuery,
    sources: &[String],
) -> BooleanQuery {
    if sources.is_empty() {
        return query;
    }
    let any_source: Vec<(Occur, Box<dyn Query>)> = sources
        .iter()
        .map(|s| {
            let term = TermQuery::new(
                Term::from_field_text(fields.source, s),
                IndexRecordOption::Basic,
            );
            (
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(term), 0.0)) as Box<dyn Query>,
            )
        })
        .collect();
    BooleanQuery::new(vec![
        (Occur::Must, Box::new(query)),
        (Occur::Must, Box::new(BooleanQuery::new(any_source))),
    ])
}

/// The curated synonym list (`search/synonyms.txt`): citizen words → official vocabulary.
const SYNONYMS: &str = include_str!("../synonyms.txt");

/// Appends the official terms for every citizen word of `query` that the synonym list knows
/// ("Perso" → "personalausweis"); the original words stay.
pub fn expand_synonyms(query: &str) -> String {
    let mut out = query.to_string();
    for word in query.split(|c: char| !c.is_alphanumeric() && c != '-') {
        let word = word.to_lowercase();
        if word.is_empty() {
            continue;
        }
        let rules = SYNONYMS
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'));
        for (from, to) in rules.filter_map(|l| l.split_once("=>")) {
            if from.trim() == word {
                out.push(' ');
                out.push_str(to.trim());
            }
        }
    }
    out
}

/// Particles of German separable verbs ("melde … um" → "ummelden").
const VERB_PARTICLES: [&str; 14] = [
    "ab", "an", "auf", "aus", "ein", "fest", "her", "hin", "mit", "nach", "um", "vor", "weg", "zu",
];

/// German separable verbs put their particle at the end of the clause: "Wie melde ich meinen
/// Wohnsitz um?" asks about "ummelden". When a clause ends in a particle, the particle is joined
/// to each lower-case word of the clause (verbs are lower-case, nouns capitalised) and the joined
/// forms are appended to the query; the original words stay. Joined forms that are not words
/// simply match nothing.
pub fn rejoin_separable_verbs(query: &str) -> String {
    let mut out = query.to_string();
    for clause in query.split(['.', '?', '!', ';', ',', '\n']) {
        let words: Vec<&str> = clause.split_whitespace().collect();
        let Some((last, rest)) = words.split_last() else {
            continue;
        };
        if rest.is_empty() || !VERB_PARTICLES.contains(&last.to_lowercase().as_str()) {
            continue;
        }
        let particle = last.to_lowercase();
        for word in rest {
            let lower_initial = word.chars().next().is_some_and(char::is_lowercase);
            if lower_initial && word.chars().count() >= 3 && word.chars().all(char::is_alphabetic) {
                out.push(' ');
                out.push_str(&particle);
                out.push_str(word);
            }
        }
    }
    out
}

/// Builds the boosted disjunction over title, teaser and body; `None` for no terms.
pub fn build_query(fields: &Fields, terms: &[String]) -> Option<BooleanQuery> {
    if terms.is_empty() {
        return None;
    }
    let weighted: [(Field, f32); 3] = [
        (fields.title, TITLE_BOOST),
        (fields.teaser, TEASER_BOOST),
        (fields.body, BODY_BOOST),
    ];
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 3);
    for term in terms {
        for (field, boost) in weighted {
            let term_query = TermQuery::new(
                Term::from_field_text(field, term),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(term_query), boost)),
            ));
        }
    }
    Some(BooleanQuery::new(clauses))
}

#[cfg(test)]
mod separable_verb_tests {
    use super::{expand_synonyms, rejoin_separable_verbs};

    #[test]
    fn synonyms_add_official_terms() {
        assert_eq!(
            expand_synonyms("Perso abgelaufen"),
            "Perso abgelaufen personalausweis"
        );
        assert_eq!(
            expand_synonyms("Kfz ummelden?"),
            "Kfz ummelden? fahrzeug zulassung"
        );
        assert_eq!(expand_synonyms("Personalausweis"), "Personalausweis");
        for line in super::SYNONYMS
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let (from, to) = line.split_once("=>").expect("every rule has =>");
            assert!(!from.trim().is_empty() && !to.trim().is_empty(), "{line}");
            assert_eq!(
                from.trim(),
                from.trim().to_lowercase(),
                "left sides are lower-case: {line}"
            );
        }
    }

    #[test]
    fn joins_trailing_particles_to_lower_case_words() {
        let q = rejoin_separable_verbs("Wie melde ich meinen Wohnsitz um?");
        assert!(q.ends_with(" ummelde umich ummeinen"), "{q}");
        assert_eq!(
            rejoin_separable_verbs("Personalausweis beantragen"),
            "Personalausweis beantragen"
        );
        assert_eq!(rejoin_separable_verbs("um"), "um");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::german_analyzer;
    use crate::schema;

    fn terms(q: &str) -> Vec<String> {
        query_terms(&mut german_analyzer().unwrap(), q)
    }

    #[test]
    fn length_limit_counts_characters_not_bytes() {
        assert!(check_length(&"ä".repeat(MAX_QUERY_CHARS)).is_ok());
        let err = check_length(&"a".repeat(MAX_QUERY_CHARS + 1)).unwrap_err();
        assert!(matches!(
            err,
            Error::QueryTooLong {
                len: 1001,
                max: MAX_QUERY_CHARS
            }
        ));
        assert!(check_length("").is_ok());
    }

    #[test]
    fn terms_are_distinct_and_capped() {
        assert_eq!(terms("Hund Hunde hund"), vec!["hund".to_string()]);
        let many: String = (0..100).map(|i| format!("wort{i} ")).collect();
        assert_eq!(terms(&many).len(), MAX_QUERY_TERMS);
        assert!(terms("  ").is_empty());
        assert!(terms("und oder die der").is_empty());
        assert!(terms("?!:()[]\"").is_empty());
    }

    #[test]
    fn query_has_three_clauses_per_term() {
        let (_, fields) = schema::build();
        assert!(build_query(&fields, &[]).is_none());
        // Two words that are neither compounds nor synonyms: two terms, three fields each.
        let q = build_query(&fields, &terms("Hund anmelden")).unwrap();
        assert_eq!(q.clauses().len(), 6);
        let mut seen_fields = HashSet::new();
        q.query_terms(&mut |term, _| {
            seen_fields.insert(term.field());
        });
        assert_eq!(seen_fields.len(), 3);
    }
}
