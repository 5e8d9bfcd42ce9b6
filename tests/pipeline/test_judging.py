"""Which tests a run judges: every node a test touches must be synthetic; an ephemeral model counts as the
tables it reads; disabled tests never run."""

from __future__ import annotations

from synthohive_dbt.pipeline.judging import judged_tests


def _node(uid: str, kind: str, parents: list[str], **extra: object) -> dict:
    schema = {} if extra.get("ephemeral") else {"schema": "s", "alias": uid.split(".")[-1]}
    return {"unique_id": uid, "resource_type": kind, "name": uid.split(".")[2], "depends_on": {"nodes": parents},
            "config": {"materialized": "ephemeral" if extra.get("ephemeral") else "table",
                       "enabled": extra.get("enabled", True)}, **schema}


def test_ephemeral_models_stand_for_what_they_read_and_disabled_tests_are_skipped() -> None:
    nodes = {n["unique_id"]: n for n in [
        _node("model.p.stg_a", "model", []), _node("model.p.stg_b", "model", []),
        _node("model.p.int_ab", "model", ["model.p.stg_a", "model.p.stg_b"], ephemeral=True),
        _node("test.p.not_null_int_ab.1", "test", ["model.p.int_ab"]),
        _node("test.p.rel_a_b.2", "test", ["model.p.stg_a", "model.p.stg_b"]),
        _node("test.p.off.3", "test", ["model.p.stg_a"], enabled=False)]}
    manifest = {"nodes": nodes, "sources": {}}
    everything = judged_tests(manifest, {"model.p.stg_a", "model.p.stg_b"})
    assert sorted(everything.runnable) == ["test.p.not_null_int_ab.1", "test.p.rel_a_b.2"]
    half = judged_tests(manifest, {"model.p.stg_a"})
    assert half.runnable == {} and sorted(half.kept_out) == ["test.p.not_null_int_ab.1", "test.p.rel_a_b.2"]
    assert half.kept_out["test.p.not_null_int_ab.1"] == ["model.p.stg_b"]
