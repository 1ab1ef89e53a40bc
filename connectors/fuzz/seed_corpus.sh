#!/usr/bin/env bash
# Seeds the cargo-fuzz corpora (fuzz/corpus/<target>/) with the real sample files: the test
# fixtures in connectors/tests/fixtures and, where present, the sample data sets in
# ../shared/datasets (next to the repository root). The choice of files per target is the
# one tests/fuzz_smoke.rs mutates (`Target::sources`). Existing corpus files are kept, so
# running it again after fuzzing only adds what is missing.
#
# Usage: connectors/fuzz/seed_corpus.sh   (from anywhere)
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$fuzz_dir/../tests/fixtures"
shared="$fuzz_dir/../../../shared/datasets"

if [[ ! -d "$shared" ]]; then
    echo "note: $shared not found; seeding from the test fixtures only" >&2
fi

# seed TARGET BASE DIR EXTENSION... : copies the files under BASE/DIR (recursively; DIR "" is
# BASE itself) with one of the extensions into corpus/TARGET, named after their path below
# BASE (slashes become `__`).
seed() {
    local target="$1" base="$2" dir="$3"
    shift 3
    local out="$fuzz_dir/corpus/$target"
    mkdir -p "$out"
    local root="$base${dir:+/$dir}"
    [[ -d "$root" ]] || return 0
    local ext file rel
    for ext in "$@"; do
        while IFS= read -r -d '' file; do
            rel="${file#"$base"/}"
            cp -n "$file" "$out/${rel//\//__}"
        done < <(find "$root" -type f -iname "*.$ext" -print0)
    done
}

seed csv_de "$shared" "" csv
seed genesis "$shared" "" csv
seed geojson "$shared" "" geojson
seed xml "$fixtures" xzufi xml
seed xml "$fixtures" xmeld xml
seed oparl "$fixtures" oparl json
seed oparl "$shared" oparl_karlsruhe json
seed oparl "$shared" oparl_spec_examples json
seed dcat "$fixtures" dcat rdf ttl jsonld
seed dcat "$shared" dcat-ap-de rdf ttl jsonld

# A small GeoJSON in ETRS89 / UTM 32N (reprojected by the reader), as the sample data has only
# the large city boundary; the same document is an inline sample of tests/fuzz_smoke.rs.
cat > "$fuzz_dir/corpus/geojson/inline__utm_features.geojson" <<'GEOJSON'
{"type": "FeatureCollection",
 "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
 "features": [
   {"type": "Feature", "properties": {"name": "Dom", "hoehe": 157.4},
    "geometry": {"type": "Point", "coordinates": [356558.6468, 5645279.7326]}},
   {"type": "Feature", "properties": {"name": "ohne Ort"}, "geometry": null},
   {"type": "Feature", "properties": {"name": "Fläche"},
    "geometry": {"type": "Polygon", "coordinates":
      [[[356000, 5645000], [357000, 5645000], [357000, 5646000], [356000, 5645000]]]}}
 ]}
GEOJSON

for target in csv_de genesis geojson xml oparl dcat; do
    printf '%-8s %4d files\n' "$target" "$(find "$fuzz_dir/corpus/$target" -type f | wc -l)"
done
