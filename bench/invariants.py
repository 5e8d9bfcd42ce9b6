"""Rules across columns and rows (issue 15): kept or not, and what keeping them does to SDMetrics quality.

Two datasets, each synthesized twice with the same backend, seed and budget:

* `shop`: bench/gen_shop.py's three-level shop (customers=430, products=50) with two in-row rules added the
  way real shops have them: orders.shipped_date = order_date + 0..7 days, order_items.line_total =
  round(quantity * unit_price, 2); and three across foreign keys: orders.ship_country = customers.country
  (a lookup), orders.item_count = count(order_items) and orders.order_total = round(sum(order_items.quantity *
  order_items.unit_price), 2) (aggregates). Rules here are *learned* (relational/invariants.py,
  relational/foreign_rules.py).
* `mrr_playbook`: the seed of dbt-labs/mrr-playbook (`subscription_periods`, 121 rows; a `customers` parent
  of its customer ids), with the project's own 3 tests as *declared* rules: `mutually_exclusive_ranges`
  (start_date, end_date per customer_id) and `date_trunc('month', start_date) = start_date` (and end_date),
  plus what is learned.

* `jaffle_shop`: the public jaffle_shop (dbt-labs, the classic project; its seeds from the corpus in
  ../shared/corpus/jaffle_shop_classic) as its two marts hold it: `customers` (first_order, most_recent_order,
  number_of_orders, customer_lifetime_value) and `orders` (amount per payment method, amount), joined by the
  project's relationships test orders.customer_id -> customers.customer_id. The marts are computed here in
  pandas from the raw seeds, the way the project's models define them; nothing is declared: every rule is
  learned, across the key (count, min, max, sum of the orders) and in the rows.

"before": rules off (none declared, `learn_rules=False`); "after": declared + learned rules on. For every rule
of the "after" run the script measures the share of synthetic rows that keep it, in both runs; "kept" means
100% of rows. SDMetrics' multi-table QualityReport (Column Pair Trends, Intertable Trends) scores both runs:
it runs in a separate venv that has sdmetrics (`--sdmetrics-python`, e.g. bench/.venv-ref/bin/python, made by
bench/setup_reference_env.sh), since sdmetrics is not a dependency of synthohive.

    PYTHONPATH=. .venv/bin/python bench/invariants.py [--mrr-csv PATH] [--backend AR] [--epochs 20]
        [--sdmetrics-python PATH] [--datasets shop mrr_playbook jaffle_shop] [--corpus ../shared/corpus]

Results: bench/results/invariants.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_shop  # noqa: E402
from relational_data import CORPUS  # noqa: E402  (../shared/corpus, or $SYNTHOHIVE_SHARED_DIR/corpus)

from synthohive_dbt import Synthesizer  # noqa: E402
from synthohive_dbt.config import GroupRule, Metadata, RowRule  # noqa: E402
from synthohive_dbt.relational.foreign_rules import foreign_violations  # noqa: E402
from synthohive_dbt.rules import group_violations, row_violations  # noqa: E402

# the fetched public projects (bench/real_projects.py's folder), beside the repository like ../shared
REAL_PROJECTS = Path(os.environ.get("SYNTHOHIVE_REAL_PROJECTS", HERE.parents[1] / "real_projects"))
DEFAULT_MRR = REAL_PROJECTS / "mrr_playbook" / "project" / "data" / "subscription_periods.csv"
OUT = HERE / "results" / "invariants.json"

SCORER = r"""
import json, sys
import pandas as pd
from sdmetrics.reports.multi_table import QualityReport
spec = json.load(open(sys.argv[1]))
def load(folder):
    out = {}
    for name, t in spec["tables"].items():
        f = pd.read_csv(f"{folder}/{name}.csv")
        for c, m in t["columns"].items():
            if m["sdtype"] == "datetime":
                f[c] = pd.to_datetime(f[c], errors="coerce")
        out[name] = f
    return out
real = load(sys.argv[2])
res = {}
for label, folder in zip(sys.argv[3::2], sys.argv[4::2]):
    q = QualityReport()
    q.generate(real, load(folder), spec, verbose=False)
    props = {r["Property"]: round(float(r["Score"]), 4) for _, r in q.get_properties().iterrows()}
    res[label] = {"quality": round(float(q.get_score()), 4), **props}
print(json.dumps(res))
"""


def shop() -> tuple[dict[str, pd.DataFrame], Metadata]:
    data = gen_shop.generate(customers=430, products=50, seed=0)
    rng = np.random.default_rng(1)
    orders = data["orders"]
    orders["shipped_date"] = orders["order_date"] + pd.to_timedelta(rng.integers(0, 8, len(orders)), unit="D")
    items = data["order_items"]
    items["line_total"] = np.round(items["quantity"] * items["unit_price"], 2)
    country = data["customers"].set_index("customer_id")["country"]
    orders["ship_country"] = country.loc[orders["customer_id"]].to_numpy()
    per_order = items.groupby("order_id")
    orders["item_count"] = per_order.size().reindex(orders["order_id"], fill_value=0).to_numpy()
    amount = (items["quantity"] * items["unit_price"]).groupby(items["order_id"]).sum()
    orders["order_total"] = amount.reindex(orders["order_id"], fill_value=0.0).round(2).to_numpy()
    meta = Metadata()
    meta.add_table("customers", pk="customer_id")
    meta.add_table("products", pk="product_id")
    meta.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    meta.add_table("order_items", pk="order_item_id",
                   fk={"order_id": "orders.order_id", "product_id": "products.product_id"})
    return data, meta


def mrr(csv: Path) -> tuple[dict[str, pd.DataFrame], Metadata]:
    subs = pd.read_csv(csv, parse_dates=["start_date", "end_date"])
    customers = pd.DataFrame({"customer_id": sorted(subs["customer_id"].unique())})
    meta = Metadata()
    meta.add_table("customers", pk="customer_id")
    t = meta.add_table("subscription_periods", pk="subscription_id", fk={"customer_id": "customers.customer_id"})
    t.group_rules.append(GroupRule(kind="ranges", columns=["start_date", "end_date"], partition_by=["customer_id"],
                                   source="dbt_utils.mutually_exclusive_ranges"))
    for col in ("start_date", "end_date"):
        t.add_row_rule(RowRule(expression=f"date_trunc('month', {col}) = {col}",
                               source="dbt_utils.expression_is_true"))
    return {"customers": customers, "subscription_periods": subs}, meta


def jaffle(corpus: Path) -> tuple[dict[str, pd.DataFrame], Metadata]:
    """jaffle_shop's `customers` and `orders` marts, from its raw seeds (see the module docstring)."""
    seeds = corpus / "jaffle_shop_classic" / "seeds"
    people = pd.read_csv(seeds / "raw_customers.csv").rename(columns={"id": "customer_id"})
    raw_orders = pd.read_csv(seeds / "raw_orders.csv", parse_dates=["order_date"]).rename(
        columns={"id": "order_id", "user_id": "customer_id"})
    pay = pd.read_csv(seeds / "raw_payments.csv")
    pay["amount"] = pay["amount"] / 100  # the staging model turns cents into dollars
    by_method = pay.pivot_table(index="order_id", columns="payment_method", values="amount", aggfunc="sum",
                                fill_value=0.0)
    orders = raw_orders.copy()
    for method in ("credit_card", "coupon", "bank_transfer", "gift_card"):
        amounts = by_method[method] if method in by_method else pd.Series(dtype=float)
        orders[f"{method}_amount"] = amounts.reindex(orders["order_id"], fill_value=0.0).to_numpy()
    orders["amount"] = pay.groupby("order_id")["amount"].sum().reindex(orders["order_id"], fill_value=0.0).to_numpy()
    per = orders.groupby("customer_id")
    customers = people.set_index("customer_id")
    customers["first_order"] = per["order_date"].min()
    customers["most_recent_order"] = per["order_date"].max()
    customers["number_of_orders"] = per.size()
    customers["customer_lifetime_value"] = per["amount"].sum()
    meta = Metadata()
    meta.add_table("customers", pk="customer_id")
    meta.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    return {"customers": customers.reset_index(), "orders": orders}, meta


def without_rules(meta: Metadata) -> Metadata:
    bare = copy.deepcopy(meta)
    for t in bare.tables.values():
        t.row_rules, t.group_rules, t.foreign_rules = [], [], []
    return bare


def run(data: dict[str, pd.DataFrame], meta: Metadata, rules: bool, args: argparse.Namespace) -> tuple[Any, dict]:
    synth = Synthesizer(copy.deepcopy(meta) if rules else without_rules(meta), backend=args.backend)
    synth.learn_rules = rules
    t0 = time.perf_counter()
    synth.fit(data, epochs=args.epochs, seed=args.seed)
    out = synth.sample(seed=args.seed)
    return synth, {"out": out, "seconds": round(time.perf_counter() - t0, 1)}


def held(meta: Metadata, frames: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    rows = []
    for t in meta.tables.values():
        f = frames[t.name]
        for r in t.row_rules:
            bad = int(row_violations(f, r.expression).sum())
            rows.append({"table": t.name, "rule": r.expression, "origin": r.origin, "support": r.support,
                         "held_share": round(1 - bad / max(len(f), 1), 4)})
        for g in t.group_rules:
            bad = int(group_violations(f, g).sum())
            rows.append({"table": t.name, "rule": g.label, "origin": g.origin,
                         "held_share": round(1 - bad / max(len(f), 1), 4)})
        for fr in t.foreign_rules:
            judged, bad = foreign_violations(fr, meta, t.name, frames) or (0, 0)
            rows.append({"table": t.name, "rule": fr.expression, "origin": "learned across a foreign key",
                         "support": fr.support, "held_share": round(1 - bad / max(judged, 1), 4)})
    return rows


def sdmetrics_spec(data: dict[str, pd.DataFrame], meta: Metadata) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for name, f in data.items():
        cfg = meta.tables[name]
        keys = {*cfg.pk, *(c for fk in cfg.fk for c in fk.columns)}
        cols = {}
        for c in f.columns:
            if c in keys:
                cols[c] = {"sdtype": "id"}
            elif pd.api.types.is_datetime64_any_dtype(f[c]):
                cols[c] = {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"}
            elif pd.api.types.is_numeric_dtype(f[c]) and not pd.api.types.is_bool_dtype(f[c]):
                cols[c] = {"sdtype": "numerical"}
            else:
                cols[c] = {"sdtype": "categorical"}
        tables[name] = {"primary_key": cfg.pk[0], "columns": cols}
    rels = [{"parent_table_name": fk.parent, "parent_primary_key": fk.parent_columns[0], "child_table_name": name,
             "child_foreign_key": fk.columns[0]} for name, cfg in meta.tables.items() for fk in cfg.fk]
    return {"tables": tables, "relationships": rels}


def score(data: dict[str, pd.DataFrame], meta: Metadata, outs: dict[str, dict[str, pd.DataFrame]],
          python: str | None) -> dict[str, Any] | str:
    if not python:
        return "not scored: pass --sdmetrics-python (a Python with sdmetrics installed)"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "spec.json").write_text(json.dumps(sdmetrics_spec(data, meta)))
        (root / "score.py").write_text(SCORER)
        folders = {"real": data, **outs}
        for label, frames in folders.items():
            (root / label).mkdir()
            for name, f in frames.items():
                f[list(data[name].columns)].to_csv(root / label / f"{name}.csv", index=False)
        argv = [python, str(root / "score.py"), str(root / "spec.json"), str(root / "real")]
        for label in outs:
            argv += [label, str(root / label)]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"scorer failed: {done.stderr[-500:]}"
        scores = json.loads(done.stdout.strip().splitlines()[-1])
        return {label: {k: (None if isinstance(v, float) and v != v else v) for k, v in props.items()}
                for label, props in scores.items()}  # NaN (no intertable pair) as null: strict JSON


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mrr-csv", type=Path, default=DEFAULT_MRR)
    parser.add_argument("--backend", default="AR")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sdmetrics-python", default=None)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--datasets", nargs="+", default=["shop", "mrr_playbook", "jaffle_shop"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    datasets = {}
    if "shop" in args.datasets:
        datasets["shop"] = shop()
    if "mrr_playbook" in args.datasets and args.mrr_csv.is_file():
        datasets["mrr_playbook"] = mrr(args.mrr_csv)
    if "jaffle_shop" in args.datasets:
        datasets["jaffle_shop"] = jaffle(args.corpus)
    results: dict[str, Any] = {"backend": args.backend, "epochs": args.epochs, "seed": args.seed, "datasets": {}}
    for name, (data, meta) in datasets.items():
        synth, after = run(data, meta, True, args)
        _, before = run(data, meta, False, args)
        rules_meta = synth.metadata
        per_rule = {"after": held(rules_meta, after["out"]), "before": held(rules_meta, before["out"])}
        kept = {k: sum(r["held_share"] == 1.0 for r in v) for k, v in per_rule.items()}
        results["datasets"][name] = {
            "rows": {t: len(f) for t, f in data.items()},
            "rules": [{k: v for k, v in r.items() if k != "held_share"} | {
                "held_share_before": b["held_share"], "held_share_after": r["held_share"]}
                for r, b in zip(per_rule["after"], per_rule["before"])],
            "rules_kept": {k: f"{v}/{len(per_rule['after'])}" for k, v in kept.items()},
            "fit_and_sample_s": {"before": before["seconds"], "after": after["seconds"]},
            "sdmetrics": score(data, meta, {"before": before["out"], "after": after["out"]},
                               args.sdmetrics_python),
        }
        print(json.dumps({name: results["datasets"][name]}, indent=1, default=str))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
