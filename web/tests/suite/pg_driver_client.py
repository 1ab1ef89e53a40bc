#!/usr/bin/env python3
"""Runs prepared statements through psycopg 3, a real PostgreSQL driver that speaks the
extended-query protocol (Parse/Bind/Describe/Execute with `$n` parameters).

Usage: python3 web/tests/suite/pg_driver_client.py "host=127.0.0.1 port=PORT user=U password=P"
       < CASES.json

CASES.json is a list of {"sql": ..., "params": [...], "binary": bool, "prepare": bool};
`%s` marks a parameter (psycopg sends it as $1, $2, ...); parameters given as
{"date": "2011-09-01"} are sent as dates. Prints one JSON object per case, in order, as a list:
{"columns": [...], "rows": [[cell, ...]]} with cells as text (dates ISO, NULL as null), or
{"error": {"sqlstate": ..., "message": ...}}. Run by `web/tests/suite/sql_clients.rs`.
"""

import datetime
import json
import sys

try:
    import psycopg
except ImportError as e:
    sys.exit(f"psycopg is missing ({e}): pip install 'psycopg[binary]'")


def parameter(value):
    if isinstance(value, dict) and "date" in value:
        return datetime.date.fromisoformat(value["date"])
    return value


def cell(value):
    if value is None:
        return None
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
    return str(value)


def run(conn, case):
    params = [parameter(p) for p in case.get("params", [])]
    try:
        with conn.cursor(binary=case.get("binary", False)) as cur:
            cur.execute(case["sql"], params, prepare=case.get("prepare", False))
            columns = [d.name for d in cur.description]
            rows = [[cell(v) for v in row] for row in cur.fetchall()]
            return {"columns": columns, "rows": rows}
    except psycopg.Error as e:
        return {"error": {"sqlstate": e.sqlstate, "message": str(e)}}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    cases = json.load(sys.stdin)
    with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=10) as conn:
        print(json.dumps([run(conn, case) for case in cases]))


if __name__ == "__main__":
    main()
