//! Local LLM inference with candle on quantised GGUF weights.
//!
//! [`LocalLlm::load`] reads a GGUF file (the same format llama.cpp uses), checks
//! `general.architecture` (`qwen2` via `candle_transformers::models::quantized_qwen2`, `llama`
//! via `quantized_llama`, e.g. SmolLM2), builds the BPE tokenizer from the GGUF metadata
//! ([`GgufTokenizer`]) and runs on the CPU. [`LocalLlm::generate`] renders a chat in ChatML
//! ([`render_chatml`]), prefills the prompt, samples with candle's `LogitsProcessor` and streams
//! valid UTF-8 pieces to a callback.
//!
//! [`write_tiny_qwen2_gguf`] writes a tiny random-weight Qwen2 model in real GGUF format so tests
//! exercise exactly the code path of a real model without downloading weights.
//!
//! Module layout: `gguf` (metadata helpers and file checks), `tokenizer`, `model` (loading and
//! generation), `repack` (load-time conversion of Q4_1/Q5_0/Q5_1 tensors to Q8_0, which candle
//! has fast CPU kernels for), `stream` (UTF-8 buffering and stop strings), `tiny` (test model
//! writer).

mod decoder;
mod gguf;
mod model;
mod repack;
mod stream;
mod tiny;
mod tokenizer;

pub use decoder::PrefixCacheStats;
pub use model::{Accelerator, LoadOptions, LocalLlm, PREFILL_CHUNK};
pub use tiny::write_tiny_qwen2_gguf;
pub use tokenizer::GgufTokenizer;

use serde::{Deserialize, Serialize};

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model (tone, grounding rules, retrieved passages).
    System,
    /// The citizen's question.
    User,
    /// A previous model answer.
    Assistant,
}

impl Role {
    /// The role name as it appears in the chat template (`system`, `user`, `assistant`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// The text. Control-token strings such as `<|im_start|>` inside it are tokenised as plain
    /// text by [`LocalLlm::generate`], so user input cannot forge chat turns.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Sampling settings for [`LocalLlm::generate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationParams {
    /// Upper bound on generated tokens (the end-of-sequence token is not counted).
    pub max_tokens: usize,
    /// Softmax temperature; `0` (or anything below 1e-7) means greedy decoding.
    pub temperature: f64,
    /// Nucleus sampling threshold; `None` samples from the full distribution.
    pub top_p: Option<f64>,
    /// Seed of the sampler's RNG, so sampled answers are reproducible.
    pub seed: u64,
    /// Generation ends before the first occurrence of any of these strings; the stop string
    /// itself is neither returned nor streamed. Empty strings are ignored.
    pub stop: Vec<String>,
    /// Penalty for tokens among the last 64 *generated* tokens (1.0 disables it). Prompt tokens
    /// are not penalised, so quoting the retrieved passages stays cheap.
    pub repeat_penalty: f32,
    /// Stops the generation with [`crate::Error::Cancelled`] (checked before the prompt is
    /// processed and between tokens).
    #[serde(skip)]
    pub cancel: crate::cancel::CancelToken,
    /// Generation stops at this instant with [`FinishReason::Deadline`] and returns the text
    /// so far (checked before the prompt is processed and between tokens).
    #[serde(skip)]
    pub deadline: Option<std::time::Instant>,
}

impl Default for GenerationParams {
    fn default() -> Self {
        Self {
            max_tokens: 512,
            temperature: 0.2,
            top_p: Some(0.9),
            seed: 42,
            stop: Vec::new(),
            repeat_penalty: 1.1,
            cancel: crate::cancel::CancelToken::default(),
            deadline: None,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The model emitted an end-of-sequence token or a stop string was generated.
    Stop,
    /// `max_tokens` tokens were generated.
    Length,
    /// The deadline passed (see [`GenerationParams::deadline`]); the text so far is returned.
    Deadline,
}

/// The result of [`LocalLlm::generate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The generated text without the end-of-sequence token and without a stop string.
    pub text: String,
    /// Tokens of the rendered prompt.
    pub prompt_tokens: usize,
    /// Tokens sampled (without the end-of-sequence token).
    pub completion_tokens: usize,
    /// Prompt tokens whose attention state came from the prefix cache (not recomputed).
    pub cached_prompt_tokens: usize,
    /// Why generation ended.
    pub finish_reason: FinishReason,
    /// Wall time of the prompt prefill in milliseconds (includes the first token's logits).
    pub prompt_ms: f64,
    /// Wall time of sampling and the per-token forward passes in milliseconds.
    pub generation_ms: f64,
}

/// Renders a chat in ChatML, the format of Qwen2 and SmolLM2 instruct models:
/// `<|im_start|>{role}\n{content}<|im_end|>\n` per message, ending with the generation prompt
/// `<|im_start|>assistant\n`.
///
/// If `default_system` is given and the chat does not start with a system message, a system
/// message with that text is put first, as the models' own templates do (Qwen2.5: "You are
/// Qwen, created by Alibaba Cloud. …"; see [`LocalLlm::default_system_prompt`]).
///
/// The Jinja template in `tokenizer.chat_template` is not executed yet; models whose template
/// is not ChatML need a template engine, which is a later step. [`LocalLlm::generate`] tokenises
/// this same layout, with the control tokens as single ids and the contents as plain text.
pub fn render_chatml(messages: &[ChatMessage], default_system: Option<&str>) -> String {
    let mut out = String::new();
    for (role, content) in chat_turns(messages, default_system) {
        out.push_str("<|im_start|>");
        out.push_str(role.as_str());
        out.push('\n');
        out.push_str(content);
        out.push_str("<|im_end|>\n");
    }
    out.push_str("<|im_start|>assistant\n");
    out
}

/// The (role, content) turns that [`render_chatml`] renders, including the default system
/// message when one applies.
pub(crate) fn chat_turns<'a>(
    messages: &'a [ChatMessage],
    default_system: Option<&'a str>,
) -> Vec<(Role, &'a str)> {
    let mut turns = Vec::with_capacity(messages.len() + 1);
    if let Some(system) = default_system
        && messages.first().is_none_or(|m| m.role != Role::System)
    {
        turns.push((Role::System, system));
    }
    turns.extend(messages.iter().map(|m| (m.role, m.content.as_str())));
    turns
}

/// Extracts the default system prompt from a ChatML Jinja template: the literal text between
/// `<|im_start|>system\n` and `<|im_end|>` that contains no template syntax. Qwen2.5 and
/// SmolLM2 templates carry one; returns `None` when there is none.
pub(crate) fn default_system_from_template(template: &str) -> Option<String> {
    const START: &str = "<|im_start|>system\\n";
    let mut rest = template;
    while let Some(pos) = rest.find(START) {
        rest = &rest[pos + START.len()..];
        let Some(end) = rest.find("<|im_end|>") else {
            break;
        };
        let candidate = &rest[..end];
        let is_literal = !candidate.is_empty()
            && !candidate.contains(['\'', '"', '{', '}', '+'])
            && !candidate.contains("\\n");
        if is_literal {
            return Some(candidate.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_layout() {
        let chat = [
            ChatMessage::system("Sei knapp."),
            ChatMessage::user("Hallo?"),
        ];
        assert_eq!(
            render_chatml(&chat, Some("ignored")),
            "<|im_start|>system\nSei knapp.<|im_end|>\n<|im_start|>user\nHallo?<|im_end|>\n\
             <|im_start|>assistant\n"
        );
        let chat = [ChatMessage::user("Hi")];
        assert_eq!(
            render_chatml(&chat, Some("Default.")),
            "<|im_start|>system\nDefault.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
             <|im_start|>assistant\n"
        );
        assert_eq!(render_chatml(&[], None), "<|im_start|>assistant\n");
    }

    #[test]
    fn default_system_prompt_extraction() {
        let qwen = "{%- else %}\n {{- '<|im_start|>system\\n' + messages[0]['content'] + \
                    '<|im_end|>\\n' }}\n{%- else %}\n {{- '<|im_start|>system\\nYou are Qwen, \
                    created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}";
        assert_eq!(
            default_system_from_template(qwen).as_deref(),
            Some("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        );
        let plain = "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + \
                     m['content'] + '<|im_end|>\\n'}}{% endfor %}";
        assert_eq!(default_system_from_template(plain), None);
    }

    #[test]
    fn serde_names_are_lowercase() {
        let m = ChatMessage::assistant("x");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"role":"assistant","content":"x"}"#
        );
        assert_eq!(
            serde_json::to_string(&FinishReason::Length).unwrap(),
            r#""length""#
        );
    }
}
