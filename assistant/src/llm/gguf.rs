//! GGUF helpers: reading the header with clear errors, checking that the tensor data is
//! complete, and typed access to metadata values.
//!
//! candle's `gguf_file::Content::read` already bounds-checks lengths; this module turns its
//! errors into messages that name the file and adds the checks candle leaves to the model
//! constructors (missing keys, truncated tensor data, implausible hyperparameters), so a broken
//! or foreign file fails at load time with an error instead of a panic deep inside a model.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};

use crate::{Error, Result};

/// The four magic bytes at the start of every GGUF file.
const GGUF_MAGIC: &[u8; 4] = b"GGUF";

/// Builds an [`Error::Model`] that names the file.
pub(crate) fn model_err(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {message}", path.display()))
}

/// Opens `path`, checks the magic bytes and reads the GGUF header and metadata.
///
/// Also checks that every tensor's data lies inside the file, so a truncated download is
/// reported as such rather than as a failure to read some tensor.
pub(crate) fn open(path: &Path) -> Result<(File, Content)> {
    let mut file = File::open(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    let io_err = |source| Error::Io {
        path: path.into(),
        source,
    };
    let file_size = file.metadata().map_err(io_err)?.len();
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut file, &mut magic).map_err(io_err)?;
    if got < 4 || &magic != GGUF_MAGIC {
        return Err(model_err(
            path,
            format!(
                "not a GGUF model file (starts with {:02x?} instead of \"GGUF\"); expected a \
                 quantised GGUF file such as qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                &magic[..got]
            ),
        ));
    }
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let content = Content::read(&mut file).map_err(|e| {
        model_err(
            path,
            format!("invalid or truncated GGUF header/metadata: {e}"),
        )
    })?;
    check_tensor_data(path, &content, file_size)?;
    Ok((file, content))
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Fails if any tensor's bytes would extend past the end of the file.
fn check_tensor_data(path: &Path, content: &Content, file_size: u64) -> Result<()> {
    let mut needed = content.tensor_data_offset;
    for (name, info) in &content.tensor_infos {
        let elems = info.shape.elem_count();
        let block = info.ggml_dtype.block_size();
        if !elems.is_multiple_of(block) {
            return Err(model_err(
                path,
                format!("tensor {name} has {elems} elements, not a multiple of its block size"),
            ));
        }
        let bytes = (elems / block) as u64 * info.ggml_dtype.type_size() as u64;
        let end = content
            .tensor_data_offset
            .saturating_add(info.offset)
            .saturating_add(bytes);
        needed = needed.max(end);
    }
    if needed > file_size {
        return Err(model_err(
            path,
            format!(
                "file is truncated: its tensors need {needed} bytes but the file has only \
                 {file_size} (an incomplete download? re-pull the model)"
            ),
        ));
    }
    Ok(())
}

/// Typed access to the metadata of one GGUF file, with errors that name the file and key.
pub(crate) struct Meta<'a> {
    pub(crate) path: &'a Path,
    pub(crate) content: &'a Content,
}

impl<'a> Meta<'a> {
    pub(crate) fn new(path: &'a Path, content: &'a Content) -> Self {
        Self { path, content }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.content.metadata.get(key)
    }

    fn require(&self, key: &str) -> Result<&'a Value> {
        self.get(key)
            .ok_or_else(|| model_err(self.path, format!("metadata key {key} is missing")))
    }

    /// A string value, or `None` when absent or not a string.
    pub(crate) fn str_opt(&self, key: &str) -> Option<&'a str> {
        match self.get(key) {
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    /// A required string value.
    pub(crate) fn str(&self, key: &str) -> Result<&'a str> {
        match self.require(key)? {
            Value::String(s) => Ok(s.as_str()),
            other => Err(self.type_err(key, "a string", other)),
        }
    }

    /// An unsigned integer of any width, or `None` when absent.
    pub(crate) fn uint_opt(&self, key: &str) -> Result<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => as_i64(v)
                .filter(|n| *n >= 0)
                .map(|n| Some(n as u64))
                .ok_or_else(|| self.type_err(key, "a non-negative integer", v)),
        }
    }

    /// A required positive integer (a hyperparameter such as `qwen2.block_count`).
    pub(crate) fn positive(&self, key: &str) -> Result<usize> {
        match self.uint_opt(key)? {
            None => Err(model_err(
                self.path,
                format!("metadata key {key} is missing"),
            )),
            Some(0) => Err(model_err(self.path, format!("metadata key {key} is 0"))),
            Some(n) => usize::try_from(n)
                .map_err(|_| model_err(self.path, format!("metadata key {key} is too large"))),
        }
    }

    /// A required array value.
    pub(crate) fn array(&self, key: &str) -> Result<&'a [Value]> {
        match self.require(key)? {
            Value::Array(items) => Ok(items.as_slice()),
            other => Err(self.type_err(key, "an array", other)),
        }
    }

    /// A required array of strings.
    pub(crate) fn strings(&self, key: &str) -> Result<Vec<&'a str>> {
        self.array(key)?
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_str()),
                other => Err(self.type_err(key, "an array of strings", other)),
            })
            .collect()
    }

    /// An optional array of integers (e.g. `tokenizer.ggml.token_type`).
    pub(crate) fn ints_opt(&self, key: &str) -> Result<Option<Vec<i64>>> {
        if self.get(key).is_none() {
            return Ok(None);
        }
        self.array(key)?
            .iter()
            .map(|v| as_i64(v).ok_or_else(|| self.type_err(key, "an array of integers", v)))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    fn type_err(&self, key: &str, expected: &str, got: &Value) -> Error {
        model_err(
            self.path,
            format!(
                "metadata key {key} should be {expected}, found {:?}",
                got.value_type()
            ),
        )
    }
}

/// Any integer metadata value widened to i64 (`None` for other types or u64 overflow).
fn as_i64(v: &Value) -> Option<i64> {
    match *v {
        Value::U8(n) => Some(n.into()),
        Value::I8(n) => Some(n.into()),
        Value::U16(n) => Some(n.into()),
        Value::I16(n) => Some(n.into()),
        Value::U32(n) => Some(n.into()),
        Value::I32(n) => Some(n.into()),
        Value::U64(n) => i64::try_from(n).ok(),
        Value::I64(n) => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_widening() {
        assert_eq!(as_i64(&Value::U8(7)), Some(7));
        assert_eq!(as_i64(&Value::I32(-3)), Some(-3));
        assert_eq!(as_i64(&Value::U64(u64::MAX)), None);
        assert_eq!(as_i64(&Value::String("1".into())), None);
    }

    #[test]
    fn non_gguf_and_empty_files_are_rejected() {
        let dir = std::env::temp_dir().join(format!("allmende-gguf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.gguf");
        std::fs::write(&empty, b"").unwrap();
        let err = open(&empty).unwrap_err().to_string();
        assert!(err.contains("not a GGUF model file"), "{err}");
        let text = dir.join("notes.gguf");
        std::fs::write(&text, b"hello world, definitely not weights").unwrap();
        let err = open(&text).unwrap_err().to_string();
        assert!(err.contains("not a GGUF model file"), "{err}");
        let header_only = dir.join("header.gguf");
        std::fs::write(&header_only, b"GGUF\x03\x00\x00\x00\xff\xff").unwrap();
        let err = open(&header_only).unwrap_err().to_string();
        assert!(err.contains("invalid or truncated GGUF"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
