"""Bad input gets a clear error and loses nothing: one parametrised case per kind of bad input, each run for
real (DuckDB files, the Synthesizer, the writer). The README's "Reliability" section lists exactly these
case ids; `test_the_readme_lists_exactly_these_cases` keeps the two in step."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt.config import Metadata
from synthohive_dbt.errors import (
    DataError,
    LockedTargetError,
    ManifestError,
    SchemaValidationError,
    UnsafeTargetError,
)
from synthohive_dbt.io import read_table, real_columns, validate_schema_name, write_tables
from synthohive_dbt.io.warehouse import run_sql
from synthohive_dbt.io.warehouses import warehouse_for
from synthohive_dbt.manifest import read_manifest
from synthohive_dbt.relational.synthesizer import Synthesizer
from tests.helpers.catalog import catalog_snapshot, changed

ROOT = Path(__file__).resolve().parents[1]


def _fit_sample(meta: Metadata, data: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    synth = Synthesizer(meta, backend="AR")
    synth.fit(data, epochs=2, seed=0)
    return dict(synth.sample(scale=1.0, seed=0))


def _engine(tmp: Path) -> sa.Engine:
    engine = sa.create_engine(f"duckdb:///{tmp / 'w.duckdb'}")
    with engine.begin() as conn:
        run_sql(conn, "CREATE SCHEMA raw")
        run_sql(conn, "CREATE TABLE raw.t (id INTEGER, label VARCHAR(10))")
    return engine


def _frames() -> dict[str, pd.DataFrame]:
    return {"t": pd.DataFrame({"id": [1, 2], "label": ["a", "b"]})}


def broken_manifest(tmp: Path) -> None:
    path = tmp / "manifest.json"
    path.write_text('{"nodes": {')
    with pytest.raises(ManifestError, match=re.escape(str(path))) as err:
        read_manifest(path)
    assert "dbt parse" in str(err.value)


def manifest_missing_nodes(tmp: Path) -> None:
    path = tmp / "manifest.json"
    path.write_text(json.dumps({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
                                "nodes": []}))
    with pytest.raises(ManifestError, match="nodes"):
        read_manifest(path)


def foreign_key_to_missing_table(tmp: Path) -> None:
    meta = Metadata()
    meta.add_table("orders", pk="id", fk={"customer_id": "customers.id"})
    with pytest.raises(SchemaValidationError, match="customers"):
        meta.validate_schema()


def foreign_key_type_mismatch(tmp: Path) -> None:
    meta = Metadata()
    meta.add_table("customers", pk="id")
    meta.add_table("orders", pk="id", fk={"customer_id": "customers.id"})
    data = {"customers": pd.DataFrame({"id": [1, 2, 3]}),
            "orders": pd.DataFrame({"id": [1, 2], "customer_id": ["x", "y"]})}
    with pytest.raises(DataError, match=r"orders.*customer_id.*customers\.id"):
        Synthesizer(meta, backend="AR").fit(data, epochs=1, seed=0)


def empty_table(tmp: Path) -> None:
    meta = Metadata()
    meta.add_table("refunds", pk="id")
    out = _fit_sample(meta, {"refunds": pd.DataFrame({"id": pd.Series([], dtype="Int64"),
                                                      "note": pd.Series([], dtype=object)})})
    assert len(out["refunds"]) == 0 and list(out["refunds"].columns) == ["id", "note"]


def one_row_table(tmp: Path) -> None:
    meta = Metadata()
    meta.add_table("settings")
    out = _fit_sample(meta, {"settings": pd.DataFrame({"currency": ["EUR"], "rate": [978]})})
    assert len(out["settings"]) == 1 and list(out["settings"].columns) == ["currency", "rate"]


def all_null_column(tmp: Path) -> None:
    meta = Metadata()
    meta.add_table("t", pk="id")
    rng = np.random.default_rng(0)
    data = {"t": pd.DataFrame({"id": range(80), "x": rng.normal(size=80), "gone": [None] * 80})}
    out = _fit_sample(meta, data)
    assert "gone" in out["t"].columns and out["t"]["gone"].isna().all() and len(out["t"]) == 80


def nan_and_infinity(tmp: Path) -> None:
    meta = Metadata()
    meta.add_table("t", pk="id")
    x = np.random.default_rng(0).normal(size=200)
    x[:20], x[20:30], x[30:36] = np.nan, np.inf, -np.inf
    mask = np.zeros(200, dtype=bool)
    mask[36:50] = True  # SQL NULL, apart from NaN
    x = pd.arrays.FloatingArray(x, mask)
    out = _fit_sample(meta, {"t": pd.DataFrame({"id": range(200), "x": x})})["t"]["x"]
    nulls = sum(v is pd.NA or v is None for v in out.tolist())
    values = np.asarray([float(v) for v in out.tolist() if v is not pd.NA and v is not None])
    assert np.isposinf(values).sum() > 0 and np.isneginf(values).sum() > 0
    assert np.isnan(values).sum() > 0 and nulls > 0  # NaN and NULL both kept, and kept apart


def sentinel_dates(tmp: Path) -> None:
    meta = Metadata()
    meta.add_table("history", pk="id")
    rng = np.random.default_rng(0)
    far = datetime(9999, 12, 31, 23, 59, 59, 999999)
    valid_to = [far if rng.random() < 0.4 else datetime(2024, 1, 1, 0, 0, 0, int(rng.integers(1, 10**6)))
                for _ in range(200)]
    frame = pd.DataFrame({"id": range(200), "valid_to": pd.Series(valid_to, dtype="datetime64[us]")})
    out = _fit_sample(meta, {"history": frame})["history"]["valid_to"]
    share = float((out == pd.Timestamp(far)).mean())
    assert 0.15 < share < 0.6, share  # 2 training epochs here; a full fit gives 0.36-0.37 (AR)


def odd_identifiers(tmp: Path) -> None:
    engine = sa.create_engine(f"duckdb:///{tmp / 'w.duckdb'}")
    name, cols = 'order "items" ü', ['select', 'we"ird name', "a :b %c", "Group"]
    ddl = ", ".join('"' + c.replace('"', '""') + '" INTEGER' for c in cols)
    with engine.begin() as conn:
        run_sql(conn, "CREATE SCHEMA raw")
        run_sql(conn, f'CREATE TABLE raw."{name.replace(chr(34), chr(34) * 2)}" ({ddl})')
    frame = pd.DataFrame({c: [1, 2] for c in cols})
    write_tables(engine, {name: frame}, "synth", columns=real_columns(engine, {name: ("raw", name)}))
    assert list(read_table(engine, ("synth", name)).columns) == cols


def unsafe_schema_name(tmp: Path) -> None:
    with pytest.raises(UnsafeTargetError, match="not allowed"):
        validate_schema_name("synth; drop schema raw")


def foreign_relation_in_target(tmp: Path) -> None:
    engine = _engine(tmp)
    write_tables(engine, _frames(), "synth", columns=real_columns(engine, {"t": ("raw", "t")}))
    with engine.begin() as conn:
        run_sql(conn, "CREATE TABLE synth.keepme (x INTEGER)")
    before = catalog_snapshot(engine)
    with pytest.raises(UnsafeTargetError, match="did not write: table keepme"):
        write_tables(engine, _frames(), "synth", columns=real_columns(engine, {"t": ("raw", "t")}))
    assert changed(before, catalog_snapshot(engine)) == {"added": [], "removed": [], "changed": []}


def dependent_view_elsewhere(tmp: Path) -> None:
    engine = _engine(tmp)
    write_tables(engine, _frames(), "synth", columns=real_columns(engine, {"t": ("raw", "t")}))
    with engine.begin() as conn:
        run_sql(conn, "CREATE VIEW main.v AS SELECT * FROM synth.t")
    with pytest.raises(UnsafeTargetError, match=r"view main\.v \(reads synth\.t\)"):
        write_tables(engine, _frames(), "synth", columns=real_columns(engine, {"t": ("raw", "t")}), force=True)


def leftover_staging(tmp: Path) -> None:
    engine = _engine(tmp)
    with engine.begin() as conn:
        run_sql(conn, "CREATE SCHEMA synth__synthohive_staging")
        run_sql(conn, "CREATE TABLE synth__synthohive_staging.t (id INTEGER, label VARCHAR(10))")
    notes: list[str] = []
    write_tables(engine, _frames(), "synth", columns=real_columns(engine, {"t": ("raw", "t")}), on_note=notes.append)
    assert notes and "left by an interrupted run" in notes[0]


def concurrent_run(tmp: Path) -> None:
    engine = _engine(tmp)
    wh = warehouse_for(engine)
    with wh.run_lock(engine, "synth"):
        with pytest.raises(LockedTargetError, match="another synthohive run is writing the DuckDB file"):
            with wh.run_lock(engine, "synth"):
                pass


def wrong_password(tmp: Path) -> None:
    from pydantic import SecretStr

    from synthohive_dbt.errors import WarehouseError
    from synthohive_dbt.io.connection import ConnectionSpec, create_warehouse_engine
    from tests.helpers.postgres import PostgresServer

    server: PostgresServer = CASE_FIXTURES["postgres_server"]
    spec = ConnectionSpec(dialect="postgres", host=server.host, port=server.port, user=server.user,
                          password=SecretStr("not-the-password"), database=server.dbname,
                          source="profiles.yml: profile 'shop', target 'pg'")
    with pytest.raises(WarehouseError) as err:
        create_warehouse_engine(spec).connect()
    first = str(err.value).splitlines()[0]
    assert first.startswith("cannot connect to the postgresql warehouse of profiles.yml: profile 'shop', "
                            "target 'pg': ") and "password authentication failed" in first
    assert "not-the-password" not in str(err.value)


CASES: dict[str, Callable[[Path], None]] = {
    "broken-manifest": broken_manifest,
    "manifest-missing-nodes": manifest_missing_nodes,
    "foreign-key-to-missing-table": foreign_key_to_missing_table,
    "foreign-key-type-mismatch": foreign_key_type_mismatch,
    "empty-table": empty_table,
    "one-row-table": one_row_table,
    "all-null-column": all_null_column,
    "nan-and-infinity": nan_and_infinity,
    "sentinel-dates": sentinel_dates,
    "odd-identifiers": odd_identifiers,
    "unsafe-schema-name": unsafe_schema_name,
    "foreign-relation-in-target": foreign_relation_in_target,
    "dependent-view-elsewhere": dependent_view_elsewhere,
    "leftover-staging": leftover_staging,
    "concurrent-run": concurrent_run,
    "wrong-password": wrong_password,
}
NEEDS_POSTGRES = {"wrong-password"}
CASE_FIXTURES: dict[str, object] = {}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.postgres) if c in NEEDS_POSTGRES else c
                                  for c in CASES])
def test_bad_input(case: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if case in NEEDS_POSTGRES:
        CASE_FIXTURES["postgres_server"] = request.getfixturevalue("postgres_server")
    CASES[case](tmp_path)


def test_the_readme_lists_exactly_these_cases() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Bad input tried", 1)[1].split("\n#", 1)[0]
    listed = re.findall(r"^- `([a-z0-9-]+)`", section, flags=re.MULTILINE)
    assert listed == list(CASES), "README's 'Bad input tried' list and tests/test_bad_input.py CASES differ"
