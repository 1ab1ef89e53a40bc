#!/usr/bin/env python3
"""Checks allmende's Arrow Flight SQL interface with the real ADBC Flight SQL driver.

Usage: python3 web/tests/suite/flight_sql_client.py grpc://127.0.0.1:PORT EXPECTED.json
       python3 web/tests/suite/flight_sql_client.py rows grpc://127.0.0.1:PORT SQL [TOKEN]

Run by `web/tests/suite/flight_sql.rs` against a server it starts. EXPECTED.json holds the
analyst token and, for each query, the SQL and the rows the engine answered (the JSON of
`POST /api/sql`). Exits non-zero with a message on the first failed check; prints `ok ...` per
check and `all checks passed` at the end.

The `rows` form runs one query and prints `{"columns": [...], "rows": [[...], ...]}` as JSON,
for `web/tests/suite/sql_clients.rs`, which compares it with psql's and curl's answers.
"""

import json
import sys

try:
    import adbc_driver_flightsql.dbapi as flight_sql
    import pyarrow  # noqa: F401 (fetch_arrow_table needs it)
    from adbc_driver_flightsql import DatabaseOptions
    from adbc_driver_manager import AdbcStatusCode, Error
except ImportError as e:
    sys.exit(f"the ADBC Flight SQL client is missing ({e}): pip install adbc-driver-flightsql pyarrow")


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")


def connect(uri, bearer=None, username=None, password=None):
    db_kwargs = {}
    if bearer is not None:
        db_kwargs[DatabaseOptions.AUTHORIZATION_HEADER.value] = f"Bearer {bearer}"
    if username is not None:
        db_kwargs["username"] = username
        db_kwargs["password"] = password
    return flight_sql.connect(uri, db_kwargs=db_kwargs)


def query(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def refusal(conn, sql):
    """The ADBC error for `sql`, which must fail."""
    try:
        table = query(conn, sql)
    except Error as e:
        return e
    sys.exit(f"FAILED: expected an error for {sql!r}, got {table.num_rows} rows")


def same_rows(table, expected, what):
    check(
        table.column_names == expected["columns"],
        f"{what}: columns {table.column_names} != {expected['columns']}",
    )
    rows = table.to_pylist()
    check(len(rows) == len(expected["rows"]), f"{what}: {len(rows)} rows, expected {len(expected['rows'])}")
    check(rows == expected["rows"], f"{what}: rows differ\n{rows}\n!=\n{expected['rows']}")
    check(len(rows) > 0, f"{what}: the comparison needs rows")


def print_rows(uri, sql, token=None):
    with connect(uri, bearer=token) as conn:
        table = query(conn, sql)
    rows = [list(row.values()) for row in table.to_pylist()]
    print(json.dumps({"columns": table.column_names, "rows": rows}, default=str))


def main():
    if sys.argv[1] == "rows":
        print_rows(*sys.argv[2:])
        return
    uri, expected_path = sys.argv[1], sys.argv[2]
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    token = expected["analyst_token"]

    with connect(uri) as anonymous:
        # An open-data table: the same rows and values as POST /api/sql.
        population = expected["population"]
        same_rows(query(anonymous, population["sql"]), population, "population")
        print(f"ok population by district ({len(population['rows'])} rows, same as /api/sql)")

        # Register rows are refused with the privacy policy's reason.
        e = refusal(anonymous, "SELECT * FROM musterstadt.melderegister")
        check(e.status_code == AdbcStatusCode.UNAUTHORIZED, f"register rows: {e.status_code} {e}")
        check("personal register data" in str(e), f"register rows: {e}")
        check("Mustermann" not in str(e), f"no register values in errors: {e}")
        print("ok register rows refused (permission denied)")

        # The anonymous (public) role may not even aggregate the register.
        aggregate = expected["aggregate"]
        e = refusal(anonymous, aggregate["sql"])
        check(e.status_code == AdbcStatusCode.UNAUTHORIZED, f"public aggregate: {e.status_code} {e}")
        check("public" in str(e), f"public aggregate names the role: {e}")
        print("ok public aggregate over the register refused")

        # Bad SQL: the parser's message, as INVALID_ARGUMENT.
        e = refusal(anonymous, "SELEC 1")
        check(e.status_code == AdbcStatusCode.INVALID_ARGUMENT, f"bad SQL: {e.status_code} {e}")
        check("SELEC" in str(e), f"bad SQL quotes the input: {e}")
        e = refusal(anonymous, "CREATE TABLE x AS SELECT 1")
        check(e.status_code == AdbcStatusCode.INVALID_ARGUMENT, f"DDL: {e.status_code} {e}")
        check("read-only" in str(e), f"DDL: {e}")
        print("ok bad SQL and writes refused (invalid argument)")

        # Catalog browsing (adbc_get_objects): the open table with its columns.
        objects = anonymous.adbc_get_objects(depth="all", db_schema_filter="musterstadt").read_all().to_pylist()
        tables = {
            (schema["db_schema_name"], t["table_name"]): [c["column_name"] for c in t["table_columns"]]
            for catalog in objects
            for schema in catalog["catalog_db_schemas"]
            for t in schema["db_schema_tables"]
        }
        columns = tables.get(("musterstadt", "bevoelkerung"))
        check(columns is not None, f"get_objects lists musterstadt.bevoelkerung: {sorted(tables)}")
        check(
            set(population["columns"]) <= set(columns),
            f"bevoelkerung columns {columns} include {population['columns']}",
        )
        print(f"ok adbc_get_objects ({len(tables)} tables in musterstadt)")

    # An analyst token (sent on every call) may aggregate the register.
    with connect(uri, bearer=token) as analyst:
        same_rows(query(analyst, aggregate["sql"]), aggregate, "analyst aggregate")
        print(f"ok analyst aggregate over the register ({len(aggregate['rows'])} groups)")
        e = refusal(analyst, "SELECT * FROM musterstadt.melderegister")
        check(e.status_code == AdbcStatusCode.UNAUTHORIZED, f"analyst rows: {e.status_code} {e}")
        print("ok analyst still cannot read register rows")

    # The same token through the handshake (user name and password, as BI tools ask for it).
    with connect(uri, username="bi-tool", password=token) as analyst:
        same_rows(query(analyst, aggregate["sql"]), aggregate, "analyst aggregate after handshake")
        print("ok handshake with the token as password")

    # An unknown token is refused on the first call.
    try:
        with connect(uri, bearer="alm_not_a_configured_token") as stranger:
            e = refusal(stranger, population["sql"])
    except Error as error:
        e = error
    check(e.status_code == AdbcStatusCode.UNAUTHENTICATED, f"unknown token: {e.status_code} {e}")
    check("alm_not_a_configured_token" not in str(e), f"the token is not echoed: {e}")
    print("ok unknown token refused (unauthenticated)")

    print("all checks passed")


if __name__ == "__main__":
    main()
