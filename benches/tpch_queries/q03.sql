-- TPC-H Q3 with the validation substitution parameters of the TPC-H specification
-- (the ones DataFusion's and DuckDB's TPC-H benchmarks use). Text as printed by DuckDB's
-- tpch extension 1.5.5 (SELECT query FROM tpch_queries()), unqualified table names:
-- benches/tpch_side_by_side.py qualifies them (tpch.lineitem, ...) for both engines.
SELECT
    l_orderkey,
    sum(l_extendedprice * (1 - l_discount)) AS revenue,
    o_orderdate,
    o_shippriority
FROM
    customer,
    orders,
    lineitem
WHERE
    c_mktsegment = 'BUILDING'
    AND c_custkey = o_custkey
    AND l_orderkey = o_orderkey
    AND o_orderdate < CAST('1995-03-15' AS date)
    AND l_shipdate > CAST('1995-03-15' AS date)
GROUP BY
    l_orderkey,
    o_orderdate,
    o_shippriority
ORDER BY
    revenue DESC,
    o_orderdate
LIMIT 10;
