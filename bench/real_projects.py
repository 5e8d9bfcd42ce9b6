"""Public dbt projects as published: real `dbt build`, then `synthohive seed` in mirror and sources mode.

Each project in `bench/real_projects_specs.json` is taken from a fetched snapshot (a bare git dir under
`--mirror-root`, as the fetch tool leaves it), unpacked at its commit into `<projects>/<name>/`, its dbt
packages copied into `dbt_packages/` from fetched snapshots at the versions its `packages.yml` asks for (the
package hub is out of reach; `dbt deps` is not run). Nothing else of the project is changed: a `profiles.yml`
pointing at a DuckDB file (or PostgreSQL) is written beside it, as a user would.

Per project the script records: the commit, the dbt version, the tests passing on the real data (`dbt seed` +
`dbt build`, from run_results.json), and per mode the synthohive exit code, wall seconds, the tests that passed
/ failed / errored / were skipped on synthetic data, the tests that passed on real data but did not run (and
why, as far as the run says), and the tail of synthohive's output. Results go to
`bench/results/real_projects.json`.

    PYTHONPATH=. .venv/bin/python bench/real_projects.py [/work/real_projects] [--only NAME] [--epochs 5]

No code of those projects lives in this repository: only their names, repositories and commits (the specs).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SPECS = HERE / "real_projects_specs.json"
DEFAULT_OUT = HERE / "results" / "real_projects.json"
MODES = ("mirror", "sources")


def venv_bin(name: str) -> str:
    """The tool beside this Python (the venv's dbt / synthohive), else from PATH."""
    cand = Path(sys.executable).parent / name
    return str(cand) if cand.exists() else name


# ---------------------------------------------------------------------------------------------- preparing
def git_archive(git_dir: Path, ref: str, dest: Path, subdir: str | None = None,
                exclude: tuple[str, ...] = ()) -> None:
    """Unpack `ref` (or only `subdir` of it) of a bare git dir into dest (a fresh folder)."""
    args = ["git", "--git-dir", str(git_dir), "archive", "--format=tar", ref]
    if subdir:
        args.append(subdir)
    data = subprocess.run(args, check=True, capture_output=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = []
        for m in tar.getmembers():
            name = m.name
            if subdir:
                if not (name == subdir or name.startswith(subdir.rstrip("/") + "/")):
                    continue
                name = name[len(subdir.rstrip("/")) + 1:]
                if not name:
                    continue
            if any(name == e or name.startswith(e + "/") for e in exclude):
                continue
            if m.issym() or m.islnk():
                continue
            m.name = name
            members.append(m)
        tar.extractall(dest, members=members)  # noqa: S202 - our own fetched snapshots


def missing_blobs(git_dir: Path, ref: str) -> list[str]:
    """Files of the snapshot whose content was not fetched (large files), listed so a run can say so."""
    out = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-l", ref],
                         capture_output=True, text=True).stdout
    missing = []
    for line in out.splitlines():
        meta, _, path = line.partition("\t")
        sha = meta.split()[2]
        ok = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "-e", sha],
                            capture_output=True).returncode == 0
        if not ok:
            missing.append(path)
    return missing


def profile_name(project_dir: Path) -> str:
    import yaml

    return str(yaml.safe_load((project_dir / "dbt_project.yml").read_text())["profile"])


def write_profile(spec: dict[str, Any], project_dir: Path, work: Path) -> Path:
    """profiles.yml beside the project (not part of it): DuckDB file or a PostgreSQL URL from the env."""
    import yaml

    name = profile_name(project_dir)
    schema = spec.get("schema", "main")
    if spec.get("adapter", "duckdb") == "duckdb":
        out = {"type": "duckdb", "path": str(work / "warehouse.duckdb"), "schema": schema, "threads": 1}
    else:
        out = {"type": "postgres", **pg_params(spec), "schema": schema if schema != "main" else "public",
               "threads": 1}
    (work / "profiles").mkdir(exist_ok=True)
    path = work / "profiles" / "profiles.yml"
    path.write_text(yaml.safe_dump({name: {"target": "dev", "outputs": {"dev": out}}}, sort_keys=False))
    return path.parent


def prepare(spec: dict[str, Any], root: Path, mirror_root: Path, refresh: bool) -> dict[str, Any]:
    work = root / spec["name"]
    src = work / "project"
    git_dir = mirror_root / spec["mirror"] / "repo"
    info: dict[str, Any] = {"missing_files": []}
    if refresh and src.exists():
        shutil.rmtree(src)
    if not src.exists():
        git_archive(git_dir, spec["commit"], src)
        info["missing_files"] = missing_blobs(git_dir, spec["commit"])
    project_dir = src / spec["subdir"] if spec.get("subdir") else src
    pk = project_dir / "dbt_packages"
    if refresh and pk.exists():
        shutil.rmtree(pk)
    for p in spec.get("packages", []):
        dest = pk / p["name"]
        if dest.exists():
            continue
        if p.get("local"):  # `- local: ../`: the repository itself, without its integration project
            git_archive(git_dir, spec["commit"], dest,
                        exclude=(spec.get("subdir") or "integration_tests",))
        else:
            git_archive(mirror_root / p["mirror"] / "repo", p["ref"], dest)
    profiles = write_profile(spec, project_dir, work)
    info.update(work=work, project_dir=project_dir, profiles=profiles)
    return info


# -------------------------------------------------------------------------------------------- dbt results
def read_results(path: Path, which: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """run_results.json's results; with `which`, only when dbt's command was one of those (not `compile`)."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    if which and data.get("args", {}).get("which") not in which:
        return []
    return data.get("results", [])


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def is_test(uid: str) -> bool:
    return uid.startswith("test.")


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    tests = {r["unique_id"]: r["status"] for r in results if is_test(r["unique_id"])}
    nodes = {r["unique_id"]: r["status"] for r in results if not is_test(r["unique_id"])}
    def count(d: dict[str, str], s: str) -> int:
        return sum(1 for v in d.values() if v == s)
    return {
        "tests": len(tests), "tests_pass": count(tests, "pass"), "tests_fail": count(tests, "fail"),
        "tests_warn": count(tests, "warn"), "tests_error": count(tests, "error"),
        "tests_skipped": count(tests, "skipped"),
        "nodes": len(nodes), "nodes_success": count(nodes, "success"), "nodes_error": count(nodes, "error"),
        "nodes_skipped": count(nodes, "skipped"),
    }


SQL_ECHO = re.compile(r"^\s*(LINE \d+:.*|\^\s*)$")


def sanitize(text: str) -> str:
    """Drop the SQL that database errors echo (`LINE n: ...` and its caret): no project code in results."""
    return "\n".join("    [SQL echo dropped]" if SQL_ECHO.match(line) else line for line in text.splitlines())


def sanitize_tree(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: sanitize(v) if k in ("log_tail", "message") and isinstance(v, str) else sanitize_tree(v)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [sanitize_tree(v) for v in obj]
    return obj


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int) -> tuple[int, str, float]:
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as exc:
        rc = 124
        out = ((exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or ""))
        out += "\n[timed out]"
    return rc, out, round(time.monotonic() - t0, 1)


def dbt_env(profiles: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DBT_PROFILES_DIR"] = str(profiles)
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def real_build(spec: dict[str, Any], info: dict[str, Any], timeout: int) -> dict[str, Any]:
    """Fresh warehouse, `dbt seed` (+ the README's vars), `dbt build`; results per test unique_id."""
    project_dir, env = info["project_dir"], dbt_env(info["profiles"])
    db = info["work"] / "warehouse.duckdb"
    for f in info["work"].glob("warehouse.duckdb*"):
        f.unlink()
    if spec.get("adapter") == "postgres":
        reset_postgres(spec)
    shutil.rmtree(project_dir / "target", ignore_errors=True)
    dbt = venv_bin("dbt")
    vars_args = ["--vars", json.dumps(spec["seed_vars"])] if spec.get("seed_vars") else []
    out: dict[str, Any] = {}
    rc, log, wall = run([dbt, "seed", "--full-refresh", *vars_args, "--target-path", "target/real_seed"],
                        project_dir, env, timeout)
    seeds = read_results(project_dir / "target/real_seed/run_results.json")
    out["seed"] = {"exit_code": rc, "wall_s": wall, "seeds": len(seeds),
                   "seeds_ok": sum(1 for r in seeds if r["status"] == "success")}
    if rc != 0:
        out["seed"]["log_tail"] = log[-3000:]
    rc, log, wall = run([dbt, "build", "--target-path", "target/real_build"], project_dir, env, timeout)
    results = read_results(project_dir / "target/real_build/run_results.json")
    out["build"] = {"exit_code": rc, "wall_s": wall, **summarize(results)}
    if rc != 0:
        out["build"]["log_tail"] = log[-3000:]
    out["test_status"] = {r["unique_id"]: r["status"] for r in results if is_test(r["unique_id"])}
    manifest = load_manifest(project_dir / "target/real_build/manifest.json")
    out["dbt_version"] = manifest.get("metadata", {}).get("dbt_version")
    out["adapter"] = manifest.get("metadata", {}).get("adapter_type")
    nodes = manifest.get("nodes", {})
    out["relations"] = {
        "seeds": sorted(n["name"] for n in nodes.values() if n["resource_type"] == "seed"),
        "sources": sorted(f"{s['source_name']}.{s['name']}" for s in manifest.get("sources", {}).values()),
        "models": len([n for n in nodes.values() if n["resource_type"] == "model"]),
        "snapshots": len([n for n in nodes.values() if n["resource_type"] == "snapshot"]),
    }
    if db.exists():
        out["row_counts"] = row_counts(db)
    return out


def pg_params(spec: dict[str, Any]) -> dict[str, Any]:
    return {"host": os.environ.get("PGHOST", "localhost"), "port": int(os.environ.get("PGPORT", "5432")),
            "user": os.environ.get("PGUSER", "postgres"), "password": os.environ.get("PGPASSWORD", ""),
            "dbname": spec.get("dbname", spec["name"])}


def reset_postgres(spec: dict[str, Any]) -> None:
    """A fresh database per project and run (PostgreSQL from PGHOST/PGPORT/PGUSER/PGPASSWORD)."""
    import psycopg2

    params = pg_params(spec)
    con = psycopg2.connect(**{**params, "dbname": "postgres"})
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f'drop database if exists "{params["dbname"]}" with (force)')
        cur.execute(f'create database "{params["dbname"]}"')
    con.close()


def row_counts(db: Path) -> dict[str, int]:
    try:
        import duckdb
    except ImportError:
        return {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        rels = con.execute("select table_schema, table_name from information_schema.tables "
                           "where table_schema not like '%synthohive_staging'").fetchall()
        return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in rels}
    finally:
        con.close()


def synth_run(spec: dict[str, Any], info: dict[str, Any], mode: str, args: argparse.Namespace,
              real_tests: dict[str, str], tag: str = "") -> dict[str, Any]:
    project_dir, env = info["project_dir"], dbt_env(info["profiles"])
    target_schema = f"synth_{mode}"
    suffix = f"{mode}_{tag}" if tag else mode
    report = info["work"] / f"report_{suffix}.html"
    cmd = [venv_bin("synthohive"), "seed", "--project-dir", str(project_dir), "--profiles-dir",
           str(info["profiles"]), "--mode", mode, "--target-schema", target_schema,
           *(["--epochs", str(args.epochs)] if args.epochs else []), "--seed", "0", "--report", str(report), "--force"]
    if args.backend:
        cmd += ["--backend", args.backend]
    cmd += spec.get("synthohive_args", [])
    ws = project_dir / "target" / "synthohive"
    before = {p.name for p in ws.iterdir()} if ws.exists() else set()
    rc, log, wall = run(cmd, project_dir, env, args.timeout)
    (info["work"] / f"synthohive_{suffix}.log").write_text(log)
    new = sorted((p for p in ws.iterdir() if p.name not in before and p.is_dir()),
                 key=lambda p: p.stat().st_mtime) if ws.exists() else []
    results: list[dict[str, Any]] = []
    for d in new:
        for rr in sorted(d.rglob("run_results.json"), key=lambda p: p.stat().st_mtime):
            results.extend(read_results(rr, which=("build", "test")))
    tests = {}
    for r in results:  # later dbt invocations of the run win
        if is_test(r["unique_id"]):
            tests[r["unique_id"]] = {"status": r["status"], "failures": r.get("failures"),
                                     "message": (r.get("message") or "")[:300]}
    real_pass = {u for u, s in real_tests.items() if s == "pass"}
    passed = sorted(u for u, t in tests.items() if t["status"] == "pass")
    built: dict[str, int] = {}
    real_models: dict[str, int] = {}
    if mode == "sources" and spec.get("adapter", "duckdb") == "duckdb":
        db = info["work"] / "warehouse.duckdb"
        counts = row_counts(db) if db.exists() else {}
        for key, n in counts.items():
            schema, table = key.split(".", 1)
            if table.startswith("_synthohive"):
                continue
            if schema.startswith(f"{target_schema}_build"):  # custom schemas: <build>_<suffix>
                built[table] = n
            elif not schema.startswith("synth_"):
                real_models[table] = max(n, real_models.get(table, 0))
    empty = sorted(t for t, n in built.items() if n == 0 and real_models.get(t, 0) > 0)
    small = sorted(t for t, n in built.items() if 0 < n < 0.1 * real_models.get(t, 0))
    out: dict[str, Any] = {
        "models_built": len(built),
        "models_empty_on_synthetic_not_on_real": empty,
        "models_under_a_tenth_of_real": small,
        "model_rows_real_vs_synthetic": {t: [real_models.get(t), n] for t, n in sorted(built.items())},
        "command": " ".join(cmd[1:]).replace(str(project_dir), "<project>").replace(str(info["work"]), "<work>"),
        "exit_code": rc, "wall_s": wall, "workspaces": [p.name for p in new],
        "tests_run": len(tests),
        "tests_pass": len(passed),
        "real_pass_also_pass": len(real_pass & set(passed)),
        "real_pass": len(real_pass),
        "failed": {u: t for u, t in tests.items() if t["status"] in ("fail", "error", "warn")},
        "skipped": sorted(u for u, t in tests.items() if t["status"] == "skipped"),
        "not_run": sorted(real_pass - set(tests)),
        "not_run_reason": ("synthohive exited before dbt ran" if not tests and rc != 0
                           else "not in any dbt invocation of the run" if real_pass - set(tests) else None),
        "report_json": str(report.with_suffix(".json")) if report.with_suffix(".json").exists() else None,
        "log_tail": log[-4000:],
    }
    return out


OVERRIDE_MACRO = """{% macro source(source_name, table_name) %}
  {{ return(synthohive.source(source_name, table_name)) }}
{% endmacro %}
"""
NEEDS_OVERRIDE = "does not redirect source()"


def override_paths(info: dict[str, Any]) -> tuple[Path, Path]:
    import yaml

    project_dir = info["project_dir"]
    conf = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    macro_dir = (conf.get("macro-paths") or ["macros"])[0]
    return project_dir / macro_dir / "zz_synthohive_source_override.sql", project_dir / "dbt_packages" / "synthohive"


def install_override(info: dict[str, Any]) -> None:
    """The README's one-time set-up (an edit of the project, so reported apart from "as published"): the
    synthohive dbt package from this repository in dbt_packages/ and the three-line source() override."""
    macro, package = override_paths(info)
    macro.parent.mkdir(parents=True, exist_ok=True)
    macro.write_text(OVERRIDE_MACRO)
    if package.exists():
        shutil.rmtree(package)
    package.mkdir(parents=True)
    shutil.copy(HERE.parent / "dbt_project.yml", package / "dbt_project.yml")
    shutil.copytree(HERE.parent / "macros", package / "macros")


def remove_override(info: dict[str, Any]) -> None:
    macro, package = override_paths(info)
    if macro.exists():
        macro.unlink()
    shutil.rmtree(package, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("projects", nargs="?", default="/work/real_projects", type=Path,
                    help="folder holding one folder per project (created from the snapshots if absent)")
    ap.add_argument("--specs", type=Path, default=DEFAULT_SPECS)
    ap.add_argument("--mirror-root", type=Path, default=Path(os.environ.get("MIRROR_ROOT", "/work/.mirror")))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", action="append", help="project name (repeat)")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--epochs", type=int, default=None,
                    help="synthohive --epochs (default: its own; training is capped by steps per table)")
    ap.add_argument("--backend", default=None, help="synthohive --backend (default: its own default)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per command")
    ap.add_argument("--refresh", action="store_true", help="unpack the snapshots again")
    ap.add_argument("--no-override", action="store_true",
                    help="do not retry a refused project with the README's source() override")
    ap.add_argument("--merge", action="store_true", help="keep other projects' entries already in --out")
    args = ap.parse_args(argv)

    specs = json.loads(args.specs.read_text())["projects"]
    if args.only:
        specs = [s for s in specs if s["name"] in args.only]
    previous = {}
    if args.merge and args.out.exists():
        previous = {p["name"]: p for p in json.loads(args.out.read_text()).get("projects", [])}
    results = []
    for spec in specs:
        print(f"== {spec['name']} ({spec['repo']}@{spec['commit'][:10]})", flush=True)
        entry: dict[str, Any] = {k: spec.get(k) for k in ("name", "repo", "commit", "adapter", "seeds")}
        entry["packages"] = [f"{p['name']}@{'local' if p.get('local') else p['ref']}" for p in spec.get("packages", [])]
        try:
            info = prepare(spec, args.projects, args.mirror_root, args.refresh)
        except Exception as exc:  # a snapshot that cannot be unpacked is a result too
            entry["status"] = "not run"
            entry["why"] = f"prepare failed: {exc}"
            results.append(entry)
            continue
        entry["missing_files"] = info["missing_files"]
        real = real_build(spec, info, args.timeout)
        real_tests = real.pop("test_status")
        entry["dbt_version"] = real.get("dbt_version")
        entry["real"] = real
        print(f"   real: build exit {real['build']['exit_code']}, tests pass "
              f"{real['build']['tests_pass']}/{real['build']['tests']}", flush=True)
        entry["synthetic"] = {}
        for mode in [m for m in args.modes.split(",") if m]:
            res = synth_run(spec, info, mode, args, real_tests)
            entry["synthetic"][mode] = res
            print(f"   {mode}: exit {res['exit_code']}, {res['wall_s']}s, real-passing tests passing "
                  f"{res['real_pass_also_pass']}/{res['real_pass']} (run {res['tests_run']}, "
                  f"failed {len(res['failed'])}, not run {len(res['not_run'])})", flush=True)
        refused = [m for m, r in entry["synthetic"].items() if NEEDS_OVERRIDE in r["log_tail"]]
        if refused and not args.no_override:
            entry["synthetic_with_override"] = {"edit": "README set-up: synthohive package in dbt_packages/ and "
                                                        "macros/zz_synthohive_source_override.sql (source() override)"}
            install_override(info)
            try:
                for mode in [m for m in args.modes.split(",") if m]:
                    res = synth_run(spec, info, mode, args, real_tests, tag="override")
                    entry["synthetic_with_override"][mode] = res
                    print(f"   {mode} (with override): exit {res['exit_code']}, {res['wall_s']}s, real-passing "
                          f"tests passing {res['real_pass_also_pass']}/{res['real_pass']} (run {res['tests_run']}, "
                          f"failed {len(res['failed'])}, not run {len(res['not_run'])})", flush=True)
            finally:
                remove_override(info)
        results.append(entry)
        previous.pop(spec["name"], None)
    all_entries = list(previous.values()) + results
    all_entries.sort(key=lambda e: e["name"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"synthohive_epochs": args.epochs or "default", "backend": args.backend or "default",
            "python": sys.version.split()[0], "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    not_runnable = json.loads(args.specs.read_text()).get("not_runnable", [])
    payload = sanitize_tree({"meta": meta, "projects": all_entries, "not_runnable": not_runnable})
    args.out.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
