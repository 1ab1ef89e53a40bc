-- TPC-H Q16 with the validation substitution parameters of the TPC-H specification
-- (the ones DataFusion's and DuckDB's TPC-H benchmarks use). Text as printed by DuckDB's
-- tpch extension 1.5.5 (SELECT query FROM tpch_queries()), unqualified table names:
-- benches/tpch_side_by_side.py qualifies them (tpch.lineitem, ...) for both engines.
SELECT
    p_brand,
    p_type,
    p_size,
    count(DISTINCT ps_suppkey) AS supplier_cnt
FROM
    partsupp,
    part
WHERE
    p_partkey = ps_partkey
    AND p_brand <> 'Brand#45'
    AND p_type NOT LIKE 'MEDIUM POLISHED%'
    AND p_size IN (49, 14, 23, 45, 19, 3, 36, 9)
    AND ps_suppkey NOT IN (
        SELECT
            s_suppkey
        FROM
            supplier
        WHERE
            s_comment LIKE '%Customer%Complaints%')
GROUP BY
    p_brand,
    p_type,
    p_size
ORDER BY
    supplier_cnt DESC,
    p_brand,
    p_type,
    p_size;
