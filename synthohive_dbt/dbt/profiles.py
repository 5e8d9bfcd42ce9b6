"""The user's dbt profile -> a warehouse connection, so there is never a second credentials file.

Lookup follows dbt: `profiles.yml` in `--profiles-dir`, else `$DBT_PROFILES_DIR`, else the current
directory, else (our addition) the project directory, else `~/.dbt`. The profile is `--profile` or the
project's `profile:`; the target is `--target`, else `$DBT_TARGET`, else the profile's `target:`, else
`default`. Every string of the chosen output is rendered like dbt does: jinja with `env_var(name, default)`
and the `as_number` / `as_bool` / `as_native` / `as_text` filters. The runner hands the same profiles
directory to dbt, so both always read the same file.

Mapping from dbt profile fields to the SQLAlchemy URL:

| type      | URL (driver package)                             | fields read                                     |
|-----------|--------------------------------------------------|-------------------------------------------------|
| duckdb    | duckdb:///<path> (duckdb-engine)                 | path (default :memory:; relative = project dir) |
| postgres  | postgresql+psycopg2://user:pw@host:port/dbname   | host, port=5432, user, password|pass,            |
|           | (psycopg2-binary)                                | dbname|database, schema, sslmode, connect_timeout|
| redshift  | same shape as postgres, port 5439 (psycopg2)     | as postgres; method: iam is refused             |
| snowflake | snowflake://user:pw@account/db/schema            | account, user, password, database, schema,      |
|           | (snowflake-sqlalchemy)                           | warehouse, role (query)                         |
| bigquery  | bigquery://project/dataset (sqlalchemy-bigquery) | project, dataset|schema, keyfile                |
| mysql     | mysql+pymysql://user:pw@host:3306/schema (pymysql)| server|host, port, username|user, password, schema|
| spark     | no URL: the SparkSession of this process          | method (session only), schema, host (ignored),  |
|           | (dbt-spark `method: session`; io/warehouses/spark)| server_side_parameters (the session's settings) |

Only duckdb and postgres are tested against a live warehouse here; the others build the URL and fail with a
ProfileError naming the package when their driver is missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import yaml
from pydantic import SecretStr

from synthohive_dbt.errors import ProfileError
from synthohive_dbt.io.connection import ConnectionSpec, Engine, create_warehouse_engine


@dataclass(frozen=True)
class ResolvedProfile:
    """Where the connection came from (for messages) and the connection itself."""

    profiles_dir: Path
    profile: str
    target: str
    spec: ConnectionSpec

    def __str__(self) -> str:
        return f"profile {self.profile!r}, target {self.target!r} ({self.spec.redacted()})"


def find_profiles_dir(profiles_dir: str | Path | None = None, project_dir: str | Path | None = None) -> Path:
    """The directory whose profiles.yml dbt would read (see the module docstring for the order)."""
    if profiles_dir is not None:
        return _must_hold_profiles(Path(profiles_dir), "--profiles-dir")
    env = os.environ.get("DBT_PROFILES_DIR")
    if env:
        return _must_hold_profiles(Path(env), "DBT_PROFILES_DIR")
    for cand in (Path.cwd(), Path(project_dir) if project_dir else None, Path.home() / ".dbt"):
        if cand is not None and (cand / "profiles.yml").is_file():
            return cand
    raise ProfileError(
        "no profiles.yml found (looked in the current directory"
        + (f", {project_dir}" if project_dir else "") + f" and {Path.home() / '.dbt'})",
        hint="pass --profiles-dir, set DBT_PROFILES_DIR, or create ~/.dbt/profiles.yml")


def _must_hold_profiles(path: Path, how: str) -> Path:
    if not (path / "profiles.yml").is_file():
        raise ProfileError(f"{how} points at {path}, which has no profiles.yml",
                           hint="point it at the directory that holds profiles.yml")
    return path


def project_profile_name(project_dir: str | Path) -> str:
    """The `profile:` of dbt_project.yml, rendered."""
    path = Path(project_dir) / "dbt_project.yml"
    data = _read_yaml(path)
    name = data.get("profile")
    if not name:
        raise ProfileError(f"{path} has no `profile:` entry",
                           hint="add `profile: <name>` to dbt_project.yml or pass --profile")
    return str(render_value(name, where=f"{path}: profile"))


def load_profile(project_dir: str | Path, *, profiles_dir: str | Path | None = None,
                 profile: str | None = None, target: str | None = None) -> ResolvedProfile:
    """Find, render and map the profile the project uses; every failure is a ProfileError saying where."""
    project_dir = Path(project_dir).resolve()
    pdir = find_profiles_dir(profiles_dir, project_dir)
    path = pdir / "profiles.yml"
    profiles = _read_yaml(path)
    name = profile or project_profile_name(project_dir)
    if name not in profiles or not isinstance(profiles[name], Mapping):
        known = sorted(k for k in profiles if k != "config")
        raise ProfileError(f"profile {name!r} not found in {path} (profiles there: {known})",
                           hint=f"add a {name!r} entry to profiles.yml, or fix `profile:` in dbt_project.yml")
    entry = profiles[name]
    target_name = target or os.environ.get("DBT_TARGET") or entry.get("target") or "default"
    target_name = str(render_value(target_name, where=f"{path}: {name}.target"))
    outputs = entry.get("outputs") or {}
    if target_name not in outputs:
        raise ProfileError(
            f"target {target_name!r} not found in profile {name!r} of {path} (targets: {sorted(outputs)})",
            hint="pass --target with one of those, or fix `target:` in the profile")
    where = f"{path}: profile {name!r}, target {target_name!r}"
    rendered = {k: render_value(v, where=f"{where}, field {k!r}") for k, v in outputs[target_name].items()}
    spec = connection_spec(rendered, base_dir=project_dir, source=where)
    return ResolvedProfile(profiles_dir=pdir, profile=name, target=target_name, spec=spec)


def engine_from_profile(project_dir: str | Path, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for the project's profile (keyword arguments as for `load_profile`)."""
    return create_warehouse_engine(load_profile(project_dir, **kwargs).spec)


# --- rendering ---------------------------------------------------------------------------------------

_MISSING = object()


def _env_var(name: str, default: Any = _MISSING) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is not _MISSING:
        return str(default)
    raise _MissingEnv(name)


class _MissingEnv(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


_NATIVE_FILTERS = ("as_number", "as_bool", "as_native")
_ENV = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
_ENV.globals["env_var"] = _env_var
for _f in (*_NATIVE_FILTERS, "as_text"):
    _ENV.filters[_f] = lambda v: v


def render_value(value: Any, *, where: str) -> Any:
    """Render one profile value like dbt: strings through jinja; `as_number`-style filters give natives."""
    if isinstance(value, Mapping):
        return {k: render_value(v, where=where) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, where=where) for v in value]
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value
    try:
        text = _ENV.from_string(value).render()
    except _MissingEnv as exc:
        raise ProfileError(f"{where}: environment variable {exc.name!r} is required but not set",
                           hint=f"export {exc.name}=..., or give env_var() a default") from None
    except jinja2.TemplateError as exc:
        raise ProfileError(f"{where}: cannot render {value!r}: {exc}",
                           hint="fix the jinja expression (only env_var() is available in profiles)") from None
    if any(f in value for f in _NATIVE_FILTERS):
        native = yaml.safe_load(text) if text.strip() else None
        return native
    return text


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ProfileError(f"{path} does not exist", hint="check the directory you passed") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path} is not valid YAML: {exc}", hint="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path} does not hold a mapping", hint="check the file's contents")
    return data


# --- mapping -----------------------------------------------------------------------------------------

def connection_spec(output: Mapping[str, Any], *, base_dir: Path, source: str) -> ConnectionSpec:
    """Map one rendered profile output to a ConnectionSpec (see the table in the module docstring)."""
    kind = str(output.get("type", "")).lower()
    if not kind:
        raise ProfileError(f"{source}: the output has no `type:`", hint="add e.g. `type: duckdb`")
    mapper = _MAPPERS.get(kind)
    if mapper is None:
        raise ProfileError(f"{source}: warehouse type {kind!r} is not supported",
                           hint=f"supported types: {sorted(_MAPPERS)}")
    return mapper(output, base_dir, source)


def _need(output: Mapping[str, Any], source: str, *names: str) -> Any:
    for n in names:
        if output.get(n) not in (None, ""):
            return output[n]
    raise ProfileError(f"{source}: required field {' or '.join(repr(n) for n in names)} is missing",
                       hint="add it to the target in profiles.yml")


def _secret(output: Mapping[str, Any], *names: str) -> SecretStr | None:
    for n in names:
        if output.get(n) not in (None, ""):
            return SecretStr(str(output[n]))
    return None


def _port(output: Mapping[str, Any], source: str, default: int) -> int:
    raw = output.get("port", default)
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ProfileError(f"{source}: port {raw!r} is not a number",
                           hint="write the port as a number, e.g. `port: 5432`") from None


def _duckdb(o: Mapping[str, Any], base: Path, source: str) -> ConnectionSpec:
    path = str(o.get("path") or ":memory:")
    if path != ":memory:" and not path.startswith(("md:", "motherduck:")) and not Path(path).is_absolute():
        path = str((base / path).resolve())
    return ConnectionSpec(dialect="duckdb", path=path, schema=o.get("schema", "main"), source=source)


def _postgres(o: Mapping[str, Any], base: Path, source: str, *, dialect: str = "postgres",
              port: int = 5432) -> ConnectionSpec:
    query = {k: str(o[k]) for k in ("sslmode", "connect_timeout", "sslrootcert", "sslcert", "sslkey")
             if o.get(k) not in (None, "")}
    return ConnectionSpec(
        dialect=dialect, host=_need(o, source, "host"), port=_port(o, source, port),
        user=_need(o, source, "user"), password=_secret(o, "password", "pass"),
        database=_need(o, source, "dbname", "database"), schema=o.get("schema"), query=query, source=source)


def _redshift(o: Mapping[str, Any], base: Path, source: str) -> ConnectionSpec:
    if str(o.get("method", "database")).lower() == "iam":
        raise ProfileError(f"{source}: Redshift `method: iam` is not supported",
                           hint="use a database user and password target for synthohive")
    return _postgres(o, base, source, dialect="redshift", port=5439)


def _snowflake(o: Mapping[str, Any], base: Path, source: str) -> ConnectionSpec:
    query = {k: str(o[k]) for k in ("warehouse", "role", "authenticator") if o.get(k)}
    return ConnectionSpec(dialect="snowflake", host=_need(o, source, "account"), user=_need(o, source, "user"),
                          password=_secret(o, "password"), database=_need(o, source, "database"),
                          schema=o.get("schema"), query=query, source=source)


def _bigquery(o: Mapping[str, Any], base: Path, source: str) -> ConnectionSpec:
    query = {"credentials_path": str(o["keyfile"])} if o.get("keyfile") else {}
    return ConnectionSpec(dialect="bigquery", database=_need(o, source, "project", "database"),
                          schema=o.get("dataset") or o.get("schema"), query=query, source=source)


def _mysql(o: Mapping[str, Any], base: Path, source: str) -> ConnectionSpec:
    return ConnectionSpec(dialect="mysql", host=_need(o, source, "server", "host"), port=_port(o, source, 3306),
                          user=_need(o, source, "username", "user"), password=_secret(o, "password"),
                          database=o.get("database") or o.get("schema"), schema=o.get("schema"),
                          query={"charset": "utf8mb4"}, source=source)  # any text, not the server's default


def _spark(o: Mapping[str, Any], base: Path, source: str) -> ConnectionSpec:
    """dbt-spark `method: session`: dbt and synthohive share this process's SparkSession (a Derby metastore
    allows one process). thrift / http / odbc reach a server synthohive cannot share a session with."""
    method = str(o.get("method") or "").lower()
    if method != "session":
        raise ProfileError(
            f"{source}: Spark `method: {method or '(none)'}` is not supported; synthohive needs `method: session`",
            hint="add a target with `type: spark`, `method: session`, `host: NA`, `schema: ...`, and run synthohive "
                 "where that session can reach the metastore (spark-submit, or Spark Connect sc://, untested)")
    settings = o.get("server_side_parameters") or {}
    if not isinstance(settings, Mapping):
        raise ProfileError(f"{source}: server_side_parameters must be a mapping of Spark settings",
                           hint="e.g. server_side_parameters: {spark.master: 'local[2]'}")
    # the session's settings (master, metastore, warehouse folder) travel as the spec's query
    return ConnectionSpec(dialect="spark", schema=_need(o, source, "schema"),
                          query={"method": "session", **{str(k): str(v) for k, v in settings.items()}}, source=source)


_MAPPERS = {"duckdb": _duckdb, "postgres": _postgres, "redshift": _redshift, "snowflake": _snowflake,
            "bigquery": _bigquery, "mysql": _mysql, "spark": _spark}
