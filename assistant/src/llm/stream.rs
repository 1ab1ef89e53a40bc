//! Turning a stream of token bytes into UTF-8 text pieces, with stop strings.
//!
//! A byte-level BPE token may end in the middle of a multi-byte character (an umlaut, an
//! emoji), so token bytes are buffered until they form valid UTF-8; invalid sequences become
//! U+FFFD. Text that could be the beginning of a stop string is held back until it is clear
//! whether the stop string follows, so the callback never sees any part of a stop string and
//! the concatenated pieces always equal the final text.

/// Accumulates generated text and decides what may be streamed.
pub(crate) struct TextStream {
    /// Bytes of an incomplete UTF-8 character.
    pending: Vec<u8>,
    /// All text decoded so far (truncated before a stop string once one is found).
    text: String,
    /// Length of the prefix of `text` that was passed to the callback.
    emitted: usize,
    /// Non-empty stop strings.
    stop: Vec<String>,
}

impl TextStream {
    pub(crate) fn new(stop: &[String]) -> Self {
        Self {
            pending: Vec::new(),
            text: String::new(),
            emitted: 0,
            stop: stop.iter().filter(|s| !s.is_empty()).cloned().collect(),
        }
    }

    /// Adds the bytes of one token. Returns `true` if a stop string is now complete; the text
    /// then ends just before it and everything before it has been streamed.
    pub(crate) fn push(&mut self, bytes: &[u8], on_token: &mut dyn FnMut(&str)) -> bool {
        self.pending.extend_from_slice(bytes);
        self.decode_pending();
        self.advance(on_token)
    }

    /// Flushes an incomplete trailing character (as U+FFFD) and any held-back text, and
    /// returns the final text.
    pub(crate) fn finish(mut self, on_token: &mut dyn FnMut(&str)) -> String {
        if !self.pending.is_empty() {
            self.text.push_str(&String::from_utf8_lossy(&self.pending));
            self.pending.clear();
        }
        if !self.advance(on_token) {
            self.emit(self.text.len(), on_token);
        }
        self.text
    }

    /// Moves the valid UTF-8 prefix of `pending` into `text`.
    fn decode_pending(&mut self) {
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    self.text.push_str(s);
                    self.pending.clear();
                    return;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    self.text
                        .push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // An incomplete character at the end: wait for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return;
                        }
                        Some(bad) => {
                            self.text.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Checks for a complete stop string and streams what is safe. Returns `true` on a stop.
    fn advance(&mut self, on_token: &mut dyn FnMut(&str)) -> bool {
        // A stop string cannot start before `emitted`: text that could begin one is held back.
        let tail = &self.text[self.emitted..];
        let first_stop = self.stop.iter().filter_map(|s| tail.find(s.as_str())).min();
        if let Some(pos) = first_stop {
            let cut = self.emitted + pos;
            self.emit(cut, on_token);
            self.text.truncate(cut);
            return true;
        }
        let safe = self.held_back_start();
        self.emit(safe, on_token);
        false
    }

    /// The start of the longest suffix of `text` (after `emitted`) that is a proper prefix of
    /// a stop string, or `text.len()` if there is none.
    fn held_back_start(&self) -> usize {
        let text = &self.text;
        (self.emitted..text.len())
            .filter(|&i| text.is_char_boundary(i))
            .find(|&i| self.stop.iter().any(|s| s.starts_with(&text[i..])))
            .unwrap_or(text.len())
    }

    fn emit(&mut self, upto: usize, on_token: &mut dyn FnMut(&str)) {
        if upto > self.emitted {
            on_token(&self.text[self.emitted..upto]);
            self.emitted = upto;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds byte chunks, returns (pieces, final text, stopped).
    fn run(chunks: &[&[u8]], stop: &[&str]) -> (Vec<String>, String, bool) {
        let stop: Vec<String> = stop.iter().map(|s| s.to_string()).collect();
        let mut stream = TextStream::new(&stop);
        let mut pieces = Vec::new();
        let mut stopped = false;
        for chunk in chunks {
            if stream.push(chunk, &mut |p| pieces.push(p.to_string())) {
                stopped = true;
                break;
            }
        }
        let text = stream.finish(&mut |p| pieces.push(p.to_string()));
        assert_eq!(pieces.concat(), text, "pieces must concatenate to the text");
        (pieces, text, stopped)
    }

    #[test]
    fn split_multibyte_characters_are_buffered() {
        let bytes = "Grüße 👋".as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
        let (pieces, text, _) = run(&chunks, &[]);
        assert_eq!(text, "Grüße 👋");
        assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')));
        assert_eq!(pieces.len(), 7, "one piece per character: {pieces:?}");
    }

    #[test]
    fn invalid_and_truncated_bytes_become_replacement_characters() {
        let (_, text, _) = run(&[b"a\xffb", b"\xc3"], &[]);
        assert_eq!(text, "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn stop_string_across_tokens_is_not_streamed() {
        let (pieces, text, stopped) =
            run(&[b"Antwort: Paris", b"\n\nQu", b"elle: x"], &["\n\nQuelle"]);
        assert!(stopped);
        assert_eq!(text, "Antwort: Paris");
        assert!(pieces.iter().all(|p| !p.contains('\n')), "{pieces:?}");
    }

    #[test]
    fn held_back_prefix_is_released_when_no_stop_follows() {
        let (pieces, text, stopped) = run(&[b"a<", b"b", b"c"], &["<|"]);
        assert!(!stopped);
        assert_eq!(text, "a<bc");
        assert_eq!(pieces, ["a", "<b", "c"]);
    }

    #[test]
    fn earliest_of_several_stop_strings_wins_and_empty_ones_are_ignored() {
        let (_, text, stopped) = run(&[b"one two three"], &["three", "two", ""]);
        assert!(stopped);
        assert_eq!(text, "one ");
    }
}
