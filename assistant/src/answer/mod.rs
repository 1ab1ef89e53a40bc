//! Retrieval-augmented answering: question → passages → (LLM | extractive) → numbered citations.
//!
//! The [`Assistant`] owns the search index handle and, optionally, a loaded [`LocalLlm`]. With a
//! model, the numbered passages go into a grounded prompt ([`prompt`]) and the model's answer is
//! checked so that every `[n]` it uses points at a passage that was given ([`citations`]). Without
//! a model, an extractive answer made of the most relevant sentences is returned, labelled as such
//! ([`extractive`]). When retrieval finds nothing, the answer says so and names the contact.
//! Questions about individual persons are refused before retrieval ([`guard`]).

pub mod citations;
pub mod extractive;
pub mod guard;
pub mod language;
pub mod prompt;

use std::sync::{Arc, Mutex};

use allmende_search::{Hit, SearchIndex, SearchOptions};
use serde::{Deserialize, Serialize};

use crate::llm::{ChatMessage, FinishReason, GenerationParams, LocalLlm};
use crate::{Error, Result};

/// The `[assistant]` section of `allmende.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantConfig {
    /// Longest question accepted, in characters.
    pub max_question_chars: usize,
    /// Passages put in front of the model.
    pub passages: usize,
    /// Tokens the model may generate.
    pub max_tokens: usize,
    /// Sampling temperature (0 = greedy).
    pub temperature: f64,
    /// Who citizens should contact when the assistant cannot help.
    pub contact: String,
    /// The municipality's name, used in the prompt.
    pub municipality: String,
    /// Document sources answers may draw on (e.g. `musterstadt.leistungen`); empty means all.
    /// A municipality's assistant should only cite its own services.
    pub sources: Vec<String>,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        Self {
            max_question_chars: allmende_search::MAX_QUERY_CHARS,
            passages: 3,
            max_tokens: 200,
            temperature: 0.0,
            contact: "das Bürgertelefon der Stadt (Telefon 115)".into(),
            municipality: "Musterstadt".into(),
            sources: vec![
                "musterstadt.leistungen".into(),
                "musterstadt.dienststellen".into(),
            ],
        }
    }
}

/// One numbered source of an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    /// The number used in the text, `[number]`.
    pub number: usize,
    /// Document title.
    pub title: String,
    /// Link to the official page.
    pub url: String,
    /// Licence of the source text.
    pub licence: String,
    /// Attribution text, when the licence asks for one.
    pub attribution: Option<String>,
    /// Id of the source document.
    pub doc_id: String,
    /// Id of the passage.
    pub passage_id: String,
}

/// How an answer was produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerMode {
    /// Written by the local language model from the cited passages.
    Generated { model: String },
    /// Assembled from passages without a language model.
    Extractive,
    /// Nothing relevant was found; the answer points to a human contact.
    NoSources,
    /// The question (or the model's answer) broke a rule; refused with the right route.
    Refused { reason: guard::RefusalReason },
}

/// An answer with its sources.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The answer text with `[n]` markers.
    pub text: String,
    /// The sources the markers refer to.
    pub citations: Vec<Citation>,
    /// How the answer was made.
    pub mode: AnswerMode,
}

/// The assistant: retrieval plus (optionally) a local model.
pub struct Assistant {
    index: Arc<SearchIndex>,
    llm: Option<Mutex<LocalLlm>>,
    /// Read once at construction: asking the locked model would wait for a running generation.
    model_name: Option<String>,
    config: AssistantConfig,
}

impl Assistant {
    /// An assistant over `index`; `llm` is `None` for extractive mode.
    pub fn new(index: Arc<SearchIndex>, llm: Option<LocalLlm>, config: AssistantConfig) -> Self {
        let model_name = llm.as_ref().map(|m| m.model_name().to_string());
        Self {
            index,
            llm: llm.map(Mutex::new),
            model_name,
            config,
        }
    }

    /// The name of the loaded model, if any.
    pub fn model_name(&self) -> Option<&str> {
        self.model_name.as_deref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &AssistantConfig {
        &self.config
    }

    /// Validates the question (non-empty, not too long) and returns it trimmed.
    pub fn validate<'q>(&self, question: &'q str) -> Result<&'q str> {
        let q = question.trim();
        if q.is_empty() {
            return Err(Error::EmptyQuestion);
        }
        let len = q.chars().count();
        if len > self.config.max_question_chars {
            return Err(Error::QuestionTooLong {
                len,
                max: self.config.max_question_chars,
            });
        }
        Ok(q)
    }

    /// Answers a question. Blocking (the model runs on this thread): call it from a blocking
    /// task in async code.
    pub fn answer(&self, question: &str) -> Result<Answer> {
        self.answer_streaming(question, &mut |_| {})
    }

    /// Answers a question like [`Assistant::answer`], passing the model's text to `on_token`
    /// piece by piece as it is generated. Answers made without the model (extractive, refused,
    /// no sources) are passed in one piece. Blocking: call it from a blocking task.
    ///
    /// The returned [`Answer::text`] is authoritative and may differ from the streamed text:
    /// citation markers are renumbered or removed and a cut-off answer ends at a whole sentence.
    pub fn answer_streaming(
        &self,
        question: &str,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Answer> {
        let question = self.validate(question)?;
        let whole = |answer: Answer, on_token: &mut dyn FnMut(&str)| {
            on_token(&answer.text);
            Ok(answer)
        };
        if let Some(refusal) = guard::check_question(question, &self.config.contact) {
            tracing::info!(reason = ?refusal.reason, "refused a question");
            return whole(refused(refusal), on_token);
        }
        let hits = self.retrieve(question)?;
        if hits.is_empty() {
            let answer = Answer {
                text: extractive::no_sources_text(&self.config.contact),
                citations: Vec::new(),
                mode: AnswerMode::NoSources,
            };
            return whole(answer, on_token);
        }
        let Some(llm) = &self.llm else {
            return whole(extractive::answer(question, &hits), on_token);
        };
        let mut llm = llm.lock().unwrap_or_else(|p| p.into_inner());
        let (messages, used) = self.fit_prompt(&llm, question, &hits)?;
        let hits = &hits[..used];
        let params = GenerationParams {
            max_tokens: self.config.max_tokens,
            temperature: self.config.temperature,
            ..GenerationParams::default()
        };
        let generation = llm.generate(&messages, &params, on_token)?;
        tracing::info!(
            prompt_tokens = generation.prompt_tokens,
            completion_tokens = generation.completion_tokens,
            prompt_ms = generation.prompt_ms,
            generation_ms = generation.generation_ms,
            "generated answer"
        );
        let text = match generation.finish_reason {
            FinishReason::Length => cut_to_last_sentence(&generation.text),
            FinishReason::Stop => generation.text.clone(),
        };
        let (text, citations) = citations::resolve(&text, hits);
        if let Some(refusal) = guard::check_answer(&text, &self.config.contact) {
            tracing::warn!(reason = ?refusal.reason, "withheld a generated answer");
            return Ok(refused(refusal));
        }
        Ok(Answer {
            text,
            citations,
            mode: AnswerMode::Generated {
                model: llm.model_name().to_string(),
            },
        })
    }

    /// Builds the prompt from as many passages as fit the model's context next to the answer's
    /// token budget: drops the weakest passages first, then shortens the remaining one.
    /// Returns the messages and how many passages they use.
    fn fit_prompt(
        &self,
        llm: &LocalLlm,
        question: &str,
        hits: &[Hit],
    ) -> Result<(Vec<ChatMessage>, usize)> {
        // Per-message overhead of the chat template (role markers, newlines).
        const TEMPLATE_TOKENS: usize = 8;
        let budget = llm
            .context_length()
            .saturating_sub(self.config.max_tokens + TEMPLATE_TOKENS);
        let (mut used, mut max_chars) = (hits.len(), prompt::MAX_PASSAGE_CHARS);
        loop {
            let messages = prompt::messages(&self.config, question, &hits[..used], max_chars);
            let mut tokens = 0;
            for m in &messages {
                tokens += llm.count_tokens(&m.content)? + TEMPLATE_TOKENS;
            }
            if tokens <= budget {
                return Ok((messages, used));
            }
            if used > 1 {
                used -= 1;
            } else if max_chars > 100 {
                max_chars /= 2;
            } else {
                return Err(Error::Model(format!(
                    "the model's context ({} tokens) cannot hold the question and one passage next to {} answer tokens",
                    llm.context_length(),
                    self.config.max_tokens
                )));
            }
        }
    }

    /// The passages an answer to `question` would be grounded in.
    pub fn retrieve(&self, question: &str) -> Result<Vec<Hit>> {
        let opts = SearchOptions {
            limit: self.config.passages,
            one_hit_per_document: true,
            sources: self.config.sources.clone(),
        };
        Ok(self.index.search(question, &opts)?)
    }
}

fn refused(refusal: guard::Refusal) -> Answer {
    Answer {
        text: refusal.text,
        citations: Vec::new(),
        mode: AnswerMode::Refused {
            reason: refusal.reason,
        },
    }
}

/// An answer cut off by the token limit ends at its last complete sentence (when that keeps at
/// least half of it), so citizens never read a sentence that stops mid-word.
fn cut_to_last_sentence(text: &str) -> String {
    let end = text.rfind(['.', '!', '?']).map(|i| i + 1);
    match end {
        Some(end) if end >= text.len() / 2 => text[..end].to_string(),
        _ => format!("{} …", text.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::cut_to_last_sentence;

    #[test]
    fn truncated_answers_end_with_a_whole_sentence() {
        assert_eq!(
            cut_to_last_sentence("Erster Satz. Zweiter Satz [1]. Dritter Sa"),
            "Erster Satz. Zweiter Satz [1]."
        );
        assert_eq!(
            cut_to_last_sentence("Kurz. Dann ein sehr langer Satz ohne Ende und noch mehr"),
            "Kurz. Dann ein sehr langer Satz ohne Ende und noch mehr …"
        );
    }
}
