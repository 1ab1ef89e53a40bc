//! Error type of the crate (hand-written; the crate has no `thiserror`).

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong while writing the demo data.
#[derive(Debug)]
pub enum Error {
    /// Creating the target directory or writing a file failed.
    Io {
        /// The directory or file that was being created or written.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// Serialising a JSON file failed.
    Json(serde_json::Error),
}

/// Result alias with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error together with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => {
                write!(f, "I/O error at {}: {source}", path.display())
            }
            Self::Json(err) => write!(f, "JSON serialisation failed: {err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Json(err) => Some(err),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Json(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_mentions_path_and_has_source() {
        let err = Error::io(
            "/tmp/x/leistungen.json",
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        );
        let text = err.to_string();
        assert!(text.contains("/tmp/x/leistungen.json"), "{text}");
        assert!(text.contains("denied"), "{text}");
        assert!(err.source().is_some());
    }

    #[test]
    fn json_errors_convert() {
        let json_err = serde_json::from_str::<u32>("nope").unwrap_err();
        let err: Error = json_err.into();
        assert!(err.to_string().starts_with("JSON"));
        assert!(err.source().is_some());
    }
}
