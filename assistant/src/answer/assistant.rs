//! [`Assistant`]: the answering flow (guard → facts + retrieval → model or extractive →
//! citations → output guard).

use std::sync::Arc;

use allmende_search::dense::DenseRetriever;
use allmende_search::{Hit, SearchIndex};

use super::gate::{Gate, GateStats, Stage};
use super::language::{self, AnswerStyle, Language};
use super::{
    Answer, AnswerMode, AnswerRequest, AssistantConfig, citations, extractive, guard, prompt,
    refused, retrieval,
};
use crate::cancel::deadline_passed;
use crate::facts::Fact;
use crate::llm::{ChatMessage, FinishReason, GenerationParams, LocalLlm};
use crate::pii::Scrubbed;
use crate::{Error, Result};

/// The assistant: retrieval plus (optionally) a local model behind a bounded queue.
pub struct Assistant {
    index: Arc<SearchIndex>,
    dense: Option<DenseRetriever>,
    llm: Option<Arc<LocalLlm>>,
    retrieval_gate: Gate,
    generation_gate: Gate,
    config: AssistantConfig,
}

impl Assistant {
    /// An assistant over `index`; `llm` is `None` for extractive mode.
    pub fn new(index: Arc<SearchIndex>, llm: Option<LocalLlm>, config: AssistantConfig) -> Self {
        Self {
            index,
            dense: None,
            llm: llm.map(Arc::new),
            retrieval_gate: Gate::new(
                Stage::Retrieval,
                config.concurrent_retrievals,
                config.max_waiting_retrievals,
            ),
            generation_gate: Gate::new(
                Stage::Generation,
                config.concurrent_generations,
                config.max_waiting,
            )
            .with_max_wait(std::time::Duration::from_secs(
                config.max_queue_wait_seconds,
            )),
            config,
        }
    }

    /// Adds dense retrieval: answers are then grounded in BM25 and e5 results fused (see
    /// [`retrieval`]).
    pub fn with_dense(mut self, dense: DenseRetriever) -> Self {
        self.dense = Some(dense);
        self
    }

    /// Whether dense retrieval is active.
    pub fn has_dense(&self) -> bool {
        self.dense.as_ref().is_some_and(|d| !d.is_empty())
    }

    /// The name of the loaded model, if any.
    pub fn model_name(&self) -> Option<&str> {
        self.llm.as_deref().map(LocalLlm::model_name)
    }

    /// The loaded model, if any (shared; it serves several generations at once).
    pub fn llm(&self) -> Option<&Arc<LocalLlm>> {
        self.llm.as_ref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &AssistantConfig {
        &self.config
    }

    /// Occupancy of the generation queue.
    pub fn queue(&self) -> GateStats {
        self.generation_gate.stats()
    }

    /// Occupancy of the retrieval queue.
    pub fn retrieval_queue(&self) -> GateStats {
        self.retrieval_gate.stats()
    }

    /// Fails with [`Error::Busy`] when a question arriving now could not get a generation
    /// slot: callers check this before any work of their own (fact lookups, retrieval), so an
    /// overloaded server turns questions away cheaply. Advisory; answering checks again.
    pub fn admit(&self) -> Result<()> {
        if self.llm.is_some() {
            self.generation_gate.admit()?;
        }
        Ok(())
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

    /// Answers a question with default options. Blocking (the model runs on this thread): call
    /// it from a blocking task in async code.
    pub fn answer(&self, question: &str) -> Result<Answer> {
        self.answer_request(&AnswerRequest::new(question), &mut |_| {})
    }

    /// [`Self::answer`], streaming the model's text to `on_token`.
    pub fn answer_streaming(
        &self,
        question: &str,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Answer> {
        self.answer_request(&AnswerRequest::new(question), on_token)
    }

    /// Answers a request, passing the model's text to `on_token` piece by piece as it is
    /// generated. Answers made without the model (extractive, refused, no sources) are passed
    /// in one piece. Blocking: call it from a blocking task. Fails with [`Error::Busy`] when
    /// the generation queue is full.
    ///
    /// The returned [`Answer::text`] is authoritative and may differ from the streamed text:
    /// citation markers are renumbered or removed, a cut-off answer ends at a whole sentence,
    /// and an answer the output guard rejects is replaced by a refusal.
    pub fn answer_request(
        &self,
        request: &AnswerRequest,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Answer> {
        let question = self.validate(&request.question)?;
        let language = request
            .language
            .unwrap_or_else(|| language::detect(question));
        let mut answer = self.answer_in(question, language, request, on_token)?;
        answer.language = language;
        Ok(answer)
    }

    fn answer_in(
        &self,
        question: &str,
        language: Language,
        request: &AnswerRequest,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Answer> {
        let whole = |answer: Answer, on_token: &mut dyn FnMut(&str)| {
            on_token(&answer.text);
            Ok(answer)
        };
        if let Some(refusal) = guard::check_question(question, &self.config.contact) {
            tracing::info!(reason = ?refusal.reason, question = %Scrubbed(question), "refused a question");
            return whole(refused(refusal), on_token);
        }
        // A question the model could not take now is refused before retrieval spends CPU.
        self.admit()?;
        let mut sources: Vec<Hit> = request.facts.iter().map(fact_source).collect();
        let mut retrieved = self.retrieve_by(question, request.deadline)?;
        // Passages carrying injected instructions or register-like data never reach the
        // model or an extractive answer.
        guard::screen_passages(&mut retrieved);
        sources.extend(retrieved);
        if sources.is_empty() {
            let text = extractive::no_sources_text(&self.config.contact, language);
            return whole(answer_without_sources(text), on_token);
        }
        let Some(llm) = &self.llm else {
            let mut answer = extractive::answer(question, &sources);
            attach_queries(&mut answer.citations, &request.facts);
            return whole(answer, on_token);
        };
        let extractive_instead = |why: &str| {
            tracing::warn!(
                reason = why,
                "answering extractively: no time left to generate"
            );
            let mut answer = extractive::answer(question, &sources);
            attach_queries(&mut answer.citations, &request.facts);
            answer
        };
        // Waiting for the model ends at the request's deadline too; the sources are then
        // answered extractively rather than not at all.
        let _permit = match self.generation_gate.acquire_by(request.deadline) {
            Ok(permit) => permit,
            Err(Error::Busy { .. }) if deadline_passed(request.deadline) => {
                return whole(
                    extractive_instead("the deadline passed waiting for the model"),
                    on_token,
                );
            }
            Err(error) => return Err(error),
        };
        if request.cancel.is_cancelled() {
            // Gave up while waiting in the queue: the slot goes to the next one at once.
            return Err(Error::Cancelled);
        }
        if deadline_passed(request.deadline) {
            return whole(
                extractive_instead("the deadline passed in the queue"),
                on_token,
            );
        }
        let (messages, used) = self.fit_prompt(llm, question, language, request.style, &sources)?;
        let sources = &sources[..used];
        let params = GenerationParams {
            max_tokens: self.config.max_tokens,
            temperature: self.config.temperature,
            // Small models sometimes run on into a copy of the prompt's layout: stop there.
            stop: prompt::ECHO_STOPS.iter().map(|s| s.to_string()).collect(),
            cancel: request.cancel.clone(),
            deadline: request.deadline,
            ..GenerationParams::default()
        };
        let generation = llm.generate(&messages, &params, on_token)?;
        tracing::info!(
            prompt_tokens = generation.prompt_tokens,
            cached_prompt_tokens = generation.cached_prompt_tokens,
            completion_tokens = generation.completion_tokens,
            prompt_ms = generation.prompt_ms,
            generation_ms = generation.generation_ms,
            "generated answer"
        );
        let text = match generation.finish_reason {
            FinishReason::Length | FinishReason::Deadline => cut_to_last_sentence(&generation.text),
            FinishReason::Stop => generation.text.clone(),
        };
        if generation.finish_reason == FinishReason::Deadline && text.trim().is_empty() {
            return whole(
                extractive_instead("the deadline passed before a sentence"),
                on_token,
            );
        }
        let text = plain_text(&text);
        let (text, mut citations) = citations::resolve(&text, sources);
        if let Some(refusal) = guard::check_answer(&text, &self.config.contact) {
            tracing::warn!(reason = ?refusal.reason, "withheld a generated answer");
            return Ok(refused(refusal));
        }
        attach_queries(&mut citations, &request.facts);
        Ok(Answer {
            text,
            citations,
            mode: AnswerMode::Generated {
                model: llm.model_name().to_string(),
            },
            language,
        })
    }

    /// Builds the prompt from as many sources as fit the model's context next to the answer's
    /// token budget: drops the weakest sources first, then shortens the remaining one.
    /// Returns the messages and how many sources they use.
    fn fit_prompt(
        &self,
        llm: &LocalLlm,
        question: &str,
        language: Language,
        style: AnswerStyle,
        sources: &[Hit],
    ) -> Result<(Vec<ChatMessage>, usize)> {
        // Per-message overhead of the chat template (role markers, newlines).
        const TEMPLATE_TOKENS: usize = 8;
        let budget = llm
            .context_length()
            .saturating_sub(self.config.max_tokens + TEMPLATE_TOKENS);
        let (mut used, mut max_chars) = (sources.len(), prompt::MAX_PASSAGE_CHARS);
        let options = prompt::PromptOptions { language, style };
        loop {
            let messages = prompt::messages(
                &self.config,
                &options,
                question,
                &sources[..used],
                max_chars,
            );
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

    /// The passages an answer to `question` would be grounded in. Runs behind the bounded
    /// retrieval queue: fails with [`Error::Busy`] when it is full. Blocking.
    pub fn retrieve(&self, question: &str) -> Result<Vec<Hit>> {
        self.retrieve_by(question, None)
    }

    /// [`Self::retrieve`], waiting for the retrieval queue at most until `deadline`.
    fn retrieve_by(
        &self,
        question: &str,
        deadline: Option<std::time::Instant>,
    ) -> Result<Vec<Hit>> {
        let _permit = self.retrieval_gate.acquire_by(deadline)?;
        retrieval::retrieve(&self.index, self.dense.as_ref(), question, &self.config)
    }
}

/// Id prefix of sources made from facts.
const FACT_PREFIX: &str = "data:";

/// A fact as a numbered source for the prompt and the citation list.
fn fact_source(fact: &Fact) -> Hit {
    let doc_id = format!("{FACT_PREFIX}{}", fact.table);
    Hit {
        passage_id: format!("{doc_id}#0"),
        doc_id,
        source: fact.table.clone(),
        kind: Some("data".into()),
        title: fact.title.clone(),
        url: String::new(),
        licence: fact.licence.clone(),
        attribution: fact.attribution.clone(),
        text: fact.text.clone(),
        snippet: fact.text.clone(),
        snippet_html: String::new(),
        score: f32::MAX,
    }
}

/// Adds the query and table to the citations of facts, so readers can check the number.
fn attach_queries(citations: &mut [super::Citation], facts: &[Fact]) {
    for citation in citations {
        let Some(table) = citation.doc_id.strip_prefix(FACT_PREFIX) else {
            continue;
        };
        if let Some(fact) = facts.iter().find(|f| f.table == table) {
            citation.sql = Some(fact.sql.clone());
            citation.table = Some(fact.table.clone());
        }
    }
}

fn answer_without_sources(text: String) -> Answer {
    Answer {
        text,
        citations: Vec::new(),
        mode: AnswerMode::NoSources,
        language: Language::De,
    }
}

/// Removes Markdown emphasis and headings the small models add despite the prompt (the widget
/// shows plain text, where `**` and `###` are noise), and a leading "Quellen:"/"Antwort:" label
/// copied from the prompt's layout.
fn plain_text(text: &str) -> String {
    let mut text = text.trim_start();
    for label in ["Quellen:", "Quelle:", "Antwort:", "Sources:", "Answer:"] {
        if let Some(rest) = text.strip_prefix(label) {
            text = rest.trim_start();
        }
    }
    text.lines()
        .map(|line| line.trim_start_matches('#').trim_start())
        .collect::<Vec<_>>()
        .join("\n")
        .replace("**", "")
        .replace("__", "")
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
    use super::{cut_to_last_sentence, plain_text};

    #[test]
    fn markdown_emphasis_and_headings_are_removed() {
        assert_eq!(
            plain_text("### Schritte\n1. **Termin** buchen [1]\n- __Ausweis__ mitbringen"),
            "Schritte\n1. Termin buchen [1]\n- Ausweis mitbringen"
        );
        assert_eq!(
            plain_text("Quellen:\n\n[1] Wohnsitz ummelden\nText."),
            "[1] Wohnsitz ummelden\nText."
        );
    }

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
