//! Projected coordinate columns to WGS84: with `options.coordinates = { x, y, crs }` a table
//! gets `lon` and `lat` columns computed from its `x`/`y` columns (any numeric type) with
//! [`crate::crs`]. Rows without coordinates get nulls; rows whose coordinates lie outside the
//! system's valid area get nulls too, and a provenance note counts them.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::crs::Crs;
use crate::options::CoordinateColumns;
use crate::{Error, Result};

/// Names of the added columns.
pub const LON: &str = "lon";
/// Names of the added columns.
pub const LAT: &str = "lat";

/// Appends `lon`/`lat`; returns the new batch and notes for the provenance.
pub fn add_lon_lat(
    batch: &RecordBatch,
    columns: &CoordinateColumns,
) -> Result<(RecordBatch, Vec<String>)> {
    let crs = Crs::parse(&columns.crs)?;
    let numeric = |name: &str| -> Result<Float64Array> {
        let column = batch.column_by_name(name).ok_or_else(|| {
            Error::Spec(format!(
                "options.coordinates names column '{name}', but the table has no such column"
            ))
        })?;
        if !column.data_type().is_numeric() {
            return Err(Error::Spec(format!(
                "options.coordinates column '{name}' is {}, not numeric",
                column.data_type()
            )));
        }
        let floats = cast(column, &DataType::Float64)?;
        floats
            .as_any()
            .downcast_ref::<Float64Array>()
            .cloned()
            .ok_or_else(|| Error::Internal("cast to Float64 gave another type".into()))
    };
    let (xs, ys) = (numeric(&columns.x)?, numeric(&columns.y)?);
    let mut outside = 0usize;
    let (mut lons, mut lats) = (Vec::new(), Vec::new());
    for i in 0..batch.num_rows() {
        let point = (xs.is_valid(i) && ys.is_valid(i)).then(|| (xs.value(i), ys.value(i)));
        let converted = point.and_then(|(x, y)| {
            let c = crs.to_wgs84(x, y);
            outside += usize::from(c.is_none());
            c
        });
        lons.push(converted.map(|c| c.0));
        lats.push(converted.map(|c| c.1));
    }
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .filter(|f| f.name() != LON && f.name() != LAT)
        .map(|f| f.as_ref().clone())
        .collect();
    let mut arrays: Vec<ArrayRef> = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(f, _)| f.name() != LON && f.name() != LAT)
        .map(|(_, a)| a.clone())
        .collect();
    fields.push(Field::new(LON, DataType::Float64, true));
    fields.push(Field::new(LAT, DataType::Float64, true));
    arrays.push(Arc::new(Float64Array::from(lons)));
    arrays.push(Arc::new(Float64Array::from(lats)));
    let mut notes = vec![format!(
        "lon/lat (WGS84) computed from {} and {} in {}",
        columns.x, columns.y, columns.crs
    )];
    if outside > 0 {
        tracing::warn!(rows = outside, crs = %columns.crs, "coordinates outside the valid area");
        notes.push(format!(
            "{outside} rows have coordinates outside the valid area of {}; their lon/lat are empty",
            columns.crs
        ));
    }
    Ok((
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?,
        notes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

    #[test]
    fn web_mercator_columns_become_lon_lat() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("koorx", DataType::Float64, true),
            Field::new("koory", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![
                    Some(772_125.110_1),
                    None,
                    Some(9e9),
                ])),
                Arc::new(Int64Array::from(vec![Some(6_610_677), Some(1), Some(1)])),
            ],
        )
        .unwrap();
        let spec = CoordinateColumns {
            x: "koorx".into(),
            y: "koory".into(),
            crs: "EPSG:3857".into(),
        };
        let (out, notes) = add_lon_lat(&batch, &spec).unwrap();
        let lon = out.column_by_name("lon").unwrap();
        let lon = lon.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!((lon.value(0) - 6.936_117_876_552_983).abs() < 1e-9);
        assert!(lon.is_null(1) && lon.is_null(2));
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("1 rows have coordinates outside"))
        );
        let missing = CoordinateColumns {
            x: "x".into(),
            ..spec
        };
        let err = add_lon_lat(&batch, &missing).unwrap_err().to_string();
        assert!(err.contains("'x'"), "{err}");
    }
}
