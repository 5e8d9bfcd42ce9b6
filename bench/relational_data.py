"""The benchmark's datasets, written once as <out>/<dataset>/<table>.csv + schema.json for every engine.

schema.json is SDV-style multi-table metadata (tables → primary_key, columns → sdtype; relationships), the one
neutral description each engine translates into its own and SDMetrics scores with. Run in the repo's .venv
(it reads the corpus manifests with our reader):

    .venv/bin/python bench/relational_data.py --out bench/work/data jaffle_shop_classic shop_5k

Datasets:
* jaffle_shop_classic  raw_customers → raw_orders → raw_payments (3 levels, 312 rows), seed CSVs of the corpus.
* duckdb_analytics_kit raw_customers → raw_orders → raw_order_items ← raw_products (3 levels, 2 parents, 61 rows).
  The corpus seeds carry no tests; their keys come from the tests of the manifest's models built on them
  (unique + not_null, relationships), mapped back onto the seed columns those models rename. jaffle tests no
  payments → orders relationship: UNDECLARED_FKS adds it, as the data holds it.
* shop                 gen_shop.generate(10_000 customers, 500 products): ~136k rows, 4 tables, 3 levels.
* shop_5k              gen_shop.generate(430, 50): ~5k rows, the "fit a 5k-row 3-table schema" target.
* shop_2level          customers → orders only, from gen_shop.generate(2000, 50) (~8k rows): the one schema
                       here that SDV 2.x's HMA accepts (it refuses every 3-level schema).
Names, last names and e-mails are marked as PII sdtypes: SDV fakes them, SDMetrics leaves them out of the
scores, and our engine gets them as pii_columns, so no engine is scored on copying personal data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
CORPUS = Path(os.environ.get("SYNTHOHIVE_SHARED_DIR", HERE.parent.parent / "shared")) / "corpus"
sys.path.insert(0, str(HERE))

PII = {"first_name": "first_name", "last_name": "last_name", "email": "email"}  # column → SDV sdtype

# seed table ← (the models whose tests give its keys, model column → seed column renames)
CORPUS_TABLES: dict[str, dict[str, tuple[tuple[str, ...], dict[str, str]]]] = {
    "jaffle_shop_classic": {
        "raw_customers": (("stg_customers", "customers"), {"customer_id": "id"}),
        "raw_orders": (("stg_orders", "orders"), {"order_id": "id", "customer_id": "user_id"}),
        "raw_payments": (("stg_payments",), {"payment_id": "id"}),
    },
    "duckdb_analytics_kit": {
        "raw_customers": (("stg_customers",), {}),
        "raw_orders": (("stg_orders",), {}),
        "raw_order_items": (("stg_order_items",), {}),
        "raw_products": (("stg_products",), {}),
    },
}
# links the data holds but no test declares (jaffle tests no payments → orders relationship); named here
UNDECLARED_FKS: dict[str, list[tuple[str, str, str, str]]] = {
    "jaffle_shop_classic": [("raw_orders", "id", "raw_payments", "order_id")],
}
SHOP_SIZES = {"shop": (10_000, 500), "shop_5k": (430, 50), "shop_2level": (2_000, 50)}
SHOP_TABLES = {"shop_2level": ("customers", "orders")}  # a variant SDV 2.x's HMA accepts (depth 2, 2 tables)
DATASETS = [*CORPUS_TABLES, *SHOP_SIZES]


def _sdtype(column: str, values: pd.Series, keys: set[str]) -> dict[str, Any]:
    """One column's sdtype, from its role and its values (dates are ISO text in the seeds)."""
    if column in keys:
        return {"sdtype": "id"}
    if column in PII:
        return {"sdtype": PII[column], "pii": True}
    if pd.api.types.is_bool_dtype(values):
        return {"sdtype": "boolean"}
    if pd.api.types.is_numeric_dtype(values):
        rep = "Int64" if pd.api.types.is_integer_dtype(values) else "Float"
        return {"sdtype": "numerical", "computer_representation": rep}
    parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    if parsed.notna().all():
        return {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"}
    return {"sdtype": "categorical"}


def corpus_dataset(name: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Seed CSVs + keys read from the corpus manifest (staging and mart tests mapped onto the seeds)."""
    from synthohive_dbt.manifest import read_manifest

    root = CORPUS / name
    models = read_manifest(root / "manifest.json").metadata.tables
    spec = CORPUS_TABLES[name]
    seed_of = {model: seed for seed, (names, _) in spec.items() for model in names}
    rename = {model: spec[seed][1] for model, seed in seed_of.items()}
    pks: dict[str, str] = {}
    links = set(UNDECLARED_FKS.get(name, []))
    for model, seed in seed_of.items():
        table = models[model]
        if len(table.pk) == 1:
            pks.setdefault(seed, rename[model].get(table.pk[0], table.pk[0]))
        for fk in table.fk:
            (col,), (parent_col,) = fk.columns, fk.parent_columns
            if fk.parent in seed_of:
                links.add((seed_of[fk.parent], rename[fk.parent].get(parent_col, parent_col),
                           seed, rename[model].get(col, col)))
    tables: dict[str, pd.DataFrame] = {}
    schema: dict[str, Any] = {"tables": {}, "relationships": [
        {"parent_table_name": p, "parent_primary_key": pk, "child_table_name": c, "child_foreign_key": fk}
        for p, pk, c, fk in sorted(links)]}
    for seed in spec:
        frame = pd.read_csv(root / "seeds" / f"{seed}.csv")
        keys = {pks[seed], *(fk for _, _, c, fk in links if c == seed)}
        missing = keys - set(frame.columns)
        if missing:
            raise SystemExit(f"{name}/{seed}.csv lacks key column(s) {sorted(missing)} that the manifest's tests "
                             "name; fix CORPUS_TABLES' renames in bench/relational_data.py")
        schema["tables"][seed] = {"primary_key": pks[seed],
                                  "columns": {c: _sdtype(c, frame[c], keys) for c in frame.columns}}
        tables[seed] = frame
    return tables, schema


def shop_dataset(name: str, seed: int = 0) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    from gen_shop import SCHEMA, generate

    customers, products = SHOP_SIZES[name]
    tables, schema = generate(customers=customers, products=products, seed=seed), json.loads(json.dumps(SCHEMA))
    keep = SHOP_TABLES.get(name, tuple(tables))
    schema["tables"] = {t: spec for t, spec in schema["tables"].items() if t in keep}
    schema["relationships"] = [r for r in schema["relationships"]
                               if r["parent_table_name"] in keep and r["child_table_name"] in keep]
    return {t: f for t, f in tables.items() if t in keep}, schema


def prepare(name: str, out: Path) -> Path:
    """Write <out>/<name>/ (CSV per table, dates as %Y-%m-%d) and schema.json; return the folder."""
    if name not in DATASETS:
        raise SystemExit(f"unknown dataset {name!r}; choose from {DATASETS}")
    tables, schema = corpus_dataset(name) if name in CORPUS_TABLES else shop_dataset(name)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in tables.items():
        frame.to_csv(folder / f"{table}.csv", index=False, date_format="%Y-%m-%d")
    schema["METADATA_SPEC_VERSION"] = "V1"
    schema["rows"] = {t: len(f) for t, f in tables.items()}
    (folder / "schema.json").write_text(json.dumps(schema, indent=2))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "work" / "data")
    ap.add_argument("datasets", nargs="*", default=DATASETS)
    args = ap.parse_args()
    for name in args.datasets:
        folder = prepare(name, args.out)
        rows = json.loads((folder / "schema.json").read_text())["rows"]
        print(f"{name}: {sum(rows.values())} rows {rows} -> {folder}")


if __name__ == "__main__":
    main()
