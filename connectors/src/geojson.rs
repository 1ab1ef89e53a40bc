//! GeoJSON: a `FeatureCollection`, a single `Feature` or a bare geometry becomes a table with
//! one row per feature: the properties as columns (nested ones flattened, see
//! [`crate::json_table`]), then `geometry_type`, `geometry_wkt` (WGS84 well-known text) and
//! `centroid_lon` / `centroid_lat` (WGS84).
//!
//! The coordinate reference system comes from `options.crs`, else from the legacy GeoJSON 2008
//! `crs` member (`{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}`),
//! else WGS84 (RFC 7946). Positions are reprojected with [`crate::crs`]. A feature whose
//! geometry is invalid (unclosed ring, non-numeric or out-of-range position, unknown type) goes
//! to quarantine with its 1-based feature number; a feature with `"geometry": null` is kept
//! with empty geometry columns.

use serde_json::Value;

use crate::crs::Crs;
use crate::geometry;
use crate::json_table::{RecordTable, flatten};
use crate::options::SourceOptions;
use crate::provenance::QuarantinedRow;
use crate::typed::Cell;
use crate::{Error, Parsed, Result};

/// Columns appended after the properties.
pub const GEOMETRY_COLUMNS: [&str; 4] = [
    "geometry_type",
    "geometry_wkt",
    "centroid_lon",
    "centroid_lat",
];

/// The CRS named in the document's `crs` member, if any.
pub fn declared_crs(doc: &Value) -> Option<&str> {
    doc.pointer("/crs/properties/name").and_then(Value::as_str)
}

/// Parses a GeoJSON document.
pub fn parse(bytes: &[u8], origin: &str, options: &SourceOptions) -> Result<Parsed> {
    let text = crate::csv_de::decode(bytes);
    let doc: Value = serde_json::from_str(&text).map_err(|source| Error::Json {
        origin: origin.into(),
        source,
    })?;
    let mut notes = Vec::new();
    let crs_name = match (&options.crs, declared_crs(&doc)) {
        (Some(configured), Some(in_file)) if Crs::parse(configured)? != Crs::parse(in_file)? => {
            notes.push(format!(
                "the file declares crs {in_file}; options.crs {configured} was used instead"
            ));
            configured.clone()
        }
        (Some(configured), _) => configured.clone(),
        (None, Some(in_file)) => in_file.to_string(),
        (None, None) => "EPSG:4326".to_string(),
    };
    let crs = Crs::parse(&crs_name)?;
    notes.push(format!(
        "coordinates read as {crs_name}, stored as WGS84 lon/lat"
    ));

    let kind = doc.get("type").and_then(Value::as_str).unwrap_or_default();
    let features: Vec<Value> = match kind {
        "FeatureCollection" => doc
            .get("features")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| Error::Malformed {
                origin: origin.into(),
                reason: "FeatureCollection has no \"features\" array".into(),
            })?,
        "Feature" => vec![doc.clone()],
        "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon" | "MultiPolygon"
        | "GeometryCollection" => {
            notes.push("the file is a bare geometry; it became one row".into());
            vec![serde_json::json!({"type": "Feature", "properties": {}, "geometry": doc.clone()})]
        }
        other => {
            return Err(Error::Malformed {
                origin: origin.into(),
                reason: format!(
                    "not GeoJSON: \"type\" is \"{other}\" (expected FeatureCollection, Feature or a geometry)"
                ),
            });
        }
    };

    let mut table = RecordTable::default();
    let mut quarantine = Vec::new();
    for (i, feature) in features.iter().enumerate() {
        let number = i as u64 + 1;
        let raw = || feature.to_string().chars().take(500).collect::<String>();
        match feature_cells(feature, crs, options) {
            Ok(cells) => table.push_cells(number, cells, raw()),
            Err(reason) => quarantine.push(QuarantinedRow {
                line: number,
                reason: format!("feature {number}: {reason}"),
                raw: raw(),
            }),
        }
    }
    let (batch, rejected) = table.finish(options)?;
    Ok(Parsed::new(
        batch,
        quarantine,
        rejected,
        features.len(),
        notes,
    ))
}

fn feature_cells(
    feature: &Value,
    crs: Crs,
    options: &SourceOptions,
) -> Result<Vec<(String, Cell)>, String> {
    if feature.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err("not a Feature object".into());
    }
    let mut cells = Vec::new();
    match feature.get("properties") {
        Some(Value::Object(props)) => flatten("", props, options.nested, &mut cells),
        None | Some(Value::Null) => {}
        Some(_) => return Err("\"properties\" must be an object or null".into()),
    }
    // Property names must not collide with the geometry columns.
    for (name, _) in &mut cells {
        if GEOMETRY_COLUMNS.contains(&name.as_str()) {
            name.insert_str(0, "property_");
        }
    }
    let geometry = match feature.get("geometry") {
        None | Some(Value::Null) => None,
        Some(g) => Some(geometry::from_geojson(g, crs)?),
    };
    let centroid = geometry.as_ref().and_then(geometry::Geometry::centroid);
    let text = |s: Option<String>| s.map_or(Cell::Null, Cell::Text);
    let float = |v: Option<f64>| v.map_or(Cell::Null, Cell::Float);
    cells.push((
        GEOMETRY_COLUMNS[0].into(),
        text(geometry.as_ref().map(|g| g.type_name().to_string())),
    ));
    cells.push((
        GEOMETRY_COLUMNS[1].into(),
        text(geometry.as_ref().map(geometry::Geometry::wkt)),
    ));
    cells.push((GEOMETRY_COLUMNS[2].into(), float(centroid.map(|c| c.0))));
    cells.push((GEOMETRY_COLUMNS[3].into(), float(centroid.map(|c| c.1))));
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Float64Array, StringArray};

    #[test]
    fn utm_features_are_reprojected_and_bad_ones_quarantined() {
        // Cologne Cathedral in ETRS89 / UTM 32N (reference values from PROJ).
        let doc = r#"{"type": "FeatureCollection",
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
          "features": [
            {"type": "Feature", "properties": {"name": "Dom", "hoehe": 157.4},
             "geometry": {"type": "Point", "coordinates": [356558.6468, 5645279.7326]}},
            {"type": "Feature", "properties": {"name": "ohne Ort"}, "geometry": null},
            {"type": "Feature", "properties": {"name": "kaputt"},
             "geometry": {"type": "Point", "coordinates": [1.0]}}
          ]}"#;
        let p = parse(doc.as_bytes(), "t.geojson", &SourceOptions::default()).unwrap();
        assert_eq!(p.batch.num_rows(), 2);
        assert_eq!(p.rows_read, 3);
        let lon = p.batch.column_by_name("centroid_lon").unwrap();
        let lon = lon.as_any().downcast_ref::<Float64Array>().unwrap();
        let lat = p.batch.column_by_name("centroid_lat").unwrap();
        let lat = lat.as_any().downcast_ref::<Float64Array>().unwrap();
        let err = crate::crs::distance_m((lon.value(0), lat.value(0)), (6.958_278, 50.941_278));
        assert!(err < 0.01, "{err} m");
        assert!(lon.is_null(1));
        let wkt = p.batch.column_by_name("geometry_wkt").unwrap();
        let wkt = wkt.as_any().downcast_ref::<StringArray>().unwrap();
        assert!(
            wkt.value(0).starts_with("POINT (6.95827"),
            "{}",
            wkt.value(0)
        );
        assert_eq!(p.quarantine.len(), 1);
        assert_eq!(p.quarantine[0].line, 3);
        assert!(p.quarantine[0].reason.starts_with("feature 3: position"));
        assert!(p.notes.iter().any(|n| n.contains("EPSG::25832")));
    }

    #[test]
    fn configured_crs_overrides_and_not_geojson_is_an_error() {
        let doc = r#"{"type": "Feature", "properties": null,
            "geometry": {"type": "Point", "coordinates": [772125.1101, 6610677.243]}}"#;
        let options = SourceOptions {
            crs: Some("EPSG:3857".into()),
            ..SourceOptions::default()
        };
        let p = parse(doc.as_bytes(), "w.geojson", &options).unwrap();
        let lat = p.batch.column_by_name("centroid_lat").unwrap();
        let lat = lat.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!((lat.value(0) - 50.939_943_229_650_65).abs() < 1e-9);
        let err = parse(br#"{"type": "Topology"}"#, "t.json", &options)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not GeoJSON"), "{err}");
    }
}
