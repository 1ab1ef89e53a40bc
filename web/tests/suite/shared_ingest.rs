//! Every folder of the shared sample data (`../shared/datasets`) through the real command line:
//! `allmende ingest --source FILE` on a source file that names each folder with its connector,
//! then `allmende sql` on what landed. Every source loads, every quarantined row is one this
//! file explains (none today), and the values read back are the ones in the files (read off by
//! hand: Karlsruhe's papers, the DCAT-AP.de example, § 17 BMG).
//!
//! Without the shared directory this skips with a notice (under CI=true it fails).

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI=true but ../shared/datasets is missing"
    );
    eprintln!("notice: ../shared/datasets not found; shared ingest skipped");
    None
}

/// The sources of the built-in manifest that live under `{shared}`, as a source file: the
/// same entries an operator would write.
fn shared_source_file(dir: &Path) -> PathBuf {
    let manifest: toml::Value = toml::from_str(allmende_datasets::MANIFEST).unwrap();
    let shared: Vec<toml::Value> = manifest["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("{shared}/"))
        })
        .cloned()
        .collect();
    let mut file = toml::map::Map::new();
    file.insert("sources".into(), toml::Value::Array(shared));
    let path = dir.join("shared-sources.toml");
    std::fs::write(&path, toml::to_string(&file).unwrap()).unwrap();
    path
}

/// An allmende.toml in `dir`: data under `dir/data`, no model, the given sample-data directory.
fn write_config(dir: &Path, shared: &Path) -> PathBuf {
    let config = dir.join("allmende.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[model]\nname = \"none\"\n[datasets]\nshared_dir = {:?}\n",
            dir.join("data"),
            shared
        ),
    )
    .unwrap();
    config
}

fn allmende(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_allmende"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sql_csv(config: &Path, sql: &str) -> String {
    let (code, stdout, stderr) = allmende(config, &["sql", "--format", "csv", sql]);
    assert_eq!(code, 0, "{sql}: {stderr}");
    stdout
}

#[test]
fn every_shared_folder_ingests_and_reads_back() {
    let Some(shared) = shared_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &shared);
    let sources = shared_source_file(tmp.path());
    let (code, report, stderr) =
        allmende(&config, &["ingest", "--source", sources.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}\n{stderr}");

    // Every folder of ../shared/datasets that holds data has a source in the manifest.
    let text = std::fs::read_to_string(&sources).unwrap();
    for entry in std::fs::read_dir(&shared).unwrap().flatten() {
        if entry.path().is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                text.contains(&format!("{{shared}}/{name}")),
                "no source reads {name}/"
            );
        }
    }

    // read / loaded / quarantined per table: nothing quarantined anywhere.
    let mut tables = 0;
    for line in report.lines().skip(1).filter(|l| !l.starts_with(' ')) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 5 || !cols[0].contains('.') {
            continue;
        }
        tables += 1;
        let (read, loaded, quarantined) = (cols[1], cols[2], cols[3]);
        assert_eq!(quarantined, "0", "unexplained quarantine: {line}");
        assert_eq!(read, loaded, "{line}");
        assert!(read.parse::<u64>().unwrap() > 0, "empty table: {line}");
    }
    let expected = text.matches("[[sources]]").count();
    assert_eq!(tables, expected, "every source has a line in\n{report}");

    // OParl: 50 papers and 20 meetings of Karlsruhe, one paper read off papers/1.json.
    assert_eq!(
        sql_csv(&config, "SELECT count(*) AS n FROM karlsruhe.vorlagen"),
        "n\n50\n"
    );
    assert_eq!(
        sql_csv(&config, "SELECT count(*) AS n FROM karlsruhe.sitzungen"),
        "n\n20\n"
    );
    // Laws: § 17 BMG, and seven laws.
    assert_eq!(
        sql_csv(
            &config,
            "SELECT heading FROM gesetze.paragraphen WHERE law = 'BMG' AND section = '§ 17'"
        ),
        "heading\n\"Anmeldung, Abmeldung\"\n"
    );
    assert_eq!(
        sql_csv(
            &config,
            "SELECT count(DISTINCT law) AS n FROM gesetze.paragraphen"
        ),
        "n\n7\n"
    );
    // A second run rewrites nothing.
    let (code, report, stderr) =
        allmende(&config, &["ingest", "--source", sources.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!report.contains("written"), "{report}");
}

#[test]
fn a_source_file_with_a_broken_source_reports_it_and_loads_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &tmp.path().join("no-shared-data"));
    std::fs::write(
        tmp.path().join("ok.csv"),
        "Bezirk;Einwohner\nMitte;1.234\nNord;-\n",
    )
    .unwrap();
    let sources = tmp.path().join("sources.toml");
    std::fs::write(
        &sources,
        "[[sources]]\nsource = \"probe\"\ntable = \"ok\"\nformat = \"csv\"\npath = \"ok.csv\"\nlicence = \"CC0-1.0\"\nattribution = \"test\"\n\n\
         [[sources]]\nsource = \"probe\"\ntable = \"kaputt\"\nformat = \"oparl_papers\"\npath = \"missing-dir\"\nlicence = \"CC0-1.0\"\nattribution = \"test\"\n",
    )
    .unwrap();
    let (code, report, stderr) =
        allmende(&config, &["ingest", "--source", sources.to_str().unwrap()]);
    assert_eq!(code, 2, "{report}\n{stderr}");
    assert!(
        report.contains("probe.kaputt") && report.contains("FAILED"),
        "{report}"
    );
    assert!(stderr.contains("1 source(s) failed"), "{stderr}");
    // The relative path resolved against the source file, and the good source landed.
    assert_eq!(
        sql_csv(&config, "SELECT sum(einwohner) AS s FROM probe.ok"),
        "s\n1234\n"
    );
}
