//! Connectors on real files: the generated Musterstadt files and the German sample data in
//! `../shared/datasets` (present in CI; tests that need it say so when it is missing).

mod support;

use support::shared;

use std::path::PathBuf;

use allmende_connectors::{Format, SnapshotStore, SourceSpec, WriteOutcome, load, snapshot};
use arrow::array::{Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::DataType;

fn spec(source: &str, table: &str, format: Format, path: PathBuf) -> SourceSpec {
    SourceSpec::open_data(source, table, format, path, "test", "test")
}

fn musterstadt() -> (
    tempfile::TempDir,
    allmende_datasets::musterstadt::WrittenFiles,
) {
    let dir = tempfile::tempdir().unwrap();
    let files = allmende_datasets::musterstadt::write_to(
        dir.path(),
        allmende_datasets::musterstadt::DEFAULT_SEED,
    )
    .unwrap();
    (dir, files)
}

#[test]
fn musterstadt_population_csv_gets_german_numbers_right() {
    let (_dir, files) = musterstadt();
    let loaded = load(&spec(
        "musterstadt",
        "bevoelkerung",
        Format::Csv,
        files.population,
    ))
    .unwrap();
    let b = &loaded.batch;
    assert_eq!(b.num_rows(), 66);
    assert!(loaded.quarantine.is_empty());
    let schema = b.schema();
    assert_eq!(
        schema
            .field_with_name("einwohner_insgesamt")
            .unwrap()
            .data_type(),
        &DataType::Int64
    );
    assert_eq!(
        schema
            .field_with_name("anteil_unter_18_prozent")
            .unwrap()
            .data_type(),
        &DataType::Float64
    );
    let rows =
        allmende_datasets::musterstadt::population(allmende_datasets::musterstadt::DEFAULT_SEED);
    let totals = b
        .column_by_name("einwohner_insgesamt")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let shares = b
        .column_by_name("anteil_unter_18_prozent")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(totals.value(i), i64::from(row.total));
        assert!((shares.value(i) - row.share_under_18).abs() < 1e-9);
    }
    assert_eq!(loaded.provenance.rows_loaded, 66);
    assert_eq!(loaded.provenance.sha256.len(), 64);
}

#[test]
fn register_dates_are_dates_and_the_spec_marks_it_personal() {
    let (_dir, files) = musterstadt();
    let mut s = spec("musterstadt", "melderegister", Format::Csv, files.register);
    s.personal = true;
    let loaded = load(&s).unwrap();
    assert_eq!(
        loaded.batch.num_rows(),
        allmende_datasets::musterstadt::REGISTER_PERSONS
    );
    let schema = loaded.batch.schema();
    assert_eq!(
        schema.field_with_name("geburtsdatum").unwrap().data_type(),
        &DataType::Date32
    );
    assert!(loaded.provenance.personal);
}

#[test]
fn services_keep_html_and_clean_text() {
    let (_dir, files) = musterstadt();
    let loaded = load(&spec(
        "musterstadt",
        "leistungen",
        Format::MusterstadtServices,
        files.services,
    ))
    .unwrap();
    assert!(loaded.batch.num_rows() >= 45);
    let html = loaded
        .batch
        .column_by_name("body_html")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let text = loaded
        .batch
        .column_by_name("body_text")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    for i in 0..loaded.batch.num_rows() {
        assert!(html.value(i).contains('<'));
        assert!(
            !text.value(i).contains('<')
                && !text.value(i).contains("&amp;")
                && !text.value(i).contains("&nbsp;")
        );
    }
}

#[test]
fn munich_service_catalogue_loads_completely() {
    let Some(path) = shared("muenchen/services_de.json") else {
        return;
    };
    let loaded = load(&spec(
        "muenchen",
        "leistungen",
        Format::MuenchenServices,
        path,
    ))
    .unwrap();
    assert_eq!(loaded.batch.num_rows(), 287);
    assert!(loaded.quarantine.is_empty());
    let titles = loaded
        .batch
        .column_by_name("title")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let urls = loaded
        .batch
        .column_by_name("url")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let i = (0..titles.len())
        .find(|&i| titles.value(i) == "Gewerbe-Anmeldung")
        .expect("Gewerbe-Anmeldung");
    assert!(urls.value(i).ends_with("/services/1063423"));
}

#[test]
fn gemeindeverzeichnis_flensburg_population() {
    let Some(path) = shared("gemeindeverzeichnis/AuszugGV4QAktuell.csv") else {
        return;
    };
    let loaded = load(&spec("destatis", "gemeinden", Format::Csv, path)).unwrap();
    assert_eq!(
        loaded.batch.num_rows() + loaded.quarantine.len(),
        loaded.provenance.rows_read
    );
    let names = loaded
        .batch
        .column_by_name("gemeindename")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let pop = loaded
        .batch
        .column_by_name("bevoelkerung")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let flensburg = (0..names.len())
        .find(|&i| names.value(i) == "Flensburg, Stadt" && !pop.is_null(i))
        .expect("Flensburg row with population");
    assert_eq!(pop.value(flensburg), 90_164);
    let lat = loaded
        .batch
        .column_by_name("breitengrad")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert!((lat.value(flensburg) - 54.78252).abs() < 1e-9);
    // Areas use a decimal point ("53.02"): read per column, not as thousands.
    let area = loaded
        .batch
        .column_by_name("flaeche")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert!(
        (area.value(flensburg) - 53.02).abs() < 1e-9,
        "{}",
        area.value(flensburg)
    );
}

#[test]
fn snapshots_are_atomic_and_skip_unchanged_sources() {
    let (dir, files) = musterstadt();
    let store = SnapshotStore::new(dir.path().join("snapshots"));
    let s = spec(
        "musterstadt",
        "bevoelkerung",
        Format::Csv,
        files.population.clone(),
    );
    let first = load(&s).unwrap();
    assert_eq!(store.write(&first).unwrap(), WriteOutcome::Written);
    assert_eq!(
        store.write(&load(&s).unwrap()).unwrap(),
        WriteOutcome::Unchanged
    );

    // A leftover temp file from a crashed writer is ignored; the snapshot stays readable.
    let table = &first.provenance.table;
    let parquet = store.parquet_path(table);
    std::fs::write(
        parquet.with_file_name(".bevoelkerung.parquet.tmp-999"),
        b"half written",
    )
    .unwrap();
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].provenance,
        snapshot::read_provenance(&parquet).unwrap()
    );

    // A source that turns bad does not replace the good snapshot.
    std::fs::write(&files.population, b"").unwrap();
    assert!(load(&s).is_err());
    assert_eq!(
        snapshot::read_provenance(&parquet).unwrap().sha256,
        first.provenance.sha256
    );

    // Changed content is written; the quarantine file records the bad row with its line.
    std::fs::write(&files.population, "Jahr;Einwohner\n2025;1.234\nFußnote\n").unwrap();
    let changed = load(&s).unwrap();
    assert_eq!(store.write(&changed).unwrap(), WriteOutcome::Written);
    let quarantine = std::fs::read_to_string(store.quarantine_path(table)).unwrap();
    assert!(
        quarantine.contains("\"line\":3") && quarantine.contains("expected 2 fields, found 1"),
        "{quarantine}"
    );
}

#[test]
fn missing_file_names_the_path() {
    let err = load(&spec(
        "x",
        "y",
        Format::Csv,
        PathBuf::from("/nonexistent/daten.csv"),
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/daten.csv"), "{err}");
    let err = load(&spec("X-Y", "y", Format::Csv, PathBuf::from("a.csv")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a valid source or table name"), "{err}");
}
