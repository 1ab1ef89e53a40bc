//! Retrieval evaluation: a development set of (question → relevant document ids) pairs and
//! the metrics of a ranking over it.
//!
//! The harness does not know how documents are ranked. A *ranker* is any function from a
//! question to document ids, best first — BM25 through [`crate::SearchIndex::search`], a dense
//! retriever, a hybrid fused with [`crate::fusion::reciprocal_rank_fusion`], or a test closure:
//!
//! ```
//! use allmende_search::eval::{EvalSet, evaluate};
//!
//! let set = EvalSet::from_toml(r#"
//!     [[question]]
//!     q = "Perso abgelaufen"
//!     relevant = ["ms-leistung-001"]
//!     source = "musterstadt.leistungen"
//! "#)?;
//! let report = evaluate(&set, |_question| vec!["ms-leistung-004".into(), "ms-leistung-001".into()]);
//! assert_eq!(report.success_at(1), Some(0.0));
//! assert_eq!(report.success_at(5), Some(1.0));
//! assert_eq!(report.mrr, 0.5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Metrics
//!
//! Ranks count from 1 and only the first [`MAX_RANK`] ids of a ranking are looked at;
//! duplicates of an id already seen in a ranking are ignored.
//!
//! - **success@k** ([`EvalReport::recall_at`], the number usually reported as "recall@k" for
//!   question answering): the share of questions with *at least one* relevant document among
//!   the first k. This is what matters for a cited answer — one good passage suffices.
//! - **recall@k** in the classic sense ([`EvalReport::classic_recall_at`]): found relevant
//!   documents / all relevant documents, averaged over questions. It equals success@k for
//!   questions with a single relevant document.
//! - **MRR**: the mean over questions of 1 / (rank of the first relevant document), counting 0
//!   when none is within the first [`MAX_RANK`].
//!
//! # The set file
//!
//! TOML with one `[[question]]` table per entry (see `datasets/search_eval.toml`):
//! `q` (non-empty), `relevant` (non-empty list of doc ids), `source` (the indexed source the
//! ids belong to, e.g. `musterstadt.leistungen`; rankers restrict the search to it) and an
//! optional `note`. Unknown keys are rejected so that a typo (`relevent`) does not silently
//! turn into a question without judgments.

use std::collections::{BTreeSet, HashSet};
use std::convert::Infallible;

use serde::{Deserialize, Serialize};

/// The cut-offs reported by [`evaluate`].
pub const CUTOFFS: [usize; 3] = [1, 5, 10];

/// Rankings are looked at up to this rank; a relevant document further down counts as missed.
pub const MAX_RANK: usize = 10;

/// Why a set file could not be loaded.
///
/// Kept here rather than in [`crate::Error`]: it concerns a development data file, not the
/// index, and never reaches citizens.
#[derive(Debug, thiserror::Error)]
pub enum EvalSetError {
    /// The text is not valid TOML or has unknown or missing keys.
    #[error(
        "the evaluation set is not valid: {0} (expected [[question]] tables with q, relevant, \
         source and optional note)"
    )]
    Parse(#[from] toml::de::Error),
    /// A question is empty, has no relevant ids, or an empty id or source.
    #[error("question {index} of the evaluation set ({q:?}) is invalid: {reason}")]
    Invalid {
        /// 1-based position in the file.
        index: usize,
        /// The question text (possibly empty).
        q: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file has no questions at all.
    #[error("the evaluation set has no questions; add [[question]] tables")]
    Empty,
}

/// One question with its relevance judgments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvalQuestion {
    /// The question as a citizen would ask it.
    pub q: String,
    /// Every document id that answers it.
    pub relevant: Vec<String>,
    /// The indexed source the ids belong to (`source.table`).
    pub source: String,
    /// Why the question is interesting (colloquial, English, compound, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A development set: questions with relevance judgments.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSet {
    /// The questions, in file order.
    #[serde(rename = "question", default)]
    pub questions: Vec<EvalQuestion>,
}

impl EvalSet {
    /// Parses and validates a set file (see the module docs for the format).
    pub fn from_toml(text: &str) -> Result<Self, EvalSetError> {
        let set: EvalSet = toml::from_str(text)?;
        if set.questions.is_empty() {
            return Err(EvalSetError::Empty);
        }
        for (i, question) in set.questions.iter().enumerate() {
            let invalid = |reason: &str| EvalSetError::Invalid {
                index: i + 1,
                q: question.q.clone(),
                reason: reason.to_string(),
            };
            if question.q.trim().is_empty() {
                return Err(invalid("`q` is empty"));
            }
            if question.source.trim().is_empty() {
                return Err(invalid("`source` is empty"));
            }
            if question.relevant.is_empty() {
                return Err(invalid("`relevant` lists no document ids"));
            }
            if question.relevant.iter().any(|id| id.trim().is_empty()) {
                return Err(invalid("`relevant` contains an empty id"));
            }
            let distinct: HashSet<&str> = question.relevant.iter().map(String::as_str).collect();
            if distinct.len() != question.relevant.len() {
                return Err(invalid("`relevant` lists an id twice"));
            }
        }
        Ok(set)
    }

    /// The distinct sources the questions refer to, sorted.
    pub fn sources(&self) -> BTreeSet<&str> {
        self.questions.iter().map(|q| q.source.as_str()).collect()
    }

    /// Splits the set into the questions whose source satisfies `keep` and the rest.
    pub fn partition_by_source(&self, mut keep: impl FnMut(&str) -> bool) -> (EvalSet, EvalSet) {
        let (kept, dropped) = self
            .questions
            .iter()
            .cloned()
            .partition(|q| keep(&q.source));
        (EvalSet { questions: kept }, EvalSet { questions: dropped })
    }

    /// Number of questions.
    pub fn len(&self) -> usize {
        self.questions.len()
    }

    /// Whether the set has no questions.
    pub fn is_empty(&self) -> bool {
        self.questions.is_empty()
    }
}

/// The outcome of one question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionResult {
    /// The question.
    pub q: String,
    /// Its source.
    pub source: String,
    /// 1-based rank of the first relevant document within the first [`MAX_RANK`], if any.
    pub first_relevant_rank: Option<usize>,
    /// Relevant documents found within the first [`MAX_RANK`].
    pub relevant_found: usize,
    /// Relevant documents judged for the question.
    pub relevant_total: usize,
    /// The first three ids the ranker returned (to see what came instead on a miss).
    pub top: Vec<String>,
}

/// Metrics of one ranker over one set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Questions evaluated.
    pub questions: usize,
    /// `(k, success@k)` for each k of [`CUTOFFS`]: share of questions with at least one
    /// relevant document in the first k (see the module docs).
    pub recall_at: Vec<(usize, f64)>,
    /// `(k, recall@k)` in the classic sense: found relevant / all relevant, averaged.
    pub classic_recall_at: Vec<(usize, f64)>,
    /// Mean reciprocal rank of the first relevant document (0 beyond [`MAX_RANK`]).
    pub mrr: f64,
    /// One entry per question, in set order.
    pub per_question: Vec<QuestionResult>,
}

impl EvalReport {
    /// success@k for a k of [`CUTOFFS`].
    pub fn success_at(&self, k: usize) -> Option<f64> {
        self.recall_at
            .iter()
            .find(|(c, _)| *c == k)
            .map(|(_, v)| *v)
    }

    /// The questions without a relevant document in the first [`MAX_RANK`].
    pub fn misses(&self) -> impl Iterator<Item = &QuestionResult> {
        self.per_question
            .iter()
            .filter(|r| r.first_relevant_rank.is_none())
    }
}

/// Runs `ranker` on every question of `set` and computes the metrics.
pub fn evaluate(set: &EvalSet, mut ranker: impl FnMut(&EvalQuestion) -> Vec<String>) -> EvalReport {
    match try_evaluate(set, |q| Ok::<_, Infallible>(ranker(q))) {
        Ok(report) => report,
        Err(never) => match never {},
    }
}

/// Like [`evaluate`] for a ranker that can fail (e.g. a search); stops at the first error.
pub fn try_evaluate<E>(
    set: &EvalSet,
    mut ranker: impl FnMut(&EvalQuestion) -> Result<Vec<String>, E>,
) -> Result<EvalReport, E> {
    let mut per_question = Vec::with_capacity(set.questions.len());
    // ranks[i]: 1-based ranks of the distinct relevant documents of question i.
    let mut ranks: Vec<Vec<usize>> = Vec::with_capacity(set.questions.len());
    for question in &set.questions {
        let ranking = ranker(question)?;
        let relevant: HashSet<&str> = question.relevant.iter().map(String::as_str).collect();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut found = Vec::new();
        let distinct = ranking.iter().filter(|id| seen.insert(id.as_str()));
        for (i, id) in distinct.take(MAX_RANK).enumerate() {
            if relevant.contains(id.as_str()) {
                found.push(i + 1);
            }
        }
        per_question.push(QuestionResult {
            q: question.q.clone(),
            source: question.source.clone(),
            first_relevant_rank: found.first().copied(),
            relevant_found: found.len(),
            relevant_total: relevant.len(),
            top: ranking.iter().take(3).cloned().collect(),
        });
        ranks.push(found);
    }

    let n = per_question.len();
    let mean = |sum: f64| if n == 0 { 0.0 } else { sum / n as f64 };
    let recall_at = CUTOFFS
        .iter()
        .map(|&k| {
            let hits = per_question
                .iter()
                .filter(|r| r.first_relevant_rank.is_some_and(|rank| rank <= k))
                .count();
            (k, mean(hits as f64))
        })
        .collect();
    let classic_recall_at = CUTOFFS
        .iter()
        .map(|&k| {
            let sum: f64 = ranks
                .iter()
                .zip(&per_question)
                .map(|(found, r)| {
                    found.iter().filter(|&&rank| rank <= k).count() as f64
                        / r.relevant_total.max(1) as f64
                })
                .sum();
            (k, mean(sum))
        })
        .collect();
    let mrr = mean(
        per_question
            .iter()
            .filter_map(|r| r.first_relevant_rank)
            .map(|rank| 1.0 / rank as f64)
            .sum(),
    );
    Ok(EvalReport {
        questions: n,
        recall_at,
        classic_recall_at,
        mrr,
        per_question,
    })
}

/// Nearest-rank percentile (`p` in 0..=100) of `values`; `None` when empty. Sorts a copy.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = r#"
        [[question]]
        q = "Perso abgelaufen"
        relevant = ["a"]
        source = "s.one"
        note = "colloquial"

        [[question]]
        q = "Auto verkauft"
        relevant = ["b", "c"]
        source = "s.one"

        [[question]]
        q = "dog tax"
        relevant = ["d"]
        source = "s.two"
    "#;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_the_documented_format() {
        let set = EvalSet::from_toml(SET).unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.questions[0].note.as_deref(), Some("colloquial"));
        assert_eq!(set.questions[1].relevant, ids(&["b", "c"]));
        assert_eq!(
            set.sources().into_iter().collect::<Vec<_>>(),
            ["s.one", "s.two"]
        );
        let (one, two) = set.partition_by_source(|s| s == "s.one");
        assert_eq!((one.len(), two.len()), (2, 1));
    }

    #[test]
    fn rejects_invalid_sets() {
        let entry = |body: &str| format!("[[question]]\n{body}\n");
        let cases = [
            entry("q = \"\"\nrelevant = [\"a\"]\nsource = \"s\""),
            entry("q = \"x\"\nrelevant = []\nsource = \"s\""),
            entry("q = \"x\"\nrelevant = [\"\"]\nsource = \"s\""),
            entry("q = \"x\"\nrelevant = [\"a\", \"a\"]\nsource = \"s\""),
            entry("q = \"x\"\nrelevant = [\"a\"]\nsource = \" \""),
            entry("q = \"x\"\nrelevent = [\"a\"]\nsource = \"s\""),
            entry("q = \"x\"\nrelevant = [\"a\"]"),
            entry("q = \"x\"\nrelevant = [\"a\"]\nsource = \"s\"\nweight = 2"),
            String::new(),
            "title = \"set\"".to_string(),
        ];
        for text in cases {
            assert!(EvalSet::from_toml(&text).is_err(), "accepted: {text}");
        }
        let err =
            EvalSet::from_toml(&entry("q = \"x\"\nrelevant = []\nsource = \"s\"")).unwrap_err();
        assert!(err.to_string().contains("question 1"), "{err}");
    }

    #[test]
    fn metrics_match_a_hand_computed_example() {
        let set = EvalSet::from_toml(SET).unwrap();
        // Q1: relevant "a" at rank 2. Q2: "c" at rank 1, "b" at rank 7. Q3: "d" at rank 11
        // (beyond MAX_RANK: a miss).
        let report = evaluate(&set, |q| match q.q.as_str() {
            "Perso abgelaufen" => ids(&["x", "a", "y"]),
            "Auto verkauft" => ids(&["c", "1", "2", "3", "4", "5", "b"]),
            _ => ids(&["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "d"]),
        });
        assert_eq!(report.questions, 3);
        let ranks: Vec<_> = report
            .per_question
            .iter()
            .map(|r| r.first_relevant_rank)
            .collect();
        assert_eq!(ranks, [Some(2), Some(1), None]);
        assert_eq!(report.success_at(1), Some(1.0 / 3.0));
        assert_eq!(report.success_at(5), Some(2.0 / 3.0));
        assert_eq!(report.success_at(10), Some(2.0 / 3.0));
        assert_eq!(report.success_at(3), None);
        // Classic recall@5: (1 + 1/2 + 0) / 3; @10: (1 + 1 + 0) / 3.
        assert_eq!(report.classic_recall_at[1], (5, 0.5));
        assert_eq!(report.classic_recall_at[2], (10, 2.0 / 3.0));
        // MRR: (1/2 + 1 + 0) / 3.
        assert!((report.mrr - 0.5).abs() < 1e-12);
        let misses: Vec<_> = report.misses().map(|r| r.q.as_str()).collect();
        assert_eq!(misses, ["dog tax"]);
        assert_eq!(report.per_question[2].top, ids(&["0", "1", "2"]));
        assert_eq!(report.per_question[1].relevant_found, 2);
    }

    #[test]
    fn duplicates_do_not_push_documents_down_and_empty_rankings_miss() {
        let set = EvalSet::from_toml(SET).unwrap();
        let report = evaluate(&set, |q| {
            if q.q == "Perso abgelaufen" {
                ids(&["x", "x", "x", "a"])
            } else {
                Vec::new()
            }
        });
        assert_eq!(report.per_question[0].first_relevant_rank, Some(2));
        assert_eq!(report.misses().count(), 2);
        assert_eq!(evaluate(&EvalSet::default(), |_| Vec::new()).mrr, 0.0);
    }

    #[test]
    fn ranker_errors_stop_the_evaluation() {
        let set = EvalSet::from_toml(SET).unwrap();
        let mut calls = 0;
        let result = try_evaluate(&set, |_| {
            calls += 1;
            Err::<Vec<String>, _>("index gone")
        });
        assert_eq!(result.unwrap_err(), "index gone");
        assert_eq!(calls, 1);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
