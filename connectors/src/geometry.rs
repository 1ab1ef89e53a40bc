//! GeoJSON geometries: reading them (with validation), reprojecting every position to WGS84,
//! writing them as WKT, and their centroid.
//!
//! The centroid is the area-weighted centroid of the polygons (holes subtracted), else the
//! length-weighted centroid of the lines, else the mean of the points — the usual definition
//! (as in GEOS), computed planar in longitude/latitude. For a city-sized polygon the planar
//! error against the geodesic centroid is a few metres.

use serde_json::Value;

use crate::crs::Crs;

/// A geometry with its positions in WGS84 longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// One position.
    Point((f64, f64)),
    /// Several positions.
    MultiPoint(Vec<(f64, f64)>),
    /// A line of two or more positions.
    LineString(Vec<(f64, f64)>),
    /// Several lines.
    MultiLineString(Vec<Vec<(f64, f64)>>),
    /// Outer ring then holes; every ring closed, four or more positions.
    Polygon(Vec<Vec<(f64, f64)>>),
    /// Several polygons.
    MultiPolygon(Vec<Vec<Vec<(f64, f64)>>>),
    /// A collection.
    Collection(Vec<Geometry>),
}

/// Reads a GeoJSON geometry object, reprojecting from `crs`. The error says what is wrong.
pub fn from_geojson(value: &Value, crs: Crs) -> Result<Geometry, String> {
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or("geometry has no \"type\"")?;
    if kind == "GeometryCollection" {
        let parts = value
            .get("geometries")
            .and_then(Value::as_array)
            .ok_or("GeometryCollection has no \"geometries\" array")?;
        return parts
            .iter()
            .map(|g| from_geojson(g, crs))
            .collect::<Result<_, _>>()
            .map(Geometry::Collection);
    }
    let coords = value
        .get("coordinates")
        .ok_or_else(|| format!("{kind} has no \"coordinates\""))?;
    let pos = |v: &Value| position(v, crs);
    let line = |v: &Value, min: usize| -> Result<Vec<(f64, f64)>, String> {
        let items = v.as_array().ok_or("expected an array of positions")?;
        if items.len() < min {
            return Err(format!(
                "a {} needs at least {min} positions, found {}",
                if min == 4 { "ring" } else { "line" },
                items.len()
            ));
        }
        let points = items.iter().map(pos).collect::<Result<Vec<_>, _>>()?;
        if min == 4 && points.first() != points.last() {
            return Err("polygon ring is not closed (first and last position differ)".into());
        }
        Ok(points)
    };
    let list = |v: &Value| -> Result<Vec<Value>, String> {
        v.as_array()
            .cloned()
            .ok_or_else(|| format!("{kind} coordinates must be an array"))
    };
    let polygon = |v: &Value| -> Result<Vec<Vec<(f64, f64)>>, String> {
        let rings = list(v)?;
        if rings.is_empty() {
            return Err("polygon has no rings".into());
        }
        rings.iter().map(|r| line(r, 4)).collect()
    };
    match kind {
        "Point" => pos(coords).map(Geometry::Point),
        "MultiPoint" => list(coords)?
            .iter()
            .map(pos)
            .collect::<Result<_, _>>()
            .map(Geometry::MultiPoint),
        "LineString" => line(coords, 2).map(Geometry::LineString),
        "MultiLineString" => list(coords)?
            .iter()
            .map(|l| line(l, 2))
            .collect::<Result<_, _>>()
            .map(Geometry::MultiLineString),
        "Polygon" => polygon(coords).map(Geometry::Polygon),
        "MultiPolygon" => list(coords)?
            .iter()
            .map(polygon)
            .collect::<Result<_, _>>()
            .map(Geometry::MultiPolygon),
        other => Err(format!("unknown geometry type \"{other}\"")),
    }
}

fn position(v: &Value, crs: Crs) -> Result<(f64, f64), String> {
    let items = v.as_array().ok_or("a position must be an array [x, y]")?;
    let (Some(x), Some(y)) = (
        items.first().and_then(Value::as_f64),
        items.get(1).and_then(Value::as_f64),
    ) else {
        return Err(format!("position {v} is not [x, y] with numbers"));
    };
    crs.to_wgs84(x, y).ok_or_else(|| {
        format!("position [{x}, {y}] is outside the valid area of {crs:?} (wrong crs?)")
    })
}

impl Geometry {
    /// The GeoJSON type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Geometry::Point(_) => "Point",
            Geometry::MultiPoint(_) => "MultiPoint",
            Geometry::LineString(_) => "LineString",
            Geometry::MultiLineString(_) => "MultiLineString",
            Geometry::Polygon(_) => "Polygon",
            Geometry::MultiPolygon(_) => "MultiPolygon",
            Geometry::Collection(_) => "GeometryCollection",
        }
    }

    /// Well-known text, positions as `lon lat` with up to 7 decimals (about 1 cm).
    pub fn wkt(&self) -> String {
        fn p(out: &mut String, (x, y): (f64, f64)) {
            out.push_str(&format!("{} {}", round7(x), round7(y)));
        }
        fn seq(out: &mut String, points: &[(f64, f64)]) {
            out.push('(');
            for (i, pt) in points.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                p(out, *pt);
            }
            out.push(')');
        }
        fn rings(out: &mut String, rs: &[Vec<(f64, f64)>]) {
            out.push('(');
            for (i, r) in rs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                seq(out, r);
            }
            out.push(')');
        }
        let mut out = String::new();
        match self {
            Geometry::Point(pt) => {
                out.push_str("POINT (");
                p(&mut out, *pt);
                out.push(')');
            }
            Geometry::MultiPoint(pts) => {
                out.push_str("MULTIPOINT ");
                seq(&mut out, pts);
            }
            Geometry::LineString(l) => {
                out.push_str("LINESTRING ");
                seq(&mut out, l);
            }
            Geometry::MultiLineString(ls) => {
                out.push_str("MULTILINESTRING ");
                rings(&mut out, ls);
            }
            Geometry::Polygon(rs) => {
                out.push_str("POLYGON ");
                rings(&mut out, rs);
            }
            Geometry::MultiPolygon(ps) => {
                out.push_str("MULTIPOLYGON (");
                for (i, rs) in ps.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    rings(&mut out, rs);
                }
                out.push(')');
            }
            Geometry::Collection(gs) => {
                out.push_str("GEOMETRYCOLLECTION (");
                let parts: Vec<String> = gs.iter().map(Geometry::wkt).collect();
                out.push_str(&parts.join(", "));
                out.push(')');
            }
        }
        out
    }

    /// The centroid `(lon, lat)`; `None` for an empty geometry.
    pub fn centroid(&self) -> Option<(f64, f64)> {
        let mut acc = Accumulator::default();
        self.accumulate(&mut acc);
        acc.result()
    }

    fn accumulate(&self, acc: &mut Accumulator) {
        match self {
            Geometry::Point(p) => acc.point(*p),
            Geometry::MultiPoint(ps) => ps.iter().for_each(|p| acc.point(*p)),
            Geometry::LineString(l) => acc.line(l),
            Geometry::MultiLineString(ls) => ls.iter().for_each(|l| acc.line(l)),
            Geometry::Polygon(rs) => acc.polygon(rs),
            Geometry::MultiPolygon(ps) => ps.iter().for_each(|rs| acc.polygon(rs)),
            Geometry::Collection(gs) => gs.iter().for_each(|g| g.accumulate(acc)),
        }
    }
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Running sums for the centroid of each dimension; the highest dimension present wins.
#[derive(Debug, Default)]
struct Accumulator {
    area: f64,
    area_x: f64,
    area_y: f64,
    length: f64,
    length_x: f64,
    length_y: f64,
    points: f64,
    point_x: f64,
    point_y: f64,
}

impl Accumulator {
    fn point(&mut self, (x, y): (f64, f64)) {
        self.points += 1.0;
        self.point_x += x;
        self.point_y += y;
    }

    fn line(&mut self, l: &[(f64, f64)]) {
        for w in l.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            let len = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
            self.length += len;
            self.length_x += len * (x0 + x1) / 2.0;
            self.length_y += len * (y0 + y1) / 2.0;
        }
        l.iter().for_each(|p| self.point(*p));
    }

    /// Shoelace over the outer ring (positive) and the holes (negative), relative to the first
    /// vertex to keep the sums well-conditioned.
    fn polygon(&mut self, rings: &[Vec<(f64, f64)>]) {
        let Some(&(ox, oy)) = rings.first().and_then(|r| r.first()) else {
            return;
        };
        for (i, ring) in rings.iter().enumerate() {
            let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
            for w in ring.windows(2) {
                let (x0, y0) = (w[0].0 - ox, w[0].1 - oy);
                let (x1, y1) = (w[1].0 - ox, w[1].1 - oy);
                let cross = x0 * y1 - x1 * y0;
                a += cross;
                cx += (x0 + x1) * cross;
                cy += (y0 + y1) * cross;
            }
            // Orientation-independent: the outer ring adds, holes subtract.
            let sign = if (i == 0) == (a >= 0.0) { 1.0 } else { -1.0 };
            let area = a / 2.0;
            self.area += sign * area;
            if area != 0.0 {
                self.area_x += sign * area * (cx / (6.0 * area) + ox);
                self.area_y += sign * area * (cy / (6.0 * area) + oy);
            }
        }
        self.line(&rings[0]);
    }

    fn result(&self) -> Option<(f64, f64)> {
        if self.area.abs() > 0.0 {
            Some((self.area_x / self.area, self.area_y / self.area))
        } else if self.length > 0.0 {
            Some((self.length_x / self.length, self.length_y / self.length))
        } else if self.points > 0.0 {
            Some((self.point_x / self.points, self.point_y / self.points))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn square_with_hole_has_the_right_centroid_and_wkt() {
        let g = from_geojson(
            &json!({"type": "Polygon", "coordinates": [
                [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]],
                [[2.0, 2.0], [2.0, 4.0], [4.0, 4.0], [4.0, 2.0], [2.0, 2.0]]
            ]}),
            Crs::LonLat,
        )
        .unwrap();
        // L-shape: 12 units of area, centroid at (5/3, 5/3).
        let (x, y) = g.centroid().unwrap();
        assert!((x - 5.0 / 3.0).abs() < 1e-12 && (y - 5.0 / 3.0).abs() < 1e-12);
        assert!(
            g.wkt()
                .starts_with("POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0), (2 2")
        );
    }

    #[test]
    fn invalid_geometries_say_why() {
        let open = json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]});
        assert!(
            from_geojson(&open, Crs::LonLat)
                .unwrap_err()
                .contains("not closed")
        );
        let text = json!({"type": "Point", "coordinates": ["7", 50]});
        assert!(
            from_geojson(&text, Crs::LonLat)
                .unwrap_err()
                .contains("not [x, y]")
        );
        let wrong_crs = json!({"type": "Point", "coordinates": [356558.6, 5645279.7]});
        assert!(
            from_geojson(&wrong_crs, Crs::LonLat)
                .unwrap_err()
                .contains("wrong crs")
        );
        let circle = json!({"type": "Circle", "coordinates": [0, 0]});
        assert!(
            from_geojson(&circle, Crs::LonLat)
                .unwrap_err()
                .contains("unknown geometry type")
        );
    }

    #[test]
    fn lines_use_length_weighted_midpoints() {
        let g = from_geojson(
            &json!({"type": "LineString", "coordinates": [[0, 0], [2, 0], [2, 1]]}),
            Crs::LonLat,
        )
        .unwrap();
        let (x, y) = g.centroid().unwrap();
        assert!((x - (2.0 * 1.0 + 1.0 * 2.0) / 3.0).abs() < 1e-12);
        assert!((y - 0.5 / 3.0).abs() < 1e-12);
    }
}
