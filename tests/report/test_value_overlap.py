"""The privacy section counts, per generated column, written values that occur in the real data: 0 for
identifiers, faked and free-text columns; integer keys are shown beside the count expected by chance."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import Metadata
from synthohive_dbt.report.measure import RunFacts, measure_run, write_report
from tests.relational.conftest import TINY


def _real(n: int = 120) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    users = pd.DataFrame({
        "user_id": np.arange(1, n + 1),
        "account": [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)],
        "ref": [f"U-{i:05d}" for i in rng.permutation(n)],
        "email": [f"person{i}@example.org" for i in range(n)],
        "bio": [" ".join(rng.choice(["likes", "data", "and", "cats", "tea", "maps"], 6)) + f" {i}" for i in range(n)],
        "age": rng.integers(18, 80, n)})
    return {"users": users}


def test_generated_columns_publish_no_real_value_and_integer_keys_are_shown_beside_chance(tmp_path: Path) -> None:
    meta = Metadata()
    meta.add_table("users", pk="user_id", pii_columns=["email"])
    meta.tables["users"].constraints["account"] = meta.tables["users"].constraint("account").model_copy(
        update={"unique": True})
    meta.tables["users"].constraints["ref"] = meta.tables["users"].constraint("ref").model_copy(
        update={"unique": True})
    real = _real()
    synth = Synthesizer(meta, model_kwargs=TINY).fit(real, epochs=2, batch_size=60, seed=1)
    out = synth.sample(seed=2, evaluate=False)
    result = measure_run(real, out, RunFacts.of(synth))
    found = {(o.column, o.role, o.value_space): (o.in_real, o.expected_by_chance) for o in result.value_overlap}
    assert found[("account", "key", "large")] == (0, None)
    assert found[("ref", "key", "large")] == (0, None)  # prefixed ids are numbered past the real ones
    assert found[("email", "pii", "large")] == (0, None)
    assert found[("bio", "free text", "large")] == (0, None)
    in_real, chance = found[("user_id", "key", "small")]
    assert in_real == 120 and chance is not None and chance > 100  # 1..120 again: all expected by chance
    html, js = write_report(result, tmp_path / "report.html")
    text = html.read_text()
    assert "Real values in generated columns" in text and "users.account" in text
    assert '"value_overlap"' in js.read_text()


def test_constant_columns_do_not_make_every_row_an_exact_copy() -> None:
    """A table whose only learned column is constant: no row is called a copy of a real one for that."""
    from synthohive_dbt.report.columns import plan_columns
    from synthohive_dbt.report.privacy_metrics import PrivacySettings, table_privacy

    meta = Metadata()
    meta.add_table("events", pk="event_id")
    real = pd.DataFrame({"event_id": np.arange(200), "source": ["web"] * 200, "kind": ["a", "b"] * 100})
    synthetic = real.assign(event_id=np.arange(1000, 1200))
    plans = plan_columns(meta.tables["events"], real, synthetic)
    p = table_privacy(meta.tables["events"], real, synthetic, plans, None, PrivacySettings())
    assert p is not None and p.exact_copies == 200  # `kind` varies: equal rows are counted
    constant = real[["event_id", "source"]]
    synthetic = constant.assign(event_id=np.arange(1000, 1200))
    plans = plan_columns(meta.tables["events"], constant, synthetic)
    p = table_privacy(meta.tables["events"], constant, synthetic, plans, None, PrivacySettings())
    assert p is not None and p.exact_copies == 0  # only a constant left: "200/200 copies" would be noise
