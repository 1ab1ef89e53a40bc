//! A byte-level BPE tokenizer built from GGUF metadata with the `tokenizers` crate.
//!
//! GGUF files of GPT-2-style BPE models (`tokenizer.ggml.model = "gpt2"`: Qwen2, SmolLM2,
//! Llama 3) carry the whole vocabulary (`tokenizer.ggml.tokens`), the merges
//! (`tokenizer.ggml.merges`, "left right" in rank order) and the token types
//! (`tokenizer.ggml.token_type`: 1 normal, 3 control, 4 user-defined, 5 unused). From these we
//! build the same pipeline as the models' `tokenizer.json`:
//!
//! - model: BPE, byte-level, no unknown token;
//! - normaliser: NFC for `qwen2` (as in Qwen2's `tokenizer.json`), none otherwise;
//! - pre-tokenizer chosen by `tokenizer.ggml.pre`: `qwen2` → Sequence[Split(Qwen2 regex,
//!   Isolated), ByteLevel(no prefix space, no offset trimming, no regex)]; `llama-bpe` → the same
//!   with Llama 3's regex; `smollm` → Sequence[Digits(individual), ByteLevel(GPT-2 regex)];
//!   `gpt2`/`default`/absent → ByteLevel(GPT-2 regex);
//! - decoder: ByteLevel;
//! - control tokens become special added tokens (so `<|im_start|>` is one id), user-defined
//!   tokens (`<tool_call>`) plain added tokens.
//!
//! For streaming, [`GgufTokenizer::token_bytes`] maps an id to its raw bytes via the GPT-2
//! byte↔unicode table, so partial UTF-8 sequences can be buffered exactly.

use std::collections::HashMap;
use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer};

use super::gguf::{Meta, model_err};
use crate::{Error, Result};

/// Qwen2's pre-tokenizer regex (from its `tokenizer.json`; llama.cpp's `qwen2` pre-type).
pub(crate) const QWEN2_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's pre-tokenizer regex (numbers in groups of up to three digits).
const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF token types (llama.cpp `llama_token_type`).
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;

/// The tokenizer of a GGUF model. Cheap to query; build it once per model.
pub struct GgufTokenizer {
    inner: Tokenizer,
    /// The same tokenizer with special-token matching switched off, for untrusted text.
    plain: Tokenizer,
    /// Raw bytes of every token (byte-level symbols mapped back to bytes).
    bytes: Vec<Vec<u8>>,
    /// `true` for control tokens (type 3), which are never rendered as text.
    control: Vec<bool>,
    /// Ids that end generation: the GGUF eos id plus `<|im_end|>`/`<|endoftext|>` if present.
    eos_ids: Vec<u32>,
}

impl std::fmt::Debug for GgufTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufTokenizer")
            .field("vocab_size", &self.bytes.len())
            .field("eos_ids", &self.eos_ids)
            .finish_non_exhaustive()
    }
}

impl GgufTokenizer {
    /// Reads only the metadata of a GGUF file and builds its tokenizer (no weights are loaded).
    pub fn from_file(path: &Path) -> Result<Self> {
        let (_file, content) = super::gguf::open(path)?;
        Self::from_meta(&Meta::new(path, &content))
    }

    pub(crate) fn from_meta(meta: &Meta<'_>) -> Result<Self> {
        let path = meta.path;
        let kind = meta.str_opt("tokenizer.ggml.model").unwrap_or("gpt2");
        if kind != "gpt2" {
            return Err(model_err(
                path,
                format!("unsupported tokenizer model '{kind}' (supported: gpt2 byte-level BPE)"),
            ));
        }
        let tokens = meta.strings("tokenizer.ggml.tokens")?;
        let merges = meta.strings("tokenizer.ggml.merges")?;
        let types = meta
            .ints_opt("tokenizer.ggml.token_type")?
            .unwrap_or_default();
        if !types.is_empty() && types.len() != tokens.len() {
            return Err(model_err(
                path,
                "tokenizer.ggml.token_type and tokens differ in length",
            ));
        }
        let token_type = |id: usize| types.get(id).copied().unwrap_or(1);

        if u32::try_from(tokens.len()).is_err() {
            return Err(model_err(path, "vocabulary too large"));
        }
        // Reversed, so the first id of a duplicated token string wins.
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .rev()
            .map(|(id, t)| ((*t).to_string(), id as u32))
            .collect();
        let merges = merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| model_err(path, format!("malformed merge {m:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| model_err(path, format!("cannot build the BPE tokenizer: {e}")))?;

        let mut inner = Tokenizer::new(bpe);
        let pre = meta.str_opt("tokenizer.ggml.pre").unwrap_or("default");
        inner.with_pre_tokenizer(Some(pre_tokenizer(pre).map_err(|e| model_err(path, e))?));
        if pre == "qwen2" {
            // Qwen2's tokenizer.json normalises to NFC before splitting.
            inner
                .with_normalizer(Some(NFC))
                .map_err(|e| model_err(path, e))?;
        }
        inner.with_decoder(Some(ByteLevelDecoder::default()));

        let special = (0..tokens.len()).filter(|&i| token_type(i) == TYPE_CONTROL);
        let special: Vec<_> = special.map(|i| AddedToken::from(tokens[i], true)).collect();
        let user: Vec<_> = (0..tokens.len())
            .filter(|&i| token_type(i) == TYPE_USER_DEFINED)
            .map(|i| AddedToken::from(tokens[i], false))
            .collect();
        let tok_err = |e: tokenizers::Error| model_err(path, format!("tokenizer: {e}"));
        inner.add_special_tokens(special).map_err(tok_err)?;
        inner.add_tokens(user).map_err(tok_err)?;

        let unicode_to_byte = unicode_to_byte();
        let bytes = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| match token_type(i) {
                TYPE_CONTROL | TYPE_USER_DEFINED => t.as_bytes().to_vec(),
                _ => token_to_bytes(t, &unicode_to_byte),
            })
            .collect();
        let control = (0..tokens.len())
            .map(|i| token_type(i) == TYPE_CONTROL)
            .collect();

        let mut eos_ids = Vec::new();
        if let Some(id) = meta.uint_opt("tokenizer.ggml.eos_token_id")? {
            eos_ids.push(u32::try_from(id).map_err(|_| model_err(path, "eos id too large"))?);
        }
        for name in ["<|im_end|>", "<|endoftext|>"] {
            if let Some(id) = inner.token_to_id(name)
                && !eos_ids.contains(&id)
            {
                eos_ids.push(id);
            }
        }
        let mut plain = inner.clone();
        plain.set_encode_special_tokens(true);
        Ok(Self {
            inner,
            plain,
            bytes,
            control,
            eos_ids,
        })
    }

    /// Encodes text; control-token strings such as `<|im_start|>` become their single ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode_fast(text, false).map_err(tokenizer_err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Encodes text treating control-token strings as ordinary text (for untrusted content).
    pub fn encode_plain(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.plain.encode_fast(text, false).map_err(tokenizer_err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Decodes ids to text with the ByteLevel decoder (control tokens are kept as text unless
    /// `skip_special` is set).
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner.decode(ids, skip_special).map_err(tokenizer_err)
    }

    /// The id of a token string (including control tokens), if it is in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Number of tokens in the GGUF vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.bytes.len()
    }

    /// Ids that end generation.
    pub fn eos_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    /// `true` if `id` is a control token (never rendered as text).
    pub fn is_control(&self, id: u32) -> bool {
        self.control.get(id as usize).copied().unwrap_or(false)
    }

    /// The raw bytes a token stands for (may be part of a multi-byte UTF-8 character); empty
    /// for ids outside the vocabulary.
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.bytes
            .get(id as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Encodes a chat in the ChatML layout of [`super::render_chatml`]: the control tokens as
    /// single ids, roles and contents as plain text (control strings inside contents do not
    /// become control tokens), ending with the header of the assistant's turn.
    pub(crate) fn encode_chatml(&self, turns: &[(super::Role, &str)]) -> Result<Vec<u32>> {
        let mut ids = self.encode_chatml_turns(turns)?;
        ids.push(self.require_id("<|im_start|>")?);
        ids.extend(self.encode_plain("assistant\n")?);
        Ok(ids)
    }

    /// The turns of [`Self::encode_chatml`] without the assistant header; a prefix of it.
    pub(crate) fn encode_chatml_turns(&self, turns: &[(super::Role, &str)]) -> Result<Vec<u32>> {
        let start = self.require_id("<|im_start|>")?;
        let end = self.require_id("<|im_end|>")?;
        let mut ids = Vec::new();
        for (role, content) in turns {
            ids.push(start);
            ids.extend(self.encode_plain(&format!("{}\n{content}", role.as_str()))?);
            ids.push(end);
            ids.extend(self.encode_plain("\n")?);
        }
        Ok(ids)
    }

    fn require_id(&self, token: &str) -> Result<u32> {
        self.token_to_id(token).ok_or_else(|| {
            Error::Model(format!(
                "the model's vocabulary has no {token} token (ChatML needs it)"
            ))
        })
    }
}

fn tokenizer_err(e: tokenizers::Error) -> Error {
    Error::Model(format!("tokenizer: {e}"))
}

/// The pre-tokenizer for a `tokenizer.ggml.pre` value.
fn pre_tokenizer(pre: &str) -> std::result::Result<PreTokenizerWrapper, String> {
    let byte_level_after_split = || ByteLevel::new(false, false, false).into();
    let split = |regex: &str| {
        Split::new(
            SplitPattern::Regex(regex.into()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map(PreTokenizerWrapper::from)
        .map_err(|e| format!("bad pre-tokenizer regex: {e}"))
    };
    Ok(match pre {
        "qwen2" => Sequence::new(vec![split(QWEN2_REGEX)?, byte_level_after_split()]).into(),
        "llama-bpe" | "llama3" => {
            Sequence::new(vec![split(LLAMA3_REGEX)?, byte_level_after_split()]).into()
        }
        "smollm" => Sequence::new(vec![
            Digits::new(true).into(),
            ByteLevel::new(false, true, true).into(),
        ])
        .into(),
        "gpt2" | "default" => ByteLevel::new(false, true, true).into(),
        other => {
            return Err(format!(
                "unsupported pre-tokenizer '{other}' (supported: qwen2, llama-bpe, smollm, gpt2)"
            ));
        }
    })
}

/// GPT-2's byte → printable unicode table, inverted.
fn unicode_to_byte() -> HashMap<char, u8> {
    let mut printable: Vec<u8> = (b'!'..=b'~')
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars: Vec<char> = printable.iter().map(|&b| char::from(b)).collect();
    let mut extra = 0u32;
    for b in 0..=255u8 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(char::from_u32(256 + extra).unwrap_or('\u{FFFD}'));
            extra += 1;
        }
    }
    chars.into_iter().zip(printable).collect()
}

/// The bytes of a byte-level token; characters outside the table keep their UTF-8 bytes.
fn token_to_bytes(token: &str, table: &HashMap<char, u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(token.len());
    for c in token.chars() {
        match table.get(&c) {
            Some(&b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

/// The 256 byte-level symbols in GPT-2 order (printable bytes first), as used for ids 0..256
/// of Qwen2's vocabulary. Used by the tiny test model.
pub(crate) fn byte_level_symbols() -> Vec<String> {
    let mut pairs: Vec<(u8, char)> = unicode_to_byte().into_iter().map(|(c, b)| (b, c)).collect();
    pairs.sort_by_key(|&(_, c)| c);
    pairs.into_iter().map(|(_, c)| c.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_is_a_bijection() {
        let table = unicode_to_byte();
        assert_eq!(table.len(), 256);
        assert_eq!(table[&'Ġ'], b' ');
        assert_eq!(table[&'Ċ'], b'\n');
        assert_eq!(table[&'A'], b'A');
        assert_eq!(token_to_bytes("ĠÃ¤", &table), " ä".as_bytes());
        let symbols = byte_level_symbols();
        assert_eq!(symbols.len(), 256);
        assert_eq!(symbols[0], "!");
        assert_eq!(symbols[198], "Ċ", "same ids as Qwen2's vocabulary");
        assert_eq!(symbols[220], "Ġ");
    }

    #[test]
    fn known_pre_tokenizers_build_and_unknown_fails() {
        for pre in ["qwen2", "llama-bpe", "smollm", "gpt2", "default"] {
            assert!(pre_tokenizer(pre).is_ok(), "{pre}");
        }
        let err = pre_tokenizer("falcon").unwrap_err();
        assert!(err.contains("unsupported pre-tokenizer 'falcon'"), "{err}");
    }
}
