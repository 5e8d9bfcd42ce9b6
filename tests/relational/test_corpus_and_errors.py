"""The jaffle_shop_classic corpus (seed CSVs + the constraints its manifest declares), data errors, artifact
integrity, progress."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import Constraint, Metadata
from synthohive_dbt.errors import ArtifactError, DataError
from synthohive_dbt.manifest import read_manifest
from synthohive_dbt.relational.constraints import assert_frame
from tests.helpers.system import missing_reason, shared_dir
from tests.helpers.tiny_shop import TINY, fit

JAFFLE = shared_dir() / "corpus" / "jaffle_shop_classic"  # shared/ beside the repository

# the manifest tests its staging models, which rename the raw seeds' columns: staging column <- seed column
_STAGING = {"stg_customers": ("raw_customers", {"customer_id": "id"}),
            "stg_orders": ("raw_orders", {"order_id": "id", "customer_id": "user_id"}),
            "stg_payments": ("raw_payments", {"payment_id": "id"})}


def _jaffle_metadata() -> Metadata:
    """Seeds carry no tests in the manifest: move the staging models' tests onto the seed columns."""
    read = read_manifest(JAFFLE / "manifest.json").metadata
    meta = Metadata()
    meta.add_table("raw_customers", pk="id")
    meta.add_table("raw_orders", pk="id", fk={"user_id": "raw_customers.id"})
    meta.add_table("raw_payments", pk="id", fk={"order_id": "raw_orders.id"})
    for staging, (seed, renames) in _STAGING.items():
        for col, c in read.tables[staging].constraints.items():
            meta.tables[seed].add_constraint(renames.get(col, col), c)
    meta.tables["raw_orders"].add_constraint("order_date", Constraint(dtype="date", not_null=True))
    return meta


@pytest.mark.skipif(not JAFFLE.is_dir(), reason=missing_reason("shared corpus", f"{JAFFLE} is not here"))
def test_jaffle_constraints_hold_on_every_generated_row() -> None:
    meta = _jaffle_metadata()
    assert meta.tables["raw_orders"].constraints["status"].accepted_values == \
        ["placed", "shipped", "completed", "return_pending", "returned"]
    synth = Synthesizer(meta, model_kwargs=TINY).fit(JAFFLE / "seeds", epochs=2, batch_size=50, seed=1)
    out = synth.sample(scale=2.0, seed=1)
    for name, frame in out.items():
        assert_frame(frame, meta.tables[name])  # raises, naming table/column/value, on any violation
    orders, payments, customers = out["raw_orders"], out["raw_payments"], out["raw_customers"]
    assert set(orders["status"]) <= {"placed", "shipped", "completed", "return_pending", "returned"}
    assert set(payments["payment_method"]) <= {"credit_card", "coupon", "bank_transfer", "gift_card"}
    assert orders["user_id"].isin(customers["id"]).all() and payments["order_id"].isin(orders["id"]).all()
    assert customers["id"].is_unique and orders["id"].is_unique and payments["id"].is_unique
    assert pd.api.types.is_datetime64_any_dtype(orders["order_date"])  # parsed from CSV as declared


def _two_tables() -> tuple[Metadata, dict[str, pd.DataFrame]]:
    meta = Metadata()
    meta.add_table("users", pk="id")
    meta.add_table("orders", pk="id", fk={"user_id": "users.id"})
    users = pd.DataFrame({"id": [1, 2, 3], "plan": ["a", "b", "a"]})
    orders = pd.DataFrame({"id": [1, 2, 3, 4], "user_id": [1, 1, 2, 3], "amount": [1.0, 2.0, 3.0, 4.0]})
    return meta, {"users": users, "orders": orders}


def _learned_two_tables() -> tuple[Metadata, dict[str, pd.DataFrame]]:
    """The two tables, ten times over: enough rows (>= MIN_LEARN_ROWS) for a model to be trained."""
    meta, data = _two_tables()
    data = {name: pd.concat([frame] * 10, ignore_index=True).assign(id=lambda f: np.arange(1, len(f) + 1))
            for name, frame in data.items()}
    data["orders"]["user_id"] = (data["orders"]["user_id"] - 1) % 30 + 1
    return meta, data


def test_empty_table_gives_an_empty_table_of_its_columns() -> None:
    """Was a DataError: an empty table (dev data, a feature not launched) samples as empty, typed."""
    meta, data = _two_tables()
    data["orders"] = data["orders"].iloc[:0]
    out = Synthesizer(meta).fit(data, epochs=1, seed=1).sample(evaluate=False)
    assert len(out["orders"]) == 0 and list(out["orders"].columns) == ["id", "user_id", "amount"]
    assert out["orders"]["amount"].dtype == "float64" and len(out["users"]) == 3


def test_all_null_column_comes_back_all_null() -> None:
    """Was a DataError: the column is written back, null in every row, in its dtype."""
    meta, data = _two_tables()
    data["users"]["plan"] = None
    out = Synthesizer(meta).fit(data, epochs=1, seed=1).sample(evaluate=False)
    assert out["users"]["plan"].isna().all() and out["users"]["plan"].dtype == object


def test_foreign_key_type_mismatch_is_a_data_error() -> None:
    meta, data = _two_tables()
    data["orders"]["user_id"] = ["1", "1", "2", "3"]
    with pytest.raises(DataError, match=r"table 'orders': foreign key column 'user_id' holds text values but "
                                        r"the parent key users.id holds number values"):
        Synthesizer(meta).fit(data, epochs=1)


def test_missing_table_file_names_the_table_and_the_folder(tmp_path) -> None:
    meta, data = _two_tables()
    data["users"].to_csv(tmp_path / "users.csv", index=False)
    with pytest.raises(DataError, match=r"table 'orders': no orders.parquet or orders.csv in .* \(found: "
                                        r"\['users.csv'\]\)"):
        Synthesizer(meta).fit(tmp_path, epochs=1)


def test_tampered_or_foreign_artifact_is_refused(tmp_path) -> None:
    meta, data = _learned_two_tables()  # learned, so the artifact holds weights to flip
    synth = fit(meta, data)
    path = tmp_path / "m.shm"
    synth.save(path)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # flip one weight byte
    (tmp_path / "bad.shm").write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match=r"fails its integrity check"):
        Synthesizer.load(tmp_path / "bad.shm")
    (tmp_path / "short.shm").write_bytes(bytes(raw[:20]))
    with pytest.raises(ArtifactError, match=r"not a readable synthesizer file"):
        Synthesizer.load(tmp_path / "short.shm")


def test_progress_reports_every_table_in_training_order() -> None:
    meta, data = _learned_two_tables()
    events = []
    synth = Synthesizer(meta, model_kwargs=TINY).fit(data, epochs=2, batch_size=10, seed=0,
                                                     progress=events.append)
    assert [e.table for e in events if e.done == e.total and e.epoch is None] == ["users", "orders"]
    assert any(e.epoch is not None and e.table == "orders" for e in events)
    rows = []
    synth.sample(seed=0, progress=rows.append)
    assert [(e.stage, e.table) for e in rows] == [("sample", "users"), ("sample", "orders")]
    assert rows[-1].done == rows[-1].total == len(synth.sample(seed=0)["orders"])
    assert np.all([e.n_tables == 2 for e in rows])
