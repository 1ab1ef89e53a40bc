//! Queries that try to extract single persons or identifiers from the register table
//! `musterstadt.melderegister`, each with a test of the reason the policy must give. Shared by
//! the single-node policy tests (`query/tests/privacy_policy.rs`) and the federation test
//! (`web/tests/suite/federation.rs`), which sends every one of them to another node's register.

use allmende_query::{Role, Violation};

/// An adversarial query and a test of the reason it must be refused with.
pub type Case = (&'static str, fn(&Violation) -> bool);

/// Rows and direct identifiers, asked for directly or hidden behind aliases, functions and CTEs.
pub const ROW_AND_IDENTIFIER_READS: &[Case] = &[
    (
        "SELECT * FROM musterstadt.melderegister",
        |v| matches!(v, Violation::SelectStar { columns } if columns.contains("familienname")),
    ),
    (
        "SELECT familienname FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Identifier { column, .. } if column == "familienname"),
    ),
    // A non-identifying column is still a person's row.
    ("SELECT stadtbezirk FROM musterstadt.melderegister", |v| {
        matches!(v, Violation::RowsLeave { min_group_size: 5 })
    }),
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE vornamen = 'Max' AND familienname = 'Mustermann'",
        |v| matches!(v, Violation::Identifier { .. }),
    ),
    // Quoting the identifier exactly still names the identifier.
    (
        "SELECT \"vornamen\" FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Identifier { column, .. } if column == "vornamen"),
    ),
    (
        "SELECT count(DISTINCT familienname) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Identifier { .. }),
    ),
    (
        "SELECT familienname, count(*) FROM musterstadt.melderegister GROUP BY familienname",
        |v| matches!(v, Violation::Identifier { .. }),
    ),
    (
        "SELECT count(*) FROM musterstadt.melderegister GROUP BY upper(vornamen)",
        |v| matches!(v, Violation::Identifier { .. }),
    ),
    (
        "SELECT length(familienname) AS l, count(*) FROM musterstadt.melderegister GROUP BY 1",
        |v| matches!(v, Violation::Identifier { .. }),
    ),
    (
        "SELECT sum(CAST(hausnummer AS INT)) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Identifier { column, .. } if column == "hausnummer"),
    ),
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE CASE WHEN strasse = 'Lindenallee' THEN true ELSE false END",
        |v| matches!(v, Violation::Identifier { column, .. } if column == "strasse"),
    ),
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE personen_id = 'P000001'",
        |v| matches!(v, Violation::Identifier { .. }),
    ),
    // Only the year of a birth date is a generalisation; day and month are not.
    (
        "SELECT date_part('day', geburtsdatum) AS d, count(*) FROM musterstadt.melderegister GROUP BY 1",
        |v| matches!(v, Violation::Identifier { column, hint } if column == "geburtsdatum" && hint.contains("YEAR")),
    ),
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE geburtsdatum = DATE '1985-03-14'",
        |v| matches!(v, Violation::Identifier { .. }),
    ),
    // Hiding the identifier behind a CTE alias does not help: lineage is resolved.
    (
        "WITH r AS (SELECT vornamen AS v, stadtbezirk FROM musterstadt.melderegister) SELECT stadtbezirk, count(*) FROM r WHERE v = 'Max' GROUP BY 1",
        |v| matches!(v, Violation::Identifier { .. }),
    ),
    (
        "WITH r AS (SELECT * FROM musterstadt.melderegister) SELECT stadtbezirk, count(*) FROM r GROUP BY 1",
        |v| matches!(v, Violation::SelectStar { .. }),
    ),
    (
        "EXPLAIN SELECT familienname FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Identifier { .. }),
    ),
    (
        "EXPLAIN SELECT stadtbezirk FROM musterstadt.melderegister",
        |v| matches!(v, Violation::RowsLeave { .. }),
    ),
];

/// Aggregates that return one person's value, or count one person inside a large group.
pub const SINGLE_VALUE_AGGREGATES: &[Case] = &[
    (
        "SELECT min(geburtsdatum) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Aggregate { name } if name == "min"),
    ),
    (
        "SELECT max(date_part('year', geburtsdatum)) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Aggregate { name } if name == "max"),
    ),
    (
        "SELECT string_agg(vornamen, ',') FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Aggregate { name } if name == "string_agg"),
    ),
    (
        "SELECT stadtbezirk, array_agg(zuzugsdatum) FROM musterstadt.melderegister GROUP BY 1",
        |v| matches!(v, Violation::Aggregate { name } if name == "array_agg"),
    ),
    (
        "SELECT first_value(zuzugsdatum) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Aggregate { name } if name == "first_value"),
    ),
    (
        "SELECT last_value(zuzugsdatum) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Aggregate { name } if name == "last_value"),
    ),
    (
        "SELECT median(date_part('year', zuzugsdatum)) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Aggregate { name } if name == "median"),
    ),
    (
        "SELECT approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('year', zuzugsdatum)) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Aggregate { name } if name == "approx_percentile_cont"),
    ),
    // Conditional aggregation would publish a single person's value inside a large group.
    (
        "SELECT stadtbezirk, sum(CASE WHEN zuzugsdatum = DATE '2011-09-01' THEN 1 ELSE 0 END) FROM musterstadt.melderegister GROUP BY 1",
        |v| matches!(v, Violation::AggregateArgument { .. }),
    ),
    (
        "SELECT stadtbezirk, sum(CAST(geschlecht = 'd' AS INT)) FROM musterstadt.melderegister GROUP BY 1",
        |v| matches!(v, Violation::AggregateArgument { .. }),
    ),
    (
        "SELECT avg(x) FROM (SELECT CASE WHEN geschlecht = 'd' THEN 100 ELSE 0 END AS x FROM musterstadt.melderegister) t",
        |v| matches!(v, Violation::AggregateArgument { .. }),
    ),
    (
        "SELECT sum(CAST(coalesce(nullif(geschlecht, 'd'), 'x') = 'x' AS INT)) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::AggregateArgument { .. }),
    ),
    (
        "SELECT count(*) FILTER (WHERE geschlecht = 'd') FROM musterstadt.melderegister",
        |v| matches!(v, Violation::AggregateOption { .. }),
    ),
    (
        "SELECT sum(DISTINCT date_part('year', zuzugsdatum)) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::AggregateOption { .. }),
    ),
];

/// Joins, set operations, limits, windows and subqueries that single persons out or count
/// them twice.
pub const SINGLING_OUT_OPERATIONS: &[Case] = &[
    (
        "SELECT count(*) FROM musterstadt.melderegister a JOIN musterstadt.melderegister b ON a.stadtbezirk = b.stadtbezirk",
        |v| matches!(v, Violation::Operation { .. }),
    ),
    (
        "SELECT b.jahr, count(*) FROM musterstadt.bevoelkerung b JOIN musterstadt.melderegister m ON m.stadtbezirk = b.stadtbezirk GROUP BY b.jahr",
        |v| matches!(v, Violation::Operation { what } if what.contains("join")),
    ),
    (
        "SELECT stadtbezirk, count(*) FROM (SELECT stadtbezirk FROM musterstadt.melderegister UNION ALL SELECT stadtbezirk FROM musterstadt.melderegister) t GROUP BY 1",
        |v| matches!(v, Violation::Operation { .. }),
    ),
    (
        "SELECT stadtbezirk FROM musterstadt.melderegister UNION SELECT 'x'",
        |v| matches!(v, Violation::Operation { what } if what.contains("UNION")),
    ),
    (
        "SELECT stadtbezirk FROM musterstadt.melderegister INTERSECT SELECT 'Altstadt'",
        |v| matches!(v, Violation::Operation { .. }),
    ),
    (
        "SELECT count(*) FROM (SELECT stadtbezirk FROM musterstadt.melderegister ORDER BY zuzugsdatum LIMIT 1) t",
        |v| matches!(v, Violation::Operation { .. }),
    ),
    (
        "SELECT count(*) FROM (SELECT stadtbezirk FROM musterstadt.melderegister LIMIT 1 OFFSET 17) t",
        |v| matches!(v, Violation::Operation { what } if what.contains("LIMIT")),
    ),
    (
        "SELECT stadtbezirk, row_number() OVER (ORDER BY zuzugsdatum) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::Operation { what } if what.contains("window")),
    ),
    (
        "SELECT count(*) FROM (SELECT DISTINCT stadtbezirk, geschlecht, staatsangehoerigkeit FROM musterstadt.melderegister) t",
        |v| matches!(v, Violation::Operation { what } if what.contains("DISTINCT")),
    ),
    (
        "SELECT count(*) FROM (SELECT unnest(make_array(stadtbezirk, geschlecht)) AS x FROM musterstadt.melderegister) t",
        |v| {
            matches!(
                v,
                Violation::Operation { .. } | Violation::Expression { .. }
            )
        },
    ),
    (
        "WITH RECURSIVE t(s) AS (SELECT stadtbezirk FROM musterstadt.melderegister UNION ALL SELECT s FROM t WHERE false) SELECT count(*) FROM t",
        |v| matches!(v, Violation::Operation { .. }),
    ),
    (
        "SELECT stadtbezirk, geschlecht, count(*) FROM musterstadt.melderegister GROUP BY ROLLUP(stadtbezirk, geschlecht)",
        |v| matches!(v, Violation::Operation { what } if what.contains("ROLLUP")),
    ),
    // Subqueries: rows may not leak through IN/EXISTS, nor through correlation.
    (
        "SELECT jahr FROM musterstadt.bevoelkerung WHERE EXISTS (SELECT 1 FROM musterstadt.melderegister WHERE geschlecht = 'd' AND stadtbezirk = 'Am See')",
        |v| matches!(v, Violation::Operation { what } if what.contains("subquery")),
    ),
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE stadtbezirk IN (SELECT stadtbezirk FROM musterstadt.melderegister WHERE geschlecht = 'd')",
        |v| matches!(v, Violation::Operation { .. }),
    ),
    (
        "SELECT b.jahr, (SELECT count(*) FROM musterstadt.melderegister r WHERE r.stadtbezirk = b.stadtbezirk) FROM musterstadt.bevoelkerung b",
        |v| matches!(v, Violation::CorrelatedSubquery | Violation::ScalarSubquery),
    ),
    (
        "SELECT count(*) FROM musterstadt.melderegister r WHERE EXISTS (SELECT 1 FROM musterstadt.bevoelkerung b WHERE b.stadtbezirk = r.stadtbezirk)",
        |v| matches!(v, Violation::CorrelatedSubquery),
    ),
    (
        "EXPLAIN ANALYZE SELECT stadtbezirk, count(*) FROM musterstadt.melderegister GROUP BY 1",
        |v| matches!(v, Violation::ExplainAnalyze),
    ),
];

/// Expressions that can fail on one row: an error (or its absence) would tell a value.
pub const PER_ROW_FAILURES: &[Case] = &[
    // Division by zero would be an oracle for "someone was born in 1985".
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE 1 / (date_part('year', geburtsdatum) - 1985) > 0",
        |v| matches!(v, Violation::Expression { .. }),
    ),
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE date_part('year', zuzugsdatum) % 7 = 0",
        |v| matches!(v, Violation::Expression { .. }),
    ),
    // A failing cast would quote a value or reveal that one exists.
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE CAST(stadtbezirk AS INT) = 1",
        |v| matches!(v, Violation::Expression { .. }),
    ),
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE regexp_like(stadtbezirk, '^A')",
        |v| matches!(v, Violation::Expression { .. }),
    ),
    (
        "SELECT count(*) FROM musterstadt.melderegister WHERE substr('abcdef', 1, date_part('year', zuzugsdatum) - 2000) = 'a'",
        |v| matches!(v, Violation::Expression { .. }),
    ),
];

/// Every aggregate over the register for the public role: refused, however it is asked.
pub const PUBLIC_AGGREGATES: &[Case] = &[
    ("SELECT count(*) FROM musterstadt.melderegister", |v| {
        matches!(v, Violation::RoleForbids { role: Role::Public })
    }),
    (
        "SELECT stadtbezirk, count(*) FROM musterstadt.melderegister GROUP BY 1",
        |v| matches!(v, Violation::RoleForbids { role: Role::Public }),
    ),
    (
        "SELECT (SELECT count(*) FROM musterstadt.melderegister) AS n",
        |v| matches!(v, Violation::RoleForbids { role: Role::Public }),
    ),
    (
        "EXPLAIN SELECT count(*) FROM musterstadt.melderegister",
        |v| matches!(v, Violation::RoleForbids { role: Role::Public }),
    ),
];

/// Every attempt an analyst might make (the public role is refused all of them anyway).
pub fn analyst_attempts() -> impl Iterator<Item = &'static Case> {
    ROW_AND_IDENTIFIER_READS
        .iter()
        .chain(SINGLE_VALUE_AGGREGATES)
        .chain(SINGLING_OUT_OPERATIONS)
        .chain(PER_ROW_FAILURES)
}
