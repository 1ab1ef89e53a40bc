//! Our projection math against reference points. The projected coordinates were computed with
//! PROJ 9 (pyproj `Transformer.from_crs("EPSG:4326", "EPSG:258xx", always_xy=True)`) from the
//! published WGS84 positions of the landmarks.

use allmende_connectors::crs::{Crs, distance_m, utm_forward};

struct Reference {
    what: &'static str,
    crs: &'static str,
    x: f64,
    y: f64,
    lon: f64,
    lat: f64,
}

const POINTS: [Reference; 5] = [
    Reference {
        what: "Kölner Dom (50°56′28.6″N 6°57′29.8″E)",
        crs: "EPSG:25832",
        x: 356_558.646_812_461_2,
        y: 5_645_279.732_560_198,
        lon: 6.958_278,
        lat: 50.941_278,
    },
    Reference {
        what: "Berliner Fernsehturm",
        crs: "EPSG:25833",
        x: 392_081.070_770_718_5,
        y: 5_820_156.411_443_437,
        lon: 13.409_419,
        lat: 52.520_817,
    },
    Reference {
        what: "south-west Germany, zone 32",
        crs: "urn:ogc:def:crs:EPSG::25832",
        x: 424_686.898_172_310_2,
        y: 5_261_214.317_979_407,
        lon: 8.0,
        lat: 47.5,
    },
    Reference {
        what: "Usedom in zone 32 (6.9° from the central meridian: the series' worst case here)",
        crs: "EPSG:25832",
        x: 881_872.613_624_905_9,
        y: 6_055_184.795_146_122,
        lon: 14.9,
        lat: 54.5,
    },
    Reference {
        what: "Cologne polling station 1, web mercator",
        crs: "EPSG:3857",
        x: 772_125.110_1,
        y: 6_610_677.243,
        lon: 6.936_117_876_552_983,
        lat: 50.939_943_229_650_65,
    },
];

#[test]
fn inverse_projections_match_proj_to_a_millimetre() {
    for p in &POINTS {
        let crs = Crs::parse(p.crs).unwrap();
        let got = crs.to_wgs84(p.x, p.y).unwrap();
        let error = distance_m(got, (p.lon, p.lat));
        assert!(error < 0.001, "{}: {error} m off", p.what);
    }
}

#[test]
fn forward_utm_matches_proj_to_a_millimetre() {
    for p in POINTS.iter().filter(|p| p.crs != "EPSG:3857") {
        let Crs::UtmNorth(zone) = Crs::parse(p.crs).unwrap() else {
            unreachable!()
        };
        let (e, n) = utm_forward(zone, p.lon, p.lat);
        let error = ((e - p.x).powi(2) + (n - p.y).powi(2)).sqrt();
        assert!(error < 0.001, "{}: {error} m off", p.what);
    }
}
