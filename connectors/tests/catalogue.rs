//! The catalogue connector on real DCAT-AP.de files and recorded catalogue responses: every
//! RDF file in `../shared/datasets/dcat-ap-de` (the DCAT-AP.de 2.0 reference examples in Turtle,
//! RDF/XML and JSON-LD, ckanext-dcatde's test fixtures, the DataService example and the UAG
//! example), Hydra paging over three pages cut from ckanext-dcatde's catalogue endpoint
//! (`tests/fixtures/dcat`), and CKAN `package_search` / `package_show` responses
//! (`tests/fixtures/ckan`). Expected values were read off the files by hand.

mod support;

use support::text_column as strings;

use support::shared;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use allmende_connectors::catalogue::{
    self, CatalogueTable, RdfSyntax, harvest_ckan, harvest_dcat, parse_ckan, parse_dcat,
};
use allmende_connectors::fetch::Fetch;
use allmende_connectors::{Error, Parsed, Result};
use arrow::array::{Array, Int64Array, StringArray};
use arrow::datatypes::DataType;

const DATASETS: CatalogueTable = CatalogueTable::Datasets;
const DISTRIBUTIONS: CatalogueTable = CatalogueTable::Distributions;

fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn page(path: &Path) -> (String, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path.display().to_string(), bytes)
}

fn dcat_file(path: &Path, table: CatalogueTable) -> Parsed {
    parse_dcat(table, &[page(path)], None).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ints<'a>(p: &'a Parsed, name: &str) -> &'a Int64Array {
    p.batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap_or_else(|| panic!("{name} is not Int64"))
}

/// The row whose `id` is `id`.
fn row(p: &Parsed, id: &str) -> usize {
    let ids = strings(p, "id");
    (0..ids.len())
        .find(|&i| ids.is_valid(i) && ids.value(i) == id)
        .unwrap_or_else(|| panic!("no row with id {id}"))
}

/// A text cell of the row with `id`; `None` for null.
fn cell(p: &Parsed, id: &str, column: &str) -> Option<String> {
    let i = row(p, id);
    let c = strings(p, column);
    c.is_valid(i).then(|| c.value(i).to_string())
}

/// An Int64 cell of the row with `id`.
fn int_cell(p: &Parsed, id: &str, column: &str) -> Option<i64> {
    let i = row(p, id);
    let c = ints(p, column);
    c.is_valid(i).then(|| c.value(i))
}

/// All rows as text (null as `∅`), sorted: comparable across serialisations.
fn sorted_rows(p: &Parsed) -> Vec<Vec<String>> {
    let batch = &p.batch;
    let mut rows: Vec<Vec<String>> = (0..batch.num_rows())
        .map(|i| {
            batch
                .columns()
                .iter()
                .map(|c| {
                    if c.is_null(i) {
                        "∅".to_string()
                    } else if let Some(s) = c.as_any().downcast_ref::<StringArray>() {
                        s.value(i).to_string()
                    } else if let Some(n) = c.as_any().downcast_ref::<Int64Array>() {
                        n.value(i).to_string()
                    } else {
                        panic!("unexpected column type {:?}", c.data_type())
                    }
                })
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

fn accounted(p: &Parsed) {
    assert_eq!(
        p.batch.num_rows() + p.quarantine.len(),
        p.rows_read,
        "rows loaded + quarantined = rows read"
    );
}

fn malformed(result: Result<Parsed>) -> (String, String) {
    match result {
        Err(Error::Malformed { origin, reason }) => (origin, reason),
        Err(other) => panic!("expected Malformed, got {other}"),
        Ok(p) => panic!("expected Malformed, got {} rows", p.batch.num_rows()),
    }
}

/// A [`Fetch`] that answers from recorded pages and remembers what was asked.
struct Recorded {
    pages: HashMap<String, Vec<u8>>,
    requested: RefCell<Vec<String>>,
}

impl Recorded {
    fn new(pages: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        Self {
            pages: pages.into_iter().collect(),
            requested: RefCell::new(Vec::new()),
        }
    }

    fn requested(&self) -> Vec<String> {
        self.requested.borrow().clone()
    }
}

impl Fetch for Recorded {
    fn get(&self, url: &str) -> Result<Vec<u8>> {
        self.requested.borrow_mut().push(url.to_string());
        self.pages.get(url).cloned().ok_or_else(|| Error::Http {
            url: url.to_string(),
            reason: "HTTP 404 Not Found (not recorded)".into(),
        })
    }
}

const TAXONOMY: &str = "http://publications.europa.eu/resource/authority/data-theme/";
const DL_BY_DE: &str = "http://dcat-ap.de/def/licenses/dl-by-de/2.0";

#[test]
fn both_tables_have_their_declared_schema() {
    let datasets = catalogue::schema(DATASETS);
    let names: Vec<&str> = datasets
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, catalogue::DATASET_COLUMNS);
    for field in datasets.fields() {
        let expected = if field.name() == "distribution_count" {
            DataType::Int64
        } else {
            DataType::Utf8
        };
        assert_eq!(field.data_type(), &expected, "{}", field.name());
    }
    let distributions = catalogue::schema(DISTRIBUTIONS);
    assert_eq!(
        distributions
            .field_with_name("byte_size")
            .map(|f| f.data_type().clone())
            .ok(),
        Some(DataType::Int64)
    );
    assert_eq!(distributions.fields().len(), 10);

    // A document without datasets still gives the declared schema (no inference).
    let empty = parse_dcat(
        DISTRIBUTIONS,
        &[(
            "empty.ttl".into(),
            b"<http://x/a> <http://x/p> \"o\" .".to_vec(),
        )],
        None,
    )
    .unwrap();
    assert_eq!(empty.batch.num_rows(), 0);
    assert_eq!(empty.batch.schema(), distributions);
}

#[test]
fn every_rdf_file_in_the_reference_directory_parses() {
    let Some(dir) = shared("dcat-ap-de") else {
        return;
    };
    // file -> (datasets, distributions), counted by hand.
    let expected: HashMap<&str, (usize, usize)> = [
        ("ckanext-dcatde_catalog-endpoint.rdf", (6, 17)),
        ("ckanext-dcatde_metadata_max.rdf", (1, 2)),
        ("dcat_ap_de-RefImp_JSONLD_ADVANCED.jsonld", (2, 3)),
        ("dcat_ap_de-RefImp_JSONLD_SIMPLE.jsonld", (1, 1)),
        ("dcat_ap_de-RefImp_RDF_ADVANCED.rdf", (2, 3)),
        ("dcat_ap_de-RefImp_RDF_SIMPLE.rdf", (1, 1)),
        ("dcat_ap_de-RefImp_TTL_ADVANCED.ttl", (2, 3)),
        ("dcat_ap_de-RefImp_TTL_SIMPLE.ttl", (1, 1)),
        ("ex-23-dataservice.rdf", (1, 2)),
    ]
    .into_iter()
    .collect();
    // Not Turtle as published: its first line is "Stand: 22.02.2024 16:12" (see the UAG test).
    let not_turtle = "2024-02-22_UAG_Beispieldatensatz_v1.ttl";

    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if RdfSyntax::from_path(&name).is_none() {
            continue; // readme.txt
        }
        seen += 1;
        if name == not_turtle {
            let (_, reason) = malformed(parse_dcat(DATASETS, &[page(&path)], None));
            assert!(reason.contains("line 1, column 1"), "{reason}");
            continue;
        }
        let &(datasets, distributions) = expected
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{name} is new: add its expected counts"));
        let d = dcat_file(&path, DATASETS);
        assert_eq!(d.batch.num_rows(), datasets, "{name} datasets");
        assert!(d.quarantine.is_empty(), "{name}: {:?}", d.quarantine);
        accounted(&d);
        let counts: i64 = ints(&d, "distribution_count").iter().flatten().sum();
        assert_eq!(counts as usize, distributions, "{name} distribution_count");
        let r = dcat_file(&path, DISTRIBUTIONS);
        assert_eq!(r.batch.num_rows(), distributions, "{name} distributions");
        accounted(&r);
        // Every distribution belongs to a dataset of the file.
        let dataset_ids = strings(&r, "dataset_id");
        for i in 0..r.batch.num_rows() {
            row(&d, dataset_ids.value(i));
        }
    }
    assert_eq!(seen, expected.len() + 1, "RDF files in {}", dir.display());
}

#[test]
fn simple_and_advanced_examples_agree_across_syntaxes() {
    for (kind, datasets, distributions) in [("SIMPLE", 1, 1), ("ADVANCED", 2, 3)] {
        let files = [
            format!("dcat-ap-de/dcat_ap_de-RefImp_TTL_{kind}.ttl"),
            format!("dcat-ap-de/dcat_ap_de-RefImp_RDF_{kind}.rdf"),
            format!("dcat-ap-de/dcat_ap_de-RefImp_JSONLD_{kind}.jsonld"),
        ];
        let Some(paths) = files.iter().map(|f| shared(f)).collect::<Option<Vec<_>>>() else {
            return;
        };
        for (table, rows) in [(DATASETS, datasets), (DISTRIBUTIONS, distributions)] {
            let turtle = sorted_rows(&dcat_file(&paths[0], table));
            assert_eq!(turtle.len(), rows, "{kind} {}", table.name());
            for other in &paths[1..] {
                assert_eq!(
                    sorted_rows(&dcat_file(other, table)),
                    turtle,
                    "{kind} {} from {} differs from Turtle",
                    table.name(),
                    other.display()
                );
            }
        }
    }
}

#[test]
fn simple_example_values() {
    let Some(path) = shared("dcat-ap-de/dcat_ap_de-RefImp_TTL_SIMPLE.ttl") else {
        return;
    };
    let d = dcat_file(&path, DATASETS);
    let id = "https://example.com/dataset/d4ce4e6e-ab89-44cb-bf5c-33a162c234de#dataset";
    assert_eq!(
        cell(&d, id, "title").as_deref(),
        Some("Badegewässer (Daten) Hamburg")
    );
    assert_eq!(
        cell(&d, id, "contributor_id").as_deref(),
        Some("http://dcat-ap.de/def/contributors/transparenzportalHamburg")
    );
    // No dct:license on the dataset: the distribution's licence.
    assert_eq!(cell(&d, id, "licence").as_deref(), Some(DL_BY_DE));
    assert_eq!(cell(&d, id, "publisher"), None);
    assert_eq!(
        cell(&d, id, "catalogue").as_deref(),
        Some("https://govdata.de/#catalog")
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n == "catalogue https://govdata.de/#catalog: GovData"),
        "{:?}",
        d.notes
    );

    let r = dcat_file(&path, DISTRIBUTIONS);
    let dist = "https://example.com/resource/a289c289-55c9-410f-b4c7-f88e5f6f4e47#distribution";
    assert_eq!(
        cell(&r, dist, "download_url").as_deref(),
        Some("http://example.com/Badegewaesser_HH_2004-2013.zip")
    );
    assert_eq!(cell(&r, dist, "format"), None);
    assert_eq!(int_cell(&r, dist, "byte_size"), None);
}

#[test]
fn advanced_example_values() {
    let Some(path) = shared("dcat-ap-de/dcat_ap_de-RefImp_TTL_ADVANCED.ttl") else {
        return;
    };
    let d = dcat_file(&path, DATASETS);
    let bathing = "https://example.com/dataset/d4ce4e6e-ab89-44cb-bf5c-33a162c234de#dataset";
    let police = "https://example.com/dataset/68180d85-df56-48e0-993e-b9da36103a72#dataset";
    assert_eq!(
        cell(&d, bathing, "title").as_deref(),
        Some("Badegewässer in Hamburg")
    );
    assert_eq!(
        cell(&d, bathing, "publisher").as_deref(),
        Some("Behörde für Umwelt und Energie (BUE), Amt für Umweltschutz")
    );
    assert_eq!(
        cell(&d, bathing, "keywords").as_deref(),
        Some("badestelle|gewaesserqualitaet|umweltueberwachung|wasser|wasserbelastung")
    );
    assert_eq!(cell(&d, bathing, "themes"), Some(format!("{TAXONOMY}ENVI")));
    assert_eq!(cell(&d, bathing, "licence").as_deref(), Some(DL_BY_DE));
    assert_eq!(int_cell(&d, bathing, "distribution_count"), Some(2));
    assert_eq!(
        cell(&d, police, "publisher").as_deref(),
        Some("Behörde für Inneres und Sport, Polizei Hamburg")
    );
    assert_eq!(
        cell(&d, police, "keywords").as_deref(),
        Some("Polizei|Polizeikommissariatsgrenzen|Polizeireviere")
    );
    assert_eq!(cell(&d, police, "themes"), Some(format!("{TAXONOMY}GOVE")));
    assert_eq!(int_cell(&d, police, "distribution_count"), Some(1));

    let r = dcat_file(&path, DISTRIBUTIONS);
    let csv = "https://example.com/resource/de72be51-7910-43ad-9dfc-10797b42cc0b#distribution";
    assert_eq!(cell(&r, csv, "dataset_id").as_deref(), Some(bathing));
    assert_eq!(
        cell(&r, csv, "title").as_deref(),
        Some("Download Historische Messwerte Hamburg, 2004-2013 (CSV)")
    );
    assert_eq!(cell(&r, csv, "format").as_deref(), Some("CSV"));
    assert_eq!(
        cell(&r, csv, "download_url").as_deref(),
        Some(
            "http://example.com/badegewaesser/Badegewaesser_messwerte_historisch_HH_2004-2013.zip"
        )
    );
    assert_eq!(
        cell(&r, csv, "access_url").as_deref(),
        Some("https://example.com/resource/de72be51-7910-43ad-9dfc-10797b42cc0b")
    );
    assert_eq!(
        cell(&r, csv, "modified").as_deref(),
        Some("2018-09-04T19:39:09")
    );
    assert_eq!(int_cell(&r, csv, "byte_size"), Some(42702));
    let xml = "https://example.com/resource/a289c289-55c9-410f-b4c7-f88e5f6f4e47#distribution";
    assert_eq!(cell(&r, xml, "format").as_deref(), Some("XML"));
    assert_eq!(int_cell(&r, xml, "byte_size"), Some(5056));
    let gml = "http://example.com/resource/e3df4ce6-4729-4b06-9a0a-4fe29db46f88#distribution";
    assert_eq!(cell(&r, gml, "format").as_deref(), Some("GML"));
    assert_eq!(
        cell(&r, gml, "download_url").as_deref(),
        Some(
            "https://example.com/HH_WFS_PKGrenzen?SERVICE=WFS&VERSION=1.1.0&REQUEST=GetFeature&typename=app:pk_grenzen"
        )
    );
    assert_eq!(int_cell(&r, gml, "byte_size"), Some(935108));
    assert_eq!(cell(&r, gml, "licence").as_deref(), Some(DL_BY_DE));
}

#[test]
fn ckanext_dcatde_catalogue_endpoint_values() {
    let Some(path) = shared("dcat-ap-de/ckanext-dcatde_catalog-endpoint.rdf") else {
        return;
    };
    let d = dcat_file(&path, DATASETS);
    let base = "http://data.example-domain.de/dataset/";
    let tenders = format!("{base}63961baa-2fd0-40d4-9242-4a9640ff5f1e");
    assert_eq!(
        cell(&d, &tenders, "title").as_deref(),
        Some("Aktuelle Ausschreibungen nach VOL, VOB, VOF oder für Interessenbekundungsverfahren")
    );
    assert_eq!(int_cell(&d, &tenders, "distribution_count"), Some(7));
    assert_eq!(
        cell(&d, &tenders, "publisher").as_deref(),
        Some("Datenportal Berlin")
    );
    assert_eq!(
        cell(&d, &tenders, "contributor_id").as_deref(),
        Some("http://datenregister.berlin.de")
    );
    assert_eq!(
        cell(&d, &tenders, "licence").as_deref(),
        Some("http://dcat-ap.de/def/licenses/cc-by")
    );
    assert_eq!(
        cell(&d, &tenders, "keywords").map(|k| k.split('|').count()),
        Some(12)
    );
    assert_eq!(
        cell(&d, &tenders, "landing_page").as_deref(),
        Some("http://www.berlin.de/ba-lichtenberg/wirtschaft/ausschreibung/")
    );
    assert_eq!(
        cell(&d, &tenders, "issued").as_deref(),
        Some("2015-01-19T09:12:31.072938")
    );
    assert_eq!(
        cell(&d, &tenders, "catalogue").as_deref(),
        Some("http://data.example-domain.de")
    );

    // Two dct:Location nodes: the WKT geometry wins over GeoJSON and administrative units.
    let geest = format!("{base}bd2d4fa6-e9ad-470d-888b-5eb1378d39e9");
    assert_eq!(
        cell(&d, &geest, "spatial").as_deref(),
        Some(
            "POLYGON ((10.3263 53.3949, 10.3263 53.9641, 8.4205 53.9641, 8.4205 53.3949, 10.3263 53.3949))"
        )
    );
    assert_eq!(
        cell(&d, &geest, "publisher").as_deref(),
        Some("Behörde für Umwelt und Energie (BUE), Amt für Umweltschutz")
    );
    // A dataset with a distribution under a different licence lists both.
    let offen = format!("{base}4ade8a03-2801-471a-8f7f-97c70265e7eb");
    assert_eq!(
        cell(&d, &offen, "licence").as_deref(),
        Some(
            "http://dcat-ap.de/def/licenses/cc-by-nd|http://dcat-ap.de/def/licenses/dl-zero-de/2.0"
        )
    );
    let migration = format!("{base}3ca58f59-adfd-4ae7-a277-1707973fd755");
    assert_eq!(
        cell(&d, &migration, "themes"),
        Some(format!("{TAXONOMY}EDUC|{TAXONOMY}TECH"))
    );

    let r = dcat_file(&path, DISTRIBUTIONS);
    let zip = format!("{geest}/resource/7322bc08-a30e-42d0-aff0-2c90864ed72a");
    assert_eq!(cell(&r, &zip, "media_type").as_deref(), Some("ZIP"));
    assert_eq!(int_cell(&r, &zip, "byte_size"), Some(222441));
    assert_eq!(
        cell(&r, &zip, "download_url").as_deref(),
        Some(
            "http://daten-hamburg.de/umwelt_klima/naturraeume_geest_und_marsch/Naturraeume_Geest_und_Marsch_HH_2017-02-20.zip"
        )
    );
    let gml = format!("{geest}/resource/d1dc16a1-9a67-4e67-b88f-2c6c0441a292");
    assert_eq!(
        cell(&r, &gml, "media_type").as_deref(),
        Some("application/gml+xml")
    );
    assert_eq!(int_cell(&r, &gml, "byte_size"), Some(685246));
    let rss = format!("{tenders}/resource/1cf0b32f-fb00-4fa7-ad3e-1c9ca78712f6");
    assert_eq!(cell(&r, &rss, "format").as_deref(), Some("JRSS"));
    let viewer = format!(
        "{base}0ee2fe79-fc37-400d-a8ca-4915b0295aec/resource/cab9daa0-8f30-48b7-a4f0-2cad6bc4c0e9"
    );
    assert_eq!(cell(&r, &viewer, "format").as_deref(), Some("KARTENVIEWER"));
    assert_eq!(
        cell(&r, &viewer, "access_url").as_deref(),
        Some("http://www.geoportal.rlp.de:80/portal/karten.html?LAYER[zoom]=1&LAYER[id]=38836")
    );
    // The page's own paging block has no next page: nothing to note.
    assert!(
        !r.notes.iter().any(|n| n.contains("next page")),
        "{:?}",
        r.notes
    );
}

#[test]
fn metadata_max_reads_through_sloppy_iris() {
    // ckanext-dcatde's fixture has `tel:+49 40 4 28 40 - 3494`, an IRI with spaces.
    let Some(path) = shared("dcat-ap-de/ckanext-dcatde_metadata_max.rdf") else {
        return;
    };
    let d = dcat_file(&path, DATASETS);
    let id = "http://mtest6.gd.swe.seitenbau.net:5000/dataset/bd2d4fa6-e9ad-470d-888b-5eb1378d39e9";
    assert_eq!(
        cell(&d, id, "title").as_deref(),
        Some("Naturräume Geest und Marsch")
    );
    assert_eq!(
        cell(&d, id, "themes"),
        Some(format!("{TAXONOMY}AGRI|{TAXONOMY}ENVI"))
    );
    // No catalogue in the file: the origin stands in.
    assert_eq!(cell(&d, id, "catalogue"), Some(path.display().to_string()));
    // The DataService behind the first distribution is not a dataset.
    assert!(
        d.notes.iter().any(|n| n.contains("1 dcat:DataService")),
        "{:?}",
        d.notes
    );
    let r = dcat_file(&path, DISTRIBUTIONS);
    let zip = format!("{id}/resource/e725a934-a827-4581-b040-24721b72e918");
    assert_eq!(
        cell(&r, &zip, "title").as_deref(),
        Some("Download WFS Naturräume Geest und Marsch (ZIP)")
    );
    assert_eq!(
        cell(&r, &zip, "licence").as_deref(),
        Some("http://dcat-ap.de/def/licenses/dl-by-de/2_0")
    );
}

#[test]
fn data_service_example_skips_the_service_and_names_blank_nodes() {
    let Some(path) = shared("dcat-ap-de/ex-23-dataservice.rdf") else {
        return;
    };
    let origin = path.display().to_string();
    let d = dcat_file(&path, DATASETS);
    // The dataset is a blank node (rdf:nodeID): it is named after the origin.
    let id = format!("{origin}#dataset-1");
    assert_eq!(
        cell(&d, &id, "title").as_deref(),
        Some("Kontaktdaten aller deutschen Polizeidienststellen")
    );
    // adms:sample is not a distribution.
    assert_eq!(int_cell(&d, &id, "distribution_count"), Some(2));
    assert_eq!(
        cell(&d, &id, "licence").as_deref(),
        Some("http://dcat-ap.de/def/licenses/dl-zero-de/2.0")
    );
    assert_eq!(
        cell(&d, &id, "spatial").as_deref(),
        Some("http://publications.europa.eu/mdr/resource/authority/country/DEU")
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("1 dcat:DataService resource(s) skipped")),
        "{:?}",
        d.notes
    );

    let r = dcat_file(&path, DISTRIBUTIONS);
    let mut rows = sorted_rows(&r);
    rows.iter_mut().for_each(|row| row.truncate(4));
    assert_eq!(
        rows,
        vec![
            vec![id.clone(), format!("{id}#distribution-1"), "Kontaktdaten aller deutschen Polizeidienststellen".into(), "XML".into()],
            vec![id.clone(), format!("{id}#distribution-2"), "Distribution die zum Datenservice für die Kontaktdaten aller deutschen Polizeidienststellen gehört".into(), "JSON".into()],
        ]
    );
    assert_eq!(
        int_cell(&r, &format!("{id}#distribution-1"), "byte_size"),
        Some(2_500_000_000)
    );
    // Parsing twice gives the same ids (blank-node labels do not leak into the table).
    assert_eq!(
        sorted_rows(&dcat_file(&path, DISTRIBUTIONS)),
        sorted_rows(&r)
    );
}

#[test]
fn uag_example_is_turtle_once_its_first_line_is_a_comment() {
    let Some(path) = shared("dcat-ap-de/2024-02-22_UAG_Beispieldatensatz_v1.ttl") else {
        return;
    };
    let (origin, bytes) = page(&path);
    let (error_origin, reason) = malformed(parse_dcat(
        DATASETS,
        &[(origin.clone(), bytes.clone())],
        None,
    ));
    assert_eq!(error_origin, origin);
    assert!(
        reason.starts_with("Turtle syntax error at line 1, column 1"),
        "{reason}"
    );
    assert!(reason.contains("Stand"), "{reason}");

    let fixed = [b"# ".as_slice(), &bytes].concat();
    let pages = [(origin.clone(), fixed)];
    let d = parse_dcat(DATASETS, &pages, None).unwrap();
    let id = "http://www.example.org/dataset/12345678-9abc-4729-9044-f4d4ceaed491";
    assert_eq!(d.batch.num_rows(), 1);
    assert_eq!(cell(&d, id, "title").as_deref(), Some("Haushaltsplan"));
    assert_eq!(
        cell(&d, id, "publisher").as_deref(),
        Some("Finanzministerium")
    );
    assert_eq!(
        cell(&d, id, "keywords").as_deref(),
        Some("Haushalt|Haushaltsplan")
    );
    assert_eq!(
        cell(&d, id, "themes"),
        Some(format!("{TAXONOMY}ECON|{TAXONOMY}GOVE"))
    );
    assert_eq!(
        cell(&d, id, "licence").as_deref(),
        Some("http://dcat-ap.de/def/licenses/officialWork")
    );
    assert_eq!(
        cell(&d, id, "contributor_id").as_deref(),
        Some("http://dcat-ap.de/def/contributors/ORGANISATION")
    );
    assert_eq!(
        cell(&d, id, "issued").as_deref(),
        Some("2024-02-14T13:45:00.000Z")
    );
    assert_eq!(
        cell(&d, id, "modified").as_deref(),
        Some("2024-02-22T14:28:09.000")
    );
    assert_eq!(
        cell(&d, id, "spatial").as_deref(),
        Some("POLYGON((7.278 52.567,7.278 52.582,7.31 52.582,7.31 52.567,7.278 52.567))")
    );
    assert_eq!(cell(&d, id, "landing_page"), None); // foaf:page is not dcat:landingPage
    assert_eq!(cell(&d, id, "catalogue"), Some(origin));

    // The empty blank-node distribution ("accessURL + license fehlt noch") is kept, named
    // after its dataset, and inherits the dataset's licence.
    let r = parse_dcat(DISTRIBUTIONS, &pages, None).unwrap();
    let dist = format!("{id}#distribution-1");
    assert_eq!(r.batch.num_rows(), 1);
    assert_eq!(cell(&r, &dist, "access_url"), None);
    assert_eq!(
        cell(&r, &dist, "licence").as_deref(),
        Some("http://dcat-ap.de/def/licenses/officialWork")
    );
}

const PREFIXES: &str =
    "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n@prefix dct: <http://purl.org/dc/terms/> .\n";

fn turtle(body: &str) -> Vec<(String, Vec<u8>)> {
    vec![(
        "inline.ttl".to_string(),
        format!("{PREFIXES}{body}").into_bytes(),
    )]
}

#[test]
fn german_literals_are_preferred() {
    let pages = turtle(
        r#"<http://x/a> a dcat:Dataset ;
             dct:title "Trees"@en, "Bäume"@de, "Baeume" ;
             dct:description "Trees of the city"@en, "Stadtbäume" ;
             dcat:keyword "tree"@en, "Baum"@de, "Straße"@de-DE, "untagged" .
           <http://x/b> a dcat:Dataset ; dct:title "Trees"@en, "Arbres"@fr .
           <http://x/c> a dcat:Dataset ; dct:title "Trees"@en, "Bäume" ."#,
    );
    let d = parse_dcat(DATASETS, &pages, Some(RdfSyntax::Turtle)).unwrap();
    assert_eq!(cell(&d, "http://x/a", "title").as_deref(), Some("Bäume"));
    assert_eq!(
        cell(&d, "http://x/a", "description").as_deref(),
        Some("Stadtbäume")
    );
    assert_eq!(
        cell(&d, "http://x/a", "keywords").as_deref(),
        Some("Baum|Straße")
    );
    // Only other languages: any of them, the same whatever the order (the smallest).
    assert_eq!(cell(&d, "http://x/b", "title").as_deref(), Some("Arbres"));
    assert_eq!(cell(&d, "http://x/c", "title").as_deref(), Some("Bäume"));
}

#[test]
fn a_dataset_without_title_goes_to_quarantine() {
    let pages = turtle(
        r#"<http://x/ds1> a dcat:Dataset ; dct:title "Mit Titel" ; dcat:distribution <http://x/d1> .
           <http://x/ds2> a dcat:Dataset ; dct:description "Ohne Titel" ;
             dcat:distribution <http://x/d2>, <http://x/d3> .
           <http://x/d1> a dcat:Distribution ; dcat:accessURL <http://x/f1.csv> ."#,
    );
    let d = parse_dcat(DATASETS, &pages, None).unwrap();
    assert_eq!(d.batch.num_rows(), 1);
    assert_eq!(d.rows_read, 2);
    assert_eq!(d.quarantine.len(), 1);
    let q = &d.quarantine[0];
    assert_eq!(q.line, 2);
    assert!(q.reason.contains("dct:title"), "{}", q.reason);
    assert!(q.raw.starts_with("http://x/ds2 (4 triples:"), "{}", q.raw);
    assert!(q.raw.contains("description=\"Ohne Titel\""), "{}", q.raw);

    // Its distributions are quarantined with it, numbered as distributions.
    let r = parse_dcat(DISTRIBUTIONS, &pages, None).unwrap();
    assert_eq!(strings(&r, "id").value(0), "http://x/d1");
    assert_eq!(r.batch.num_rows(), 1);
    assert_eq!(
        r.quarantine.iter().map(|q| q.line).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(
        r.quarantine[0].reason.contains("http://x/ds2"),
        "{}",
        r.quarantine[0].reason
    );
    accounted(&r);
}

#[test]
fn malformed_documents_give_the_parser_position() {
    let (origin, reason) = malformed(parse_dcat(
        DATASETS,
        &turtle("<http://x/a> a dcat:Dataset ;\n  dct:title \"unterminated ;\n"),
        None,
    ));
    assert_eq!(origin, "inline.ttl");
    assert!(
        reason.starts_with("Turtle syntax error at line 4, column"),
        "{reason}"
    );

    let xml = "<?xml version=\"1.0\"?>\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:dct=\"http://purl.org/dc/terms/\">\n  <rdf:Description rdf:about=\"http://x/a\">\n    <dct:title>A</dct:title>\n  </rdf:Descriptio>\n</rdf:RDF>\n";
    let (_, reason) = malformed(parse_dcat(
        DATASETS,
        &[("broken.rdf".into(), xml.as_bytes().to_vec())],
        None,
    ));
    assert!(
        reason.starts_with("RDF/XML syntax error at line 5, column"),
        "{reason}"
    );

    let json = "{\"@id\": \"http://x/a\",\n \"http://purl.org/dc/terms/title\": [1,}";
    let (_, reason) = malformed(parse_dcat(
        DATASETS,
        &[("broken.jsonld".into(), json.as_bytes().to_vec())],
        None,
    ));
    assert!(
        reason.starts_with("JSON-LD syntax error at line 2, column"),
        "{reason}"
    );

    // An empty document has no syntax to detect.
    let (_, reason) = malformed(parse_dcat(
        DATASETS,
        &[("catalog".into(), Vec::new())],
        None,
    ));
    assert!(reason.contains("cannot tell its RDF syntax"), "{reason}");
}

#[test]
fn syntax_comes_from_the_extension_else_the_content() {
    assert_eq!(
        RdfSyntax::from_path("a/b/katalog.TTL"),
        Some(RdfSyntax::Turtle)
    );
    assert_eq!(
        RdfSyntax::from_path("https://data.example.de/catalog.rdf?page=2"),
        Some(RdfSyntax::RdfXml)
    );
    assert_eq!(RdfSyntax::from_path("export.xml"), Some(RdfSyntax::RdfXml));
    assert_eq!(RdfSyntax::from_path("x.jsonld"), Some(RdfSyntax::JsonLd));
    assert_eq!(RdfSyntax::from_path("x.json"), Some(RdfSyntax::JsonLd));
    assert_eq!(
        RdfSyntax::from_path("https://data.example.de/catalog?format=ttl"),
        None
    );
    assert_eq!(RdfSyntax::from_path("readme.txt"), None);

    assert_eq!(
        RdfSyntax::sniff(b"  <http://x/a> <http://x/p> \"o\" ."),
        Some(RdfSyntax::Turtle)
    );
    assert_eq!(
        RdfSyntax::sniff(b"@prefix dcat: <http://www.w3.org/ns/dcat#> ."),
        Some(RdfSyntax::Turtle)
    );
    assert_eq!(
        RdfSyntax::sniff(b"PREFIX dct: <http://purl.org/dc/terms/>"),
        Some(RdfSyntax::Turtle)
    );
    assert_eq!(
        RdfSyntax::sniff(b"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>"),
        Some(RdfSyntax::RdfXml)
    );
    assert_eq!(
        RdfSyntax::sniff(b"\xEF\xBB\xBF\n[{\"@id\": \"x\"}]"),
        Some(RdfSyntax::JsonLd)
    );
    assert_eq!(RdfSyntax::sniff(b" \n\t"), None);
    assert_eq!(
        RdfSyntax::detect("catalog.ttl", b"{}"),
        Some(RdfSyntax::Turtle)
    );
    assert_eq!(
        RdfSyntax::detect("https://x/catalog", b"{}"),
        Some(RdfSyntax::JsonLd)
    );

    // Every reference file is recognised by content alone.
    let Some(dir) = shared("dcat-ap-de") else {
        return;
    };
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(by_name) = RdfSyntax::from_path(&name) else {
            continue;
        };
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(RdfSyntax::sniff(&bytes), Some(by_name), "{name}");
        // ... and parses the same when it has no telling name.
        if name.starts_with("dcat_ap_de-RefImp") {
            let by_content =
                parse_dcat(DISTRIBUTIONS, &[("https://x/catalog".into(), bytes)], None).unwrap();
            assert_eq!(
                by_content.batch.num_rows(),
                dcat_file(&path, DISTRIBUTIONS).batch.num_rows(),
                "{name}"
            );
        }
    }
}

const ENDPOINT: &str = "http://data.example-domain.de/catalog.rdf?page=";

fn hydra_pages() -> Vec<(String, Vec<u8>)> {
    (1..=3)
        .map(|n| {
            (
                format!("{ENDPOINT}{n}"),
                fixture(&format!("dcat/catalog_page{n}.rdf")),
            )
        })
        .collect()
}

#[test]
fn hydra_paging_is_followed_to_the_last_page() {
    let fetch = Recorded::new(hydra_pages());
    let d = harvest_dcat(&fetch, &format!("{ENDPOINT}1"), DATASETS, 10).unwrap();
    assert_eq!(
        fetch.requested(),
        vec![
            format!("{ENDPOINT}1"),
            format!("{ENDPOINT}2"),
            format!("{ENDPOINT}3")
        ]
    );
    assert_eq!(d.batch.num_rows(), 6);
    assert!(d.quarantine.is_empty());
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("read 3 Hydra page(s)")),
        "{:?}",
        d.notes
    );
    assert!(
        !d.notes.iter().any(|n| n.contains("totalItems")),
        "{:?}",
        d.notes
    );
    // The catalogue is named once, not once per page.
    let named = d
        .notes
        .iter()
        .filter(|n| *n == "catalogue http://data.example-domain.de: CKAN")
        .count();
    assert_eq!(named, 1, "{:?}", d.notes);
    let base = "http://data.example-domain.de/dataset/";
    // Page 2 (reached by hydra:nextPage as a literal) and page 3 (by hydra:next as an IRI).
    let election = format!("{base}0ee2fe79-fc37-400d-a8ca-4915b0295aec");
    assert_eq!(
        cell(&d, &election, "publisher").as_deref(),
        Some("Datenportal Rheinland-Pfalz")
    );
    assert_eq!(
        cell(&d, &election, "spatial").map(|s| s.starts_with("{\"type\": \"Polygon\"")),
        Some(true)
    );
    let geest = format!("{base}bd2d4fa6-e9ad-470d-888b-5eb1378d39e9");
    assert_eq!(
        cell(&d, &geest, "title").as_deref(),
        Some("Naturräume Geest und Marsch")
    );
    assert_eq!(
        cell(&d, &geest, "catalogue").as_deref(),
        Some("http://data.example-domain.de")
    );

    let fetch = Recorded::new(hydra_pages());
    let r = harvest_dcat(&fetch, &format!("{ENDPOINT}1"), DISTRIBUTIONS, 3).unwrap();
    assert_eq!(r.batch.num_rows(), 11);
    let zip = format!("{geest}/resource/7322bc08-a30e-42d0-aff0-2c90864ed72a");
    assert_eq!(int_cell(&r, &zip, "byte_size"), Some(222441));
    assert_eq!(cell(&r, &zip, "dataset_id"), Some(geest));

    // The same pages read without paging give the same rows, and say where paging would go.
    let parsed = parse_dcat(DISTRIBUTIONS, &hydra_pages(), None).unwrap();
    assert_eq!(sorted_rows(&parsed), sorted_rows(&r));
    assert_eq!(
        parsed
            .notes
            .iter()
            .filter(|n| n.contains("not read"))
            .count(),
        2
    );
}

#[test]
fn hydra_total_items_that_disagree_are_noted() {
    let mut pages = hydra_pages();
    let first = String::from_utf8(pages[0].1.clone()).unwrap();
    pages[0].1 = first
        .replace(
            "integer\">6</hydra:totalItems>",
            "integer\">7</hydra:totalItems>",
        )
        .into_bytes();
    // totalItems of the last page wins: make all of them say 7.
    for page in &mut pages[1..] {
        let text = String::from_utf8(page.1.clone()).unwrap();
        page.1 = text
            .replace(
                "integer\">6</hydra:totalItems>",
                "integer\">7</hydra:totalItems>",
            )
            .into_bytes();
    }
    let d = harvest_dcat(&Recorded::new(pages), &format!("{ENDPOINT}1"), DATASETS, 5).unwrap();
    assert!(
        d.notes
            .iter()
            .any(|n| n == "hydra:totalItems says 7 datasets, 6 were read"),
        "{:?}",
        d.notes
    );
}

#[test]
fn hydra_loops_and_too_many_pages_are_errors() {
    let mut pages = hydra_pages();
    let last = String::from_utf8(pages[2].1.clone()).unwrap();
    pages[2].1 = last
        .replace(
            "</hydra:PagedCollection>",
            &format!("<hydra:nextPage>{ENDPOINT}1</hydra:nextPage></hydra:PagedCollection>"),
        )
        .into_bytes();
    let fetch = Recorded::new(pages);
    let (origin, reason) = malformed(harvest_dcat(&fetch, &format!("{ENDPOINT}1"), DATASETS, 10));
    assert_eq!(origin, format!("{ENDPOINT}1"));
    assert!(reason.contains("loops"), "{reason}");
    assert!(reason.contains(&format!("{ENDPOINT}1")), "{reason}");
    assert_eq!(fetch.requested().len(), 3);

    let fetch = Recorded::new(hydra_pages());
    let (_, reason) = malformed(harvest_dcat(&fetch, &format!("{ENDPOINT}1"), DATASETS, 2));
    assert!(reason.contains("max_pages = 2"), "{reason}");
    assert_eq!(fetch.requested().len(), 2);

    // A page that cannot be fetched is the fetcher's error.
    let mut pages = hydra_pages();
    pages.remove(1);
    match harvest_dcat(&Recorded::new(pages), &format!("{ENDPOINT}1"), DATASETS, 5) {
        Err(Error::Http { url, .. }) => assert_eq!(url, format!("{ENDPOINT}2")),
        other => panic!("expected Http, got {other:?}"),
    }
    assert!(matches!(
        harvest_dcat(
            &Recorded::new(hydra_pages()),
            &format!("{ENDPOINT}1"),
            DATASETS,
            0
        ),
        Err(Error::Spec(_))
    ));
}

#[test]
fn a_dataset_on_two_pages_is_kept_once() {
    let pages = hydra_pages();
    let twice = vec![pages[0].clone(), pages[0].clone()];
    let d = parse_dcat(DATASETS, &twice, None).unwrap();
    assert_eq!(d.batch.num_rows(), 2);
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("2 dataset(s) came more than once")),
        "{:?}",
        d.notes
    );
}

const API: &str = "https://opendata.musterstadt.example/api/3/action";

fn ckan_pages() -> Vec<(String, Vec<u8>)> {
    [0, 2, 4]
        .into_iter()
        .map(|start| {
            (
                format!("{API}/package_search?rows=2&start={start}&sort=name%20asc"),
                fixture(&format!("ckan/package_search_start{start}.json")),
            )
        })
        .collect()
}

const BAUM: &str = "7c0e3a55-2f4b-4d1e-8a6c-91b2d3e4f5a6";
const HAUSHALT: &str = "c4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70";

#[test]
fn ckan_package_search_pages_become_both_tables() {
    let d = parse_ckan(DATASETS, &ckan_pages()).unwrap();
    assert_eq!(d.batch.num_rows(), 4);
    assert_eq!(d.rows_read, 5);
    accounted(&d);
    let q = &d.quarantine[0];
    assert_eq!(q.line, 5);
    assert!(q.reason.contains("title"), "{}", q.reason);
    assert!(
        q.raw.starts_with("name=wochenmaerkte id=f0e1d2c3-"),
        "{}",
        q.raw
    );

    assert_eq!(cell(&d, BAUM, "title").as_deref(), Some("Baumkataster"));
    assert_eq!(
        cell(&d, BAUM, "publisher").as_deref(),
        Some("Stadt Musterstadt")
    );
    assert_eq!(cell(&d, BAUM, "licence").as_deref(), Some("dl-by-de/2.0"));
    assert_eq!(
        cell(&d, BAUM, "keywords").as_deref(),
        Some("baeume|stadtgruen|umwelt")
    );
    assert_eq!(cell(&d, BAUM, "themes").as_deref(), Some("envi"));
    assert_eq!(
        cell(&d, BAUM, "contributor_id").as_deref(),
        Some("http://dcat-ap.de/def/contributors/musterstadt")
    );
    assert_eq!(
        cell(&d, BAUM, "issued").as_deref(),
        Some("2020-05-04T00:00:00")
    );
    assert_eq!(
        cell(&d, BAUM, "modified").as_deref(),
        Some("2024-03-02T06:00:13.123456")
    );
    assert_eq!(
        cell(&d, BAUM, "landing_page").as_deref(),
        Some("https://www.musterstadt.example/umwelt/baumkataster")
    );
    assert_eq!(
        cell(&d, BAUM, "spatial").as_deref(),
        Some("http://dcat-ap.de/def/politicalGeocoding/municipalityKey/09162000")
    );
    assert_eq!(
        cell(&d, BAUM, "catalogue").as_deref(),
        Some("https://opendata.musterstadt.example")
    );
    assert_eq!(int_cell(&d, BAUM, "distribution_count"), Some(2));
    assert_eq!(cell(&d, HAUSHALT, "themes").as_deref(), Some("econ|gove"));
    assert_eq!(
        cell(&d, HAUSHALT, "licence").as_deref(),
        Some("dl-zero-de/2.0")
    );
    assert_eq!(
        cell(&d, HAUSHALT, "issued").as_deref(),
        Some("2023-12-14T09:05:10.440021")
    );
    assert_eq!(
        cell(&d, HAUSHALT, "modified").as_deref(),
        Some("2023-12-14T09:00:00")
    );
    assert_eq!(cell(&d, HAUSHALT, "landing_page"), None);

    let r = parse_ckan(DISTRIBUTIONS, &ckan_pages()).unwrap();
    assert_eq!(r.batch.num_rows(), 8);
    assert_eq!(r.quarantine.len(), 1);
    assert_eq!(r.quarantine[0].line, 9);
    accounted(&r);
    let csv = "e1f2a3b4-0001-4c5d-9e8f-112233445566";
    let upload = format!(
        "https://opendata.musterstadt.example/dataset/{BAUM}/resource/{csv}/download/baumkataster.csv"
    );
    assert_eq!(cell(&r, csv, "dataset_id").as_deref(), Some(BAUM));
    assert_eq!(
        cell(&r, csv, "title").as_deref(),
        Some("Baumkataster (CSV)")
    );
    assert_eq!(cell(&r, csv, "format").as_deref(), Some("CSV"));
    assert_eq!(cell(&r, csv, "media_type").as_deref(), Some("text/csv"));
    assert_eq!(cell(&r, csv, "access_url"), Some(upload.clone()));
    assert_eq!(cell(&r, csv, "download_url"), Some(upload));
    assert_eq!(cell(&r, csv, "licence").as_deref(), Some("dl-by-de/2.0"));
    assert_eq!(
        cell(&r, csv, "modified").as_deref(),
        Some("2024-03-02T06:00:12.004211")
    );
    assert_eq!(int_cell(&r, csv, "byte_size"), Some(5_326_411));
    // `size` as a string, a file format linked (not uploaded): still the download URL.
    let xlsx = "e1f2a3b4-0002-4c5d-9e8f-112233445566";
    assert_eq!(int_cell(&r, xlsx, "byte_size"), Some(4_193_027));
    assert_eq!(
        cell(&r, xlsx, "download_url").as_deref(),
        Some("https://www.musterstadt.example/fileadmin/gruenflaechen/baumkataster.xlsx")
    );
    let geojson = "7d8e9f0a-0001-4b2c-9d3e-4f5a6b7c8d9e";
    assert_eq!(cell(&r, geojson, "format").as_deref(), Some("GEOJSON"));
    assert_eq!(
        catalogue::connector_format(&cell(&r, geojson, "format").unwrap()),
        Some(allmende_connectors::Format::Geojson)
    );
    // A WMS is a service: an access URL, no download.
    let wms = "7d8e9f0a-0002-4b2c-9d3e-4f5a6b7c8d9e";
    assert_eq!(cell(&r, wms, "format").as_deref(), Some("WMS"));
    assert_eq!(cell(&r, wms, "download_url"), None);
    assert!(
        cell(&r, wms, "access_url")
            .unwrap()
            .contains("REQUEST=GetCapabilities")
    );
    let pdf = "0a1b2c3d-0002-4e5f-8a9b-c0d1e2f3a4b5";
    assert_eq!(int_cell(&r, pdf, "byte_size"), None);
    assert_eq!(cell(&r, pdf, "licence").as_deref(), Some("dl-zero-de/2.0"));
}

#[test]
fn ckan_harvest_pages_until_count() {
    let fetch = Recorded::new(ckan_pages());
    let d = harvest_ckan(&fetch, &format!("{API}/"), DATASETS, None, 2, 10).unwrap();
    let expected: Vec<String> = ckan_pages().into_iter().map(|(url, _)| url).collect();
    assert_eq!(fetch.requested(), expected);
    assert_eq!(d.batch.num_rows(), 4);
    assert_eq!(d.quarantine.len(), 1);
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("read 3 package_search page(s) of 2 rows")),
        "{:?}",
        d.notes
    );
    assert_eq!(
        sorted_rows(&d),
        sorted_rows(&parse_ckan(DATASETS, &ckan_pages()).unwrap())
    );
    let r = harvest_ckan(&Recorded::new(ckan_pages()), API, DISTRIBUTIONS, None, 2, 3).unwrap();
    assert_eq!(r.batch.num_rows(), 8);

    // 5 datasets need 3 pages of 2: with max_pages 2 the first page tells, nothing more is read.
    let fetch = Recorded::new(ckan_pages());
    let (_, reason) = malformed(harvest_ckan(&fetch, API, DATASETS, None, 2, 2));
    assert!(
        reason.contains("5 datasets: 3 pages of 2 rows, more than max_pages = 2"),
        "{reason}"
    );
    assert_eq!(fetch.requested().len(), 1);

    // The query is encoded into the URL.
    let fetch = Recorded::new(Vec::new());
    let result = harvest_ckan(&fetch, API, DATASETS, Some("Haushalt 2024"), 50, 4);
    assert!(matches!(result, Err(Error::Http { .. })));
    assert_eq!(
        fetch.requested(),
        vec![format!(
            "{API}/package_search?rows=50&start=0&sort=name%20asc&q=Haushalt%202024"
        )]
    );
    assert!(matches!(
        harvest_ckan(&Recorded::new(ckan_pages()), API, DATASETS, None, 0, 4),
        Err(Error::Spec(_))
    ));
}

#[test]
fn ckan_errors_are_malformed_with_ckans_message() {
    let url = format!("{API}/package_show?id=gibt-es-nicht");
    let page = (url.clone(), fixture("ckan/package_show_not_found.json"));
    let (origin, reason) = malformed(parse_ckan(DATASETS, std::slice::from_ref(&page)));
    assert_eq!(origin, url);
    assert_eq!(reason, "CKAN reports an error: Not Found Error: Not found");
    let err = parse_ckan(DATASETS, &[page]).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{url}: CKAN reports an error")),
        "{err}"
    );

    // The same answer in the middle of a harvest stops it.
    let mut pages = ckan_pages();
    pages[1].1 = fixture("ckan/package_show_not_found.json");
    let (origin, _) = malformed(harvest_ckan(
        &Recorded::new(pages),
        API,
        DATASETS,
        None,
        2,
        5,
    ));
    assert_eq!(origin, ckan_pages()[1].0);

    // Not an Action API response at all.
    let (_, reason) = malformed(parse_ckan(
        DATASETS,
        &[("x.json".into(), b"{\"data\": []}".to_vec())],
    ));
    assert!(reason.contains("no \"result\""), "{reason}");
    assert!(matches!(
        parse_ckan(DATASETS, &[("x.json".into(), b"{oops".to_vec())]),
        Err(Error::Json { .. })
    ));
}

#[test]
fn ckan_package_show_is_one_dataset() {
    let page = (
        format!("{API}/package_show?id=haushaltsplan-2024"),
        fixture("ckan/package_show_haushaltsplan-2024.json"),
    );
    let d = parse_ckan(DATASETS, std::slice::from_ref(&page)).unwrap();
    assert_eq!(d.batch.num_rows(), 1);
    assert_eq!(
        cell(&d, HAUSHALT, "title").as_deref(),
        Some("Haushaltsplan 2024")
    );
    assert_eq!(
        cell(&d, HAUSHALT, "publisher").as_deref(),
        Some("Stadt Musterstadt")
    );
    assert_eq!(int_cell(&d, HAUSHALT, "distribution_count"), Some(2));
    let r = parse_ckan(DISTRIBUTIONS, &[page]).unwrap();
    assert_eq!(
        sorted_rows(&r)
            .iter()
            .map(|row| row[3].clone())
            .collect::<Vec<_>>(),
        vec!["CSV", "PDF"]
    );
}
