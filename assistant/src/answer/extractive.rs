//! The extractive answer used when no language model is configured: the sentences of the top
//! passages that share the most terms with the question, each followed by its citation, under a
//! label that says plainly that no language model wrote it.

use std::collections::HashSet;

use allmende_search::Hit;

use super::citations::citation;
use super::language::{self, Language};
use super::{Answer, AnswerMode};

/// Label put in front of every extractive answer.
pub const EXTRACTIVE_LABEL: &str =
    "Automatisch zusammengestellte Auszüge aus den offiziellen Informationen (ohne Sprachmodell):";

/// Passages quoted at most.
const MAX_SOURCES: usize = 3;
/// Sentences quoted per passage at most.
const SENTENCES_PER_SOURCE: usize = 2;

/// The answer when retrieval found nothing (German, or English for other languages).
pub fn no_sources_text(contact: &str, language: Language) -> String {
    let template = language::pick(
        language,
        "Dazu habe ich in den Informationen der Stadt leider nichts gefunden. Bitte wenden Sie sich an {contact}.",
        "I could not find anything about this in the city's information. Please contact {contact}.",
    );
    template.replace("{contact}", contact)
}

/// Builds the extractive answer from `hits` (best first).
pub fn answer(question: &str, hits: &[Hit]) -> Answer {
    let terms = terms(question);
    let mut text = String::from(EXTRACTIVE_LABEL);
    let mut citations = Vec::new();
    for (i, hit) in hits.iter().take(MAX_SOURCES).enumerate() {
        let number = i + 1;
        let quote = best_sentences(&hit.text, &terms, SENTENCES_PER_SOURCE);
        text.push_str(&format!("\n\n{}: {} [{number}]", hit.title, quote));
        citations.push(citation(number, hit));
    }
    Answer {
        text,
        citations,
        mode: AnswerMode::Extractive,
        language: Language::De,
    }
}

/// Lower-cased words of three or more letters (a crude but language-neutral term set).
fn terms(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect()
}

/// Overlap of a sentence with the question: whole words, plus shared 5-letter prefixes so that
/// "melde" meets "Ummeldung"-style inflections half-way.
fn score(sentence: &str, terms: &HashSet<String>) -> usize {
    let words = self::terms(sentence);
    terms
        .iter()
        .filter(|t| {
            words.contains(*t) || {
                let stem: String = t.chars().take(5).collect();
                stem.chars().count() == 5 && words.iter().any(|w| w.contains(&stem))
            }
        })
        .count()
}

/// The `n` best sentences of `text`, in their original order; the first sentence if none match.
fn best_sentences(text: &str, terms: &HashSet<String>, n: usize) -> String {
    let sentences: Vec<&str> = text
        .split_inclusive(['.', '!', '?', '\n'])
        .map(str::trim)
        .filter(|s| s.chars().count() > 3)
        .collect();
    let mut ranked: Vec<(usize, usize)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| (score(s, terms), i))
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = ranked
        .iter()
        .filter(|(s, _)| *s > 0)
        .take(n)
        .map(|(_, i)| *i)
        .collect();
    if chosen.is_empty() {
        chosen.push(0);
    }
    chosen.sort_unstable();
    chosen
        .iter()
        .filter_map(|&i| sentences.get(i))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_matching_sentences_in_order() {
        let text = "Allgemeines zur Stadt. Wer umzieht, muss sich ummelden. Die Frist beträgt zwei Wochen. Parken ist teuer.";
        let chosen = best_sentences(text, &terms("Welche Frist gilt beim Ummelden?"), 2);
        assert_eq!(
            chosen,
            "Wer umzieht, muss sich ummelden. Die Frist beträgt zwei Wochen."
        );
    }

    #[test]
    fn falls_back_to_the_first_sentence() {
        assert_eq!(
            best_sentences("Erster Satz. Zweiter Satz.", &terms("xyz"), 2),
            "Erster Satz."
        );
    }
}
