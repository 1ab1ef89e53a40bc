//! Every format on real files: the GENESIS table, budget and population CSVs of Cologne and
//! Berlin, polling stations with web-mercator coordinates, the Cologne city boundary, the
//! Munich office list as JSON, Karlsruhe's council organisations as NDJSON, a workbook built
//! from Cologne's budget, and Parquet read back with its provenance. The expected values were
//! read off the files by hand (or computed independently with Python/PROJ, as noted).

mod support;

use support::shared;

use std::path::{Path, PathBuf};

use allmende_connectors::{
    ColumnType, CoordinateColumns, Format, LoadedTable, SnapshotStore, SourceOptions, SourceSpec,
    load,
};
use arrow::array::{Array, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::DataType;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn spec(format: Format, path: PathBuf, options: SourceOptions) -> SourceSpec {
    SourceSpec {
        options,
        ..SourceSpec::open_data("test", "t", format, path, "test", "test")
    }
}

fn strings<'a>(t: &'a LoadedTable, name: &str) -> &'a StringArray {
    t.batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", t.batch.schema()))
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap_or_else(|| panic!("{name} is not text"))
}

fn ints<'a>(t: &'a LoadedTable, name: &str) -> &'a Int64Array {
    t.batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", t.batch.schema()))
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap_or_else(|| panic!("{name} is not int"))
}

fn floats<'a>(t: &'a LoadedTable, name: &str) -> &'a Float64Array {
    t.batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", t.batch.schema()))
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap_or_else(|| panic!("{name} is not float"))
}

fn row_of(column: &StringArray, value: &str) -> usize {
    (0..column.len())
        .find(|&i| column.is_valid(i) && column.value(i) == value)
        .unwrap_or_else(|| panic!("no row with {value}"))
}

fn accounted(t: &LoadedTable) {
    assert_eq!(
        t.provenance.rows_loaded + t.provenance.rows_quarantined,
        t.provenance.rows_read,
        "every row read is loaded or quarantined"
    );
}

#[test]
fn genesis_land_use_table_flattens_headers_and_keeps_the_footer() {
    let Some(path) = shared("koeln/33111-02ir.csv") else {
        return;
    };
    let t = load(&spec(Format::Genesis, path, SourceOptions::default())).unwrap();
    accounted(&t);
    assert_eq!(t.batch.num_rows(), 19, "31.12.1994 … 31.12.2012");
    assert!(t.quarantine.is_empty(), "{:?}", t.quarantine);
    let schema = t.batch.schema();
    assert_eq!(schema.field(0).name(), "stichtag");
    assert_eq!(schema.field(0).data_type(), &DataType::Date32);
    let dates = t
        .batch
        .column(0)
        .as_any()
        .downcast_ref::<Date32Array>()
        .unwrap();
    assert_eq!(dates.value_as_date(0).unwrap().to_string(), "2012-12-31");
    assert_eq!(ints(&t, "bodenflaeche_insgesamt").value(0), 4_051_641);
    assert_eq!(
        ints(&t, "gebaeude_und_freiflaeche_wohnen").value(0),
        597_254
    );
    assert_eq!(ints(&t, "verkehrsflaeche_strasse").value(0), 320_723);
    assert_eq!(
        ints(&t, "siedlungs_und_verkehrsflaeche_insgesamt").value(18),
        2_354_163
    );
    // "Moor": 0 at 31.12.2012, '-' (no value) at 31.12.2009.
    let moor = ints(&t, "landwirtschaftsflaeche_moor");
    assert_eq!(moor.value(0), 0);
    assert!(moor.is_null(3));
    let notes = &t.provenance.notes;
    assert!(
        notes[0].contains("Bodenfläche (Katasterfläche) (ar)"),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n == "header spanning all columns: Flächennutzungsarten")
    );
    assert!(notes.iter().any(|n| {
        n.starts_with("(C)opyright Landesbetrieb Information und Technik Nordrhein-Westfalen")
    }));
    assert!(notes.iter().any(|n| n.contains("Rückmigration")));
}

#[test]
fn cologne_budget_csvs_read_thousands_groups() {
    let Some(plan) = shared("koeln/gesamtergebnisplan.csv") else {
        return;
    };
    let t = load(&spec(Format::Csv, plan, SourceOptions::default())).unwrap();
    accounted(&t);
    assert_eq!(t.batch.num_rows(), 26);
    assert!(t.quarantine.is_empty());
    let wert = strings(&t, "wert");
    let taxes = row_of(wert, "01 - Steuern und ähnliche Abgaben");
    assert_eq!(ints(&t, "ergebnis_2010").value(taxes), 1_596_852_249);
    let result = row_of(
        wert,
        "26 = Jahresergebnis vor interner Leistungsver. (22 und 25)",
    );
    assert_eq!(ints(&t, "plan_2015").value(result), -265_833_749);

    let districts = shared("koeln/bezirke_einzeldarstellung.csv").unwrap();
    let t = load(&spec(Format::Csv, districts, SourceOptions::default())).unwrap();
    assert_eq!(t.batch.num_rows(), 252);
    assert!(t.quarantine.is_empty());
    let line = strings(&t, "teilplanzeile");
    let bezirk = ints(&t, "bezirk");
    let grants = (0..t.batch.num_rows())
        .find(|&i| bezirk.value(i) == 1 && line.value(i) == "02 - Zuwendungen und allg. Umlagen")
        .unwrap();
    assert_eq!(ints(&t, "ergebnis_2011").value(grants), 9_577_207);
    let transfers = (0..t.batch.num_rows())
        .find(|&i| bezirk.value(i) == 1 && line.value(i).starts_with("03 - sonstige"))
        .unwrap();
    assert_eq!(ints(&t, "ergebnis_2011").value(transfers), -35);
}

#[test]
fn berlin_residents_sum_to_the_official_total_and_keys_keep_leading_zeros() {
    let Some(path) = shared("berlin_einwohner/EWR201912E_Matrix.csv") else {
        return;
    };
    let t = load(&spec(Format::Csv, path, SourceOptions::default())).unwrap();
    assert_eq!(t.batch.num_rows(), 448);
    assert!(t.quarantine.is_empty());
    let raumid = strings(&t, "raumid");
    let mitte = row_of(raumid, "01011101");
    assert_eq!(ints(&t, "e_e").value(mitte), 3445);
    assert_eq!(ints(&t, "e_em").value(mitte), 1800);
    assert_eq!(ints(&t, "e_ew").value(mitte), 1645);
    assert_eq!(strings(&t, "bez").value(mitte), "01");
    let total: i64 = ints(&t, "e_e").iter().flatten().sum();
    assert_eq!(total, 3_769_495, "Berlin's residents on 31.12.2019");
}

fn wahllokale_options() -> SourceOptions {
    SourceOptions {
        columns: [("rollstuhlgerecht".to_string(), ColumnType::Bool)].into(),
        coordinates: Some(CoordinateColumns {
            x: "koorx".into(),
            y: "koory".into(),
            crs: "EPSG:3857".into(),
        }),
        ..SourceOptions::default()
    }
}

#[test]
fn polling_stations_get_wgs84_lon_lat_from_web_mercator() {
    let Some(path) = shared("koeln/wahllokale.csv") else {
        return;
    };
    let t = load(&spec(Format::Csv, path, wahllokale_options())).unwrap();
    assert_eq!(t.batch.num_rows(), 800);
    assert!(t.quarantine.is_empty());
    let (lon, lat) = (floats(&t, "lon"), floats(&t, "lat"));
    // OBJECTID 1, GGS Antwerpener Str.: 772125.1101, 6610677.243; PROJ gives
    // 6.936117876552983, 50.93994322965065.
    assert_eq!(strings(&t, "wlk_name").value(0), "GGS Antwerpener Str.");
    assert!((lon.value(0) - 6.936_117_876_552_983).abs() < 1e-9);
    assert!((lat.value(0) - 50.939_943_229_650_65).abs() < 1e-9);
    for i in 0..t.batch.num_rows() {
        assert!((6.7..7.2).contains(&lon.value(i)) && (50.8..51.1).contains(&lat.value(i)));
    }
    let access = t
        .batch
        .column_by_name("rollstuhlgerecht")
        .unwrap()
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap();
    assert_eq!(access.true_count(), 633);
    // Codes with leading zeros stay text.
    assert_eq!(strings(&t, "ad_nummer").value(0), "00288001900");
    assert_eq!(strings(&t, "kommunalwahlbezirk").value(0), "04");
    assert!(t.provenance.notes.iter().any(|n| n.contains("EPSG:3857")));
}

#[test]
fn a_wrong_declared_type_quarantines_every_row_with_a_reason() {
    let Some(path) = shared("koeln/wahllokale.csv") else {
        return;
    };
    let mut options = wahllokale_options();
    options
        .columns
        .insert("wlk_stadtteil".into(), ColumnType::Int);
    let t = load(&spec(Format::Csv, path, options)).unwrap();
    accounted(&t);
    assert_eq!(t.batch.num_rows(), 0);
    assert_eq!(t.quarantine.len(), 800);
    assert_eq!(t.quarantine[0].line, 2);
    assert_eq!(
        t.quarantine[0].reason,
        "column 'wlk_stadtteil': 'Neustadt/Nord' is not a valid int (declared in options.columns)"
    );
}

#[test]
fn city_boundary_becomes_one_row_with_wkt_and_centroid() {
    let Some(path) = shared("koeln/cityboundary.geojson") else {
        return;
    };
    let t = load(&spec(Format::Geojson, path, SourceOptions::default())).unwrap();
    assert_eq!(t.batch.num_rows(), 1);
    assert!(t.quarantine.is_empty());
    assert_eq!(strings(&t, "geometry_type").value(0), "Polygon");
    let wkt = strings(&t, "geometry_wkt").value(0);
    assert!(wkt.starts_with("POLYGON ((7.1001962 50.9668505, 7.0993368 50.9658781, "));
    assert_eq!(wkt.matches(',').count(), 1612, "1613 positions");
    // Shoelace centroid computed independently in Python: 6.97362853…, 50.94567407….
    assert!((floats(&t, "centroid_lon").value(0) - 6.973_628_531_243_118).abs() < 1e-9);
    assert!((floats(&t, "centroid_lat").value(0) - 50.945_674_074_242_54).abs() < 1e-9);
    assert!(
        t.provenance
            .notes
            .iter()
            .any(|n| n.contains("bare geometry"))
    );
}

#[test]
fn munich_offices_as_flattened_json_with_declared_floats() {
    let Some(path) = shared("muenchen/locations_de.json") else {
        return;
    };
    let options = SourceOptions {
        records: Some("/data".into()),
        columns: [
            ("geo_lat".to_string(), ColumnType::Float),
            ("geo_lon".to_string(), ColumnType::Float),
        ]
        .into(),
        ..SourceOptions::default()
    };
    let t = load(&spec(Format::Json, path, options)).unwrap();
    assert_eq!(t.batch.num_rows(), 109);
    assert!(t.quarantine.is_empty());
    let id = strings(&t, "id");
    let office = row_of(id, "10546");
    assert_eq!(strings(&t, "name").value(office), "Gewerbeamt (KVR-III/21)");
    assert_eq!(strings(&t, "address_street").value(office), "Implerstraße");
    assert_eq!(strings(&t, "address_postal_code").value(office), "81371");
    assert_eq!(floats(&t, "geo_lat").value(office), 48.122_797_372_557_905);
    assert_eq!(floats(&t, "geo_lon").value(office), 11.548_818_308_682_014);
    assert!(strings(&t, "services").value(office).starts_with("[{"));
    let public = t.batch.column_by_name("public").unwrap();
    assert_eq!(public.data_type(), &DataType::Boolean);
}

#[test]
fn karlsruhe_organisations_as_ndjson_with_a_broken_line() {
    let Some(path) = shared("oparl_karlsruhe/organizations.json") else {
        return;
    };
    let records: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut text: String = records.iter().map(|r| format!("{r}\n")).collect();
    text.push_str("{\"id\": \"kaputt\",\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("organizations.ndjson");
    std::fs::write(&file, text).unwrap();
    let t = load(&spec(Format::Ndjson, file, SourceOptions::default())).unwrap();
    accounted(&t);
    assert_eq!(t.batch.num_rows(), 97);
    assert_eq!(t.quarantine.len(), 1);
    assert_eq!(t.quarantine[0].line, 98);
    assert!(t.quarantine[0].reason.contains("not valid JSON"));
    let name = strings(&t, "name");
    let i = row_of(name, "Behindertenbeauftragte");
    assert_eq!(strings(&t, "shortname").value(i), "SJB");
    assert_eq!(strings(&t, "startdate").value(i), "2026-01-01");
}

#[test]
fn workbook_finds_its_header_and_quarantines_the_error_cell() {
    let t = load(&spec(
        Format::Xlsx,
        fixture("koeln_haushalt.xlsx"),
        SourceOptions::default(),
    ))
    .unwrap();
    accounted(&t);
    assert_eq!(t.batch.num_rows(), 26);
    let wert = strings(&t, "wert");
    let taxes = row_of(wert, "01 - Steuern und ähnliche Abgaben");
    assert_eq!(ints(&t, "ergebnis_2010").value(taxes), 1_596_852_249);
    // "Plan 2015" holds German number text ("2.009.397.000") in the workbook.
    assert_eq!(ints(&t, "plan_2015").value(taxes), 2_009_397_000);
    assert_eq!(t.quarantine.len(), 1);
    assert_eq!(t.quarantine[0].line, 31);
    assert_eq!(
        t.quarantine[0].reason,
        "cell C31 holds the spreadsheet error #DIV/0!"
    );
    let notes = &t.provenance.notes;
    assert!(
        notes.contains(&"title: Gesamtergebnisplan der Stadt Köln / Beträge in Euro".to_string()),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.starts_with("Quelle: Stadt Köln")));

    let named = SourceOptions {
        sheet: Some("Flaechen".into()),
        ..SourceOptions::default()
    };
    let t = load(&spec(Format::Xlsx, fixture("koeln_haushalt.xlsx"), named)).unwrap();
    assert_eq!(t.batch.num_rows(), 19);
    let dates = t.batch.column_by_name("stichtag").unwrap();
    let dates = dates.as_any().downcast_ref::<Date32Array>().unwrap();
    assert_eq!(dates.value_as_date(0).unwrap().to_string(), "2012-12-31");
    assert_eq!(ints(&t, "bodenflaeche_insgesamt_ar").value(0), 4_051_641);

    let missing = SourceOptions {
        sheet: Some("Tabelle9".into()),
        ..SourceOptions::default()
    };
    let err = load(&spec(Format::Xlsx, fixture("koeln_haushalt.xlsx"), missing))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'Tabelle9'") && err.contains("Ergebnisplan, Flaechen"),
        "{err}"
    );
}

#[test]
fn parquet_reads_through_and_keeps_upstream_provenance() {
    let Some(path) = shared("berlin_einwohner/EWR202012E_Matrix.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(dir.path());
    let mut csv_spec = spec(Format::Csv, path, SourceOptions::default());
    csv_spec.source = "berlin".into();
    csv_spec.table = "einwohner".into();
    let original = load(&csv_spec).unwrap();
    store.write(&original).unwrap();
    let parquet = store.parquet_path(&original.provenance.table);
    // Snapshots are Snappy-compressed, in row groups of at most SNAPSHOT_ROW_GROUP_ROWS.
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&parquet).unwrap())
            .unwrap();
    let metadata = parquet::file::reader::FileReader::metadata(&reader);
    for group in metadata.row_groups() {
        assert!(group.num_rows() as usize <= allmende_connectors::SNAPSHOT_ROW_GROUP_ROWS);
        for column in group.columns() {
            assert_eq!(column.compression(), parquet::basic::Compression::SNAPPY);
        }
    }
    let t = load(&spec(Format::Parquet, parquet, SourceOptions::default())).unwrap();
    assert_eq!(t.batch.schema(), original.batch.schema());
    assert_eq!(t.batch, original.batch);
    let total: i64 = ints(&t, "e_e").iter().flatten().sum();
    assert_eq!(total, 3_769_962, "Berlin's residents on 31.12.2020");
    let upstream = t
        .provenance
        .notes
        .iter()
        .find(|n| n.starts_with("upstream allmende provenance: "))
        .expect("provenance note");
    assert!(upstream.contains(&original.provenance.sha256));

    let err = load(&spec(
        Format::Parquet,
        fixture("koeln_haushalt.xlsx"),
        SourceOptions::default(),
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("not a readable Parquet file"), "{err}");
}

#[test]
fn options_deserialize_and_typos_are_rejected() {
    let mut json = serde_json::json!({
        "source": "koeln", "table": "wahllokale", "format": "csv", "path": "wahllokale.csv",
        "licence": "CC-BY", "attribution": "Stadt Köln",
        "options": {
            "columns": {"rollstuhlgerecht": "bool"},
            "coordinates": {"x": "koorx", "y": "koory", "crs": "EPSG:3857"}
        }
    });
    let parsed: SourceSpec = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(parsed.options, wahllokale_options());
    json["options"]["colums"] = serde_json::json!({});
    let err = serde_json::from_value::<SourceSpec>(json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `colums`"), "{err}");
    let bare = serde_json::json!({
        "source": "a", "table": "b", "format": "geojson", "path": "x",
        "licence": "l", "attribution": "a"
    });
    let parsed: SourceSpec = serde_json::from_value(bare).unwrap();
    assert_eq!(parsed.options, SourceOptions::default());
}
