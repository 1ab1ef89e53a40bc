//! Executing a query: candidate collection, one-hit-per-document grouping, ordering and
//! snippets.
//!
//! Scoring is Tantivy's BM25 (with the field boosts of [`crate::query`]) multiplied by a
//! coordination factor: the share of distinct query terms that occur in the passage (title,
//! teaser or body). "Hund anmelden" thus prefers the passage about registering a dog over one
//! that only says "anmelden" three times. The factor is applied to the fetched candidates
//! (`limit * 5`), not to the whole index.
//!
//! Ordering is by score descending, ties broken by `passage_id` ascending, so equal inputs give
//! equal outputs. With [`SearchOptions::one_hit_per_document`] the collector fetches
//! `limit * 5` candidates (more if that does not yield `limit` distinct documents) and keeps the
//! best passage of each `(source, doc_id)`.
//!
//! Snippets come from Tantivy's [`SnippetGenerator`] on the passage body: `snippet` is the
//! plain fragment (starting at the line of the first match when the fragment spans a line
//! break), `snippet_html` the same text HTML-escaped with `<mark>…</mark>` around matched
//! words. When nothing in the body matched (a title-only hit), both fall back to the
//! first ~[`SNIPPET_CHARS`] characters of the passage (or of the teaser for an empty body).

use std::collections::HashSet;
use std::ops::Range;

use tantivy::collector::TopDocs;
use tantivy::query::Query;
use tantivy::schema::{Field, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Searcher, TantivyDocument};

use crate::analyzer::analyze;
use crate::error::Result;
use crate::schema::Fields;
use crate::{Hit, SearchOptions};

/// Target length of snippets, in characters.
pub const SNIPPET_CHARS: usize = 200;
/// Candidates fetched per requested hit (for coordination and grouping by document).
const OVERFETCH: usize = 5;

fn text(doc: &TantivyDocument, field: Field) -> Option<String> {
    doc.get_first(field)
        .and_then(|v| v.as_str().map(str::to_string))
}

/// A scored passage with its stored fields, before snippets are made.
struct Candidate {
    score: f32,
    doc: TantivyDocument,
    passage_id: String,
    doc_key: (String, String),
}

/// What the candidates are scored against: the query's distinct analyzed terms.
pub struct QueryTerms<'a> {
    /// Distinct analyzed terms of the query (non-empty).
    pub terms: &'a [String],
    /// The analyzer that produced them, to analyze candidate texts the same way.
    pub analyzer: &'a TextAnalyzer,
}

/// Share of `query.terms` that occur in the title, teaser or body of `doc`.
fn coordination(doc: &TantivyDocument, fields: &Fields, query: &QueryTerms<'_>) -> f32 {
    let mut analyzer = query.analyzer.clone();
    let mut present: HashSet<String> = HashSet::new();
    for field in [fields.title, fields.teaser, fields.body] {
        if let Some(value) = text(doc, field) {
            present.extend(analyze(&mut analyzer, &value));
        }
    }
    let matched = query.terms.iter().filter(|t| present.contains(*t)).count();
    // Every candidate matched at least one term; never let a candidate score 0.
    matched.max(1) as f32 / query.terms.len().max(1) as f32
}

fn collect(
    searcher: &Searcher,
    fields: &Fields,
    query: &dyn Query,
    terms: &QueryTerms<'_>,
    fetch: usize,
) -> Result<Vec<Candidate>> {
    let top = searcher.search(query, &TopDocs::with_limit(fetch).order_by_score())?;
    let mut candidates = Vec::with_capacity(top.len());
    for (score, address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        let passage_id = text(&doc, fields.passage_id).unwrap_or_default();
        let doc_key = (
            text(&doc, fields.source).unwrap_or_default(),
            text(&doc, fields.doc_id).unwrap_or_default(),
        );
        let score = score * coordination(&doc, fields, terms);
        candidates.push(Candidate {
            score,
            doc,
            passage_id,
            doc_key,
        });
    }
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.passage_id.cmp(&b.passage_id))
    });
    Ok(candidates)
}

/// Runs `query` and turns the best passages into [`Hit`]s.
pub fn search(
    searcher: &Searcher,
    fields: &Fields,
    query: &dyn Query,
    terms: &QueryTerms<'_>,
    opts: &SearchOptions,
) -> Result<Vec<Hit>> {
    let total = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
    if opts.limit == 0 || total == 0 {
        return Ok(Vec::new());
    }
    let mut fetch = opts.limit.saturating_mul(OVERFETCH).clamp(1, total);
    let chosen = loop {
        let candidates = collect(searcher, fields, query, terms, fetch)?;
        let exhausted = candidates.len() < fetch || fetch >= total;
        let chosen: Vec<Candidate> = if opts.one_hit_per_document {
            let mut seen = HashSet::new();
            candidates
                .into_iter()
                .filter(|c| seen.insert(c.doc_key.clone()))
                .collect()
        } else {
            candidates
        };
        if chosen.len() >= opts.limit || exhausted {
            break chosen;
        }
        fetch = fetch.saturating_mul(4).min(total);
    };

    let mut generator = SnippetGenerator::create(searcher, query, fields.body)?;
    generator.set_max_num_chars(SNIPPET_CHARS);
    Ok(chosen
        .into_iter()
        .take(opts.limit)
        .map(|c| to_hit(c, fields, &generator))
        .collect())
}

fn to_hit(candidate: Candidate, fields: &Fields, generator: &SnippetGenerator) -> Hit {
    let Candidate {
        score,
        doc,
        passage_id,
        doc_key: (source, doc_id),
    } = candidate;
    let body = text(&doc, fields.body).unwrap_or_default();
    let snippet = generator.snippet(&body);
    let (plain, html) = if snippet.is_empty() {
        let basis = if body.trim().is_empty() {
            text(&doc, fields.teaser).unwrap_or_default()
        } else {
            body.clone()
        };
        let lead = leading_text(&basis, SNIPPET_CHARS);
        let html = escape_html(&lead);
        (lead, html)
    } else {
        render_snippet(snippet.fragment(), snippet.highlighted())
    };
    Hit {
        doc_id,
        passage_id,
        source,
        kind: text(&doc, fields.kind),
        title: text(&doc, fields.title).unwrap_or_default(),
        url: text(&doc, fields.url).unwrap_or_default(),
        licence: text(&doc, fields.licence).unwrap_or_default(),
        attribution: text(&doc, fields.attribution),
        text: body,
        snippet: plain,
        snippet_html: html,
        score,
    }
}

/// The stored passages `(source, passage_id)` as hits with the given scores, in the given
/// order; ids no longer in the index are skipped. Used for passages found by dense retrieval,
/// which have no query terms to highlight: the snippet is the passage's leading text.
pub fn by_passage_ids(
    searcher: &Searcher,
    fields: &Fields,
    wanted: &[(String, String, f32)],
) -> Result<Vec<Hit>> {
    use tantivy::Term;
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::schema::IndexRecordOption;
    let mut hits = Vec::with_capacity(wanted.len());
    for (source, passage_id, score) in wanted {
        let term = |field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let query = BooleanQuery::new(vec![
            (Occur::Must, term(fields.source, source)),
            (Occur::Must, term(fields.passage_id, passage_id)),
        ]);
        let Some((_, address)) = searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())?
            .pop()
        else {
            continue;
        };
        let doc: TantivyDocument = searcher.doc(address)?;
        let body = text(&doc, fields.body).unwrap_or_default();
        let basis = if body.trim().is_empty() {
            text(&doc, fields.teaser).unwrap_or_default()
        } else {
            body.clone()
        };
        let snippet = leading_text(&basis, SNIPPET_CHARS);
        hits.push(Hit {
            doc_id: text(&doc, fields.doc_id).unwrap_or_default(),
            passage_id: passage_id.clone(),
            source: source.clone(),
            kind: text(&doc, fields.kind),
            title: text(&doc, fields.title).unwrap_or_default(),
            url: text(&doc, fields.url).unwrap_or_default(),
            licence: text(&doc, fields.licence).unwrap_or_default(),
            attribution: text(&doc, fields.attribution),
            text: body,
            snippet_html: escape_html(&snippet),
            snippet,
            score: *score,
        });
    }
    Ok(hits)
}

/// Renders a fragment with highlighted byte ranges as `(plain, html)`.
///
/// Text before a line break that precedes the first highlight is dropped (it belongs to the
/// previous paragraph); the result is trimmed. Highlights are merged when they overlap and
/// wrapped in `<mark>…</mark>`; all text is HTML-escaped.
pub fn render_snippet(fragment: &str, highlighted: &[Range<usize>]) -> (String, String) {
    let mut sorted: Vec<Range<usize>> = highlighted
        .iter()
        .filter(|r| r.start < r.end && r.end <= fragment.len())
        .cloned()
        .collect();
    sorted.sort_by_key(|r| (r.start, r.end));
    let mut ranges: Vec<Range<usize>> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match ranges.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => ranges.push(range),
        }
    }
    let first = ranges.first().map_or(0, |r| r.start);
    let mut start = fragment[..first].rfind('\n').map_or(0, |i| i + 1);
    start += fragment[start..].len() - fragment[start..].trim_start().len();
    let end = start + fragment[start..].trim_end().len();

    let mut html = String::with_capacity(end - start + 16 * ranges.len());
    let mut pos = start;
    for range in ranges {
        let (from, to) = (range.start.max(pos), range.end.min(end));
        if from >= to {
            continue;
        }
        html.push_str(&escape_html(&fragment[pos..from]));
        html.push_str("<mark>");
        html.push_str(&escape_html(&fragment[from..to]));
        html.push_str("</mark>");
        pos = to;
    }
    if pos < end {
        html.push_str(&escape_html(&fragment[pos..end]));
    }
    (fragment[start..end].to_string(), html)
}

/// The first `max_chars` characters of `text`, cut back to a word boundary, with "…" appended
/// when something was cut.
pub fn leading_text(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    let Some((cut, _)) = text.char_indices().nth(max_chars) else {
        return text.to_string();
    };
    let head = &text[..cut];
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if space > 0 => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end())
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_text_cuts_at_word_boundaries() {
        assert_eq!(leading_text("  kurz  ", 200), "kurz");
        assert_eq!(leading_text("eins zwei drei", 7), "eins…");
        assert_eq!(leading_text("Bürgerbürobürgerbüro", 5), "Bürge…");
        assert_eq!(leading_text("ääää ääää", 6), "ääää…");
        assert_eq!(leading_text("", 10), "");
    }

    #[test]
    fn snippets_start_at_the_matching_line_and_merge_highlights() {
        let fragment = "drohen kann.\nDen Personalausweis <b> beantragen ";
        let (plain, html) = render_snippet(fragment, &[17..32, 37..47]);
        assert_eq!(plain, "Den Personalausweis <b> beantragen");
        assert_eq!(
            html,
            "Den <mark>Personalausweis</mark> &lt;b&gt; <mark>beantragen</mark>"
        );
        let (plain, html) = render_snippet("Hund und Hundesteuer", &[9..20, 0..4, 9..13]);
        assert_eq!(plain, "Hund und Hundesteuer");
        assert_eq!(html, "<mark>Hund</mark> und <mark>Hundesteuer</mark>");
        assert_eq!(render_snippet("", &[]), (String::new(), String::new()));
        assert_eq!(
            render_snippet("abc", &[2..9, 0..0]).1,
            "abc",
            "out-of-range highlights are ignored"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;"
        );
        assert_eq!(escape_html("Straße"), "Straße");
    }
}
