//! Splitting a document body into passages of roughly
//! [`MIN_PASSAGE_WORDS`]–[`MAX_PASSAGE_WORDS`] words.
//!
//! Passages are the unit of retrieval and citation: small enough that a hit points at the
//! relevant part of a long service description, large enough to carry context for the assistant.
//!
//! Rules:
//! - boundaries fall only between words (a passage is a byte slice of the body from the start
//!   of a word to the end of a word, original whitespace and line breaks kept), so every word of
//!   the body lands in exactly one passage, in order;
//! - sentences are kept together; a passage ends at a paragraph/line break once it has at least
//!   [`MIN_PASSAGE_WORDS`] words, and before a sentence that would push it past
//!   [`MAX_PASSAGE_WORDS`];
//! - a single "sentence" longer than [`MAX_PASSAGE_WORDS`] (lists without punctuation) is cut
//!   into near-equal chunks at word boundaries;
//! - a short body is a single passage; an empty body gives no passages;
//! - the split is a pure function of the text, so passage ids (`"{doc_id}#{n}"`) are stable.
//!
//! Sentence detection is a heuristic: a word ending in `.`, `!`, `?` or `…` ends a sentence,
//! except ordinals ("1."), initials and dotted abbreviations ("z.B.", "d. h.", "Nr.", "bzw."),
//! and a `.` followed by a lowercase word.

/// Passages stop growing at a paragraph break once they have this many words.
pub const MIN_PASSAGE_WORDS: usize = 80;
/// Passages never exceed this many words.
pub const MAX_PASSAGE_WORDS: usize = 150;

/// Abbreviations (lowercase, without the final dot) after which a `.` does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "abs", "art", "bspw", "bzw", "ca", "dr", "evtl", "gem", "ggf", "hr", "inkl", "mind", "nr",
    "prof", "sog", "str", "tel", "vgl", "zzgl",
];

/// Characters that may trail sentence punctuation (closing quotes and brackets).
const CLOSERS: &[char] = &[')', ']', '}', '"', '\'', '»', '«', '“', '”', '‘', '’'];

/// Formats the id of passage `n` of document `doc_id`.
pub fn passage_id(doc_id: &str, n: usize) -> String {
    format!("{doc_id}#{n}")
}

/// One whitespace-delimited word of the body, with its byte range and what follows it.
#[derive(Debug, Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
    /// The whitespace after this word contains a line break (or the body ends here).
    line_break_after: bool,
}

fn words(body: &str) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in body.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push(Word {
                    start: s,
                    end: i,
                    line_break_after: false,
                });
            }
            if (c == '\n' || c == '\r')
                && let Some(last) = out.last_mut()
            {
                last.line_break_after = true;
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(Word {
            start: s,
            end: body.len(),
            line_break_after: true,
        });
    }
    if let Some(last) = out.last_mut() {
        last.line_break_after = true;
    }
    out
}

/// Whether `word` ends a sentence, given the word after it (if any).
fn ends_sentence(word: &str, next: Option<&str>) -> bool {
    let trimmed = word.trim_end_matches(CLOSERS);
    if trimmed.ends_with(['!', '?', '…']) {
        return true;
    }
    let Some(core) = trimmed.strip_suffix('.') else {
        return false;
    };
    let core = core.trim_start_matches(|c: char| !c.is_alphanumeric());
    if core.is_empty()
        || core.chars().count() == 1
        || core.contains('.')
        || core.chars().all(|c| c.is_ascii_digit())
        || ABBREVIATIONS.contains(&core.to_lowercase().as_str())
    {
        return false;
    }
    match next.and_then(|n| n.chars().find(|c| c.is_alphanumeric())) {
        Some(c) => !c.is_lowercase(),
        None => true,
    }
}

/// Splits `body` into passages as described in the module docs.
pub fn split_passages(body: &str) -> Vec<String> {
    let words = words(body);
    if words.is_empty() {
        return Vec::new();
    }

    // Units: runs of words ending at a sentence end or a line break, as (first, last) indexes.
    let mut units: Vec<(usize, usize)> = Vec::new();
    let mut unit_start = 0;
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).map(|n| &body[n.start..n.end]);
        if w.line_break_after || ends_sentence(&body[w.start..w.end], next) {
            units.push((unit_start, i));
            unit_start = i + 1;
        }
    }

    let mut passages = Vec::new();
    let flush = |first: usize, last: usize, passages: &mut Vec<String>| {
        passages.push(body[words[first].start..words[last].end].to_string());
    };
    // Current passage as (first word, word count).
    let mut current: Option<(usize, usize)> = None;
    for &(first, last) in &units {
        let len = last - first + 1;
        if let Some((cur_first, cur_len)) = current
            && cur_len + len > MAX_PASSAGE_WORDS
        {
            flush(cur_first, cur_first + cur_len - 1, &mut passages);
            current = None;
        }
        if len > MAX_PASSAGE_WORDS {
            // Overlong unit: cut into near-equal chunks; the last one stays open.
            let chunks = len.div_ceil(MAX_PASSAGE_WORDS);
            let size = len.div_ceil(chunks);
            let mut start = first;
            while last + 1 - start > size {
                flush(start, start + size - 1, &mut passages);
                start += size;
            }
            current = Some((start, last + 1 - start));
        } else {
            current = match current {
                Some((cur_first, cur_len)) => Some((cur_first, cur_len + len)),
                None => Some((first, len)),
            };
        }
        if let Some((cur_first, cur_len)) = current
            && words[last].line_break_after
            && cur_len >= MIN_PASSAGE_WORDS
        {
            flush(cur_first, last, &mut passages);
            current = None;
        }
    }
    if let Some((cur_first, cur_len)) = current {
        flush(cur_first, cur_first + cur_len - 1, &mut passages);
    }
    passages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word_count(s: &str) -> usize {
        s.split_whitespace().count()
    }

    fn assert_invariants(body: &str) -> Vec<String> {
        let passages = split_passages(body);
        let joined = passages.join(" ");
        let got: Vec<&str> = joined.split_whitespace().collect();
        let want: Vec<&str> = body.split_whitespace().collect();
        assert_eq!(
            got, want,
            "every word must land in exactly one passage, in order"
        );
        for p in &passages {
            assert!(!p.trim().is_empty(), "empty passage");
            assert_eq!(p, p.trim(), "passages are trimmed");
            assert!(
                word_count(p) <= MAX_PASSAGE_WORDS,
                "passage too long: {}",
                word_count(p)
            );
        }
        assert_eq!(
            passages,
            split_passages(body),
            "splitting must be deterministic"
        );
        passages
    }

    /// A German-looking sentence of `n` words ending with a period.
    fn sentence(n: usize, seed: usize) -> String {
        let vocab = [
            "Die",
            "Stadt",
            "bietet",
            "Termine",
            "im",
            "Bürgerbüro",
            "an",
            "für",
            "alle",
        ];
        let mut words: Vec<&str> = (0..n).map(|i| vocab[(i + seed) % vocab.len()]).collect();
        words[0] = "Bürger";
        format!("{}.", words.join(" "))
    }

    #[test]
    fn empty_and_short_bodies() {
        assert!(split_passages("").is_empty());
        assert!(split_passages(" \n\t ").is_empty());
        let short = "Den Personalausweis beantragen Sie im Bürgerbüro. Bringen Sie ein Foto mit.";
        assert_eq!(assert_invariants(short), vec![short.to_string()]);
    }

    #[test]
    fn long_bodies_are_split_on_sentence_boundaries() {
        let body: String = (0..30)
            .map(|i| sentence(12, i))
            .collect::<Vec<_>>()
            .join(" ");
        let passages = assert_invariants(&body);
        assert!(passages.len() >= 3, "{} passages", passages.len());
        for p in &passages {
            assert!(
                p.ends_with('.'),
                "passage does not end at a sentence: {p:?}"
            );
            assert!(
                p.starts_with("Bürger"),
                "passage does not start a sentence: {p:?}"
            );
        }
    }

    #[test]
    fn paragraph_breaks_end_passages_once_long_enough() {
        let para = |seed: usize| {
            (0..8)
                .map(|i| sentence(12, seed + i))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let body = format!("{}\n\n{}\n\n{}", para(0), para(1), para(2));
        let passages = assert_invariants(&body);
        assert_eq!(passages.len(), 3);
        assert!(!passages[0].contains('\n'));
    }

    #[test]
    fn overlong_sentences_are_cut_at_word_boundaries() {
        let body = (0..400)
            .map(|i| format!("wort{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let passages = assert_invariants(&body);
        assert_eq!(passages.len(), 3);
        let counts: Vec<usize> = passages.iter().map(|p| word_count(p)).collect();
        assert_eq!(counts, vec![134, 134, 132]);
    }

    #[test]
    fn abbreviations_and_ordinals_do_not_end_sentences() {
        assert!(!ends_sentence("z.B.", Some("Ihr")));
        assert!(!ends_sentence("1.", Some("Januar")));
        assert!(!ends_sentence("Nr.", Some("5")));
        assert!(!ends_sentence("bzw.", Some("Pass")));
        assert!(!ends_sentence("B.", Some("Anna")));
        assert!(!ends_sentence("Amt.", Some("dann")));
        assert!(ends_sentence("Bürgerbüro.", Some("Bringen")));
        assert!(ends_sentence("mit.)", Some("Die")));
        assert!(ends_sentence("Wohnsitz?", Some("ja")));
        assert!(ends_sentence("Ende.", None));
        assert!(!ends_sentence("Hinweis:", Some("Bitte")));
    }

    #[test]
    fn ids_are_stable_and_numbered_from_zero() {
        assert_eq!(passage_id("svc-42", 0), "svc-42#0");
        let body: String = (0..40)
            .map(|i| sentence(10, i))
            .collect::<Vec<_>>()
            .join(" ");
        let a: Vec<String> = split_passages(&body)
            .iter()
            .enumerate()
            .map(|(n, _)| passage_id("d", n))
            .collect();
        assert_eq!(a.first().map(String::as_str), Some("d#0"));
        assert_eq!(a.len(), split_passages(&body).len());
    }

    #[test]
    fn odd_whitespace_and_scripts() {
        assert_invariants("Привет мир. 🐕 Hund!\r\n\r\nStraße\u{a0}Nr. 5\tfertig");
        assert_invariants("...");
        assert_invariants("a\nb\nc\n");
        let lines = (0..300)
            .map(|i| format!("- Punkt {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(assert_invariants(&lines).len() >= 6);
    }
}
