"""profiles.yml -> connection: lookup order, env_var rendering, targets, redaction and clear failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from synthohive_dbt.dbt.profiles import connection_spec, engine_from_profile, find_profiles_dir, load_profile
from synthohive_dbt.errors import ProfileError
from synthohive_dbt.io.connection import ConnectionSpec, create_warehouse_engine
from synthohive_dbt.io.warehouses import warehouse_for

PROFILES = """
shop:
  target: "{{ env_var('SHOP_TARGET', 'dev') }}"
  outputs:
    dev:
      type: duckdb
      path: data/dev.duckdb
    pg:
      type: postgres
      host: "{{ env_var('PGH', 'db.internal') }}"
      port: "{{ env_var('PGP') | as_number }}"
      user: analyst
      pass: "{{ env_var('DBT_ENV_SECRET_PW') }}"
      database: analytics
      schema: public
      sslmode: require
    rs:
      type: redshift
      host: rs.example
      user: u
      password: "p@ss:w/rd"
      dbname: wh
    sf:
      type: snowflake
      account: ab12345.eu-central-1
      user: u
      password: secret-sf
      database: RAW
      schema: PUBLIC
      warehouse: WH
    weird:
      type: oracle
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "dbt_project.yml").write_text("name: shop\nprofile: \"{{ env_var('PROFILE', 'shop') }}\"\n")
    (proj / "profiles.yml").write_text(PROFILES)
    for var in ("DBT_PROFILES_DIR", "DBT_TARGET", "SHOP_TARGET", "PGP", "DBT_ENV_SECRET_PW", "PGH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return proj


def test_default_target_is_duckdb_relative_to_the_project(project: Path) -> None:
    resolved = load_profile(project)
    assert (resolved.profile, resolved.target) == ("shop", "dev")
    assert resolved.spec.path == str(project / "data" / "dev.duckdb")
    engine = engine_from_profile(project)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select 42").scalar() == 42
    assert (project / "data" / "dev.duckdb").exists()


def test_env_vars_render_with_defaults_and_numbers(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGP", "6543")
    monkeypatch.setenv("DBT_ENV_SECRET_PW", "s3cr3t:/@%")
    spec = load_profile(project, target="pg").spec
    assert (spec.host, spec.port, spec.user, spec.database) == ("db.internal", 6543, "analyst", "analytics")
    assert spec.url().password == "s3cr3t:/@%"
    assert spec.query == {"sslmode": "require"}
    # the password never shows: not in redacted(), str(), repr()
    for shown in (spec.redacted(), str(spec), repr(spec), str(load_profile(project, target="pg"))):
        assert "s3cr3t" not in shown
    assert spec.redacted() == "postgresql+psycopg2://analyst:***@db.internal:6543/analytics?sslmode=require"


def test_target_from_env_and_profile_dir_from_env(project: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "profiles.yml").write_text(PROFILES.replace("dev.duckdb", "other.duckdb"))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(other))
    monkeypatch.setenv("SHOP_TARGET", "rs")
    resolved = load_profile(project)
    assert resolved.profiles_dir == other and resolved.target == "rs"
    assert resolved.spec.url().render_as_string(hide_password=False) == (
        "postgresql+psycopg2://u:p%40ss%3Aw%2Frd@rs.example:5439/wh")
    monkeypatch.setenv("DBT_TARGET", "dev")
    assert load_profile(project).spec.path.endswith("other.duckdb")
    assert find_profiles_dir(project, project) == project  # --profiles-dir wins over the environment


def test_missing_env_var_names_the_variable_and_the_field(project: Path) -> None:
    with pytest.raises(ProfileError) as err:
        load_profile(project, target="pg")
    msg = str(err.value)
    assert "profile 'shop', target 'pg', field 'port': environment variable 'PGP' is required but not set" in msg
    assert "export PGP=" in msg


def test_missing_profile_and_target_list_what_exists(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROFILE", "nope")
    with pytest.raises(ProfileError, match=r"profile 'nope' not found in .*profiles.yml \(profiles there: \['shop'\]\)"):
        load_profile(project)
    with pytest.raises(ProfileError, match=r"target 'prod' not found in profile 'shop' .*targets: \['dev', 'pg', "
                                           r"'rs', 'sf', 'weird'\]"):
        load_profile(project, profile="shop", target="prod")


def test_no_profiles_file_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProfileError, match="(?s)no profiles.yml found .*fix: pass --profiles-dir, set DBT_PROFILES_DIR"):
        find_profiles_dir(None, tmp_path)
    with pytest.raises(ProfileError, match="DBT_PROFILES_DIR points at .*which has no profiles.yml"):
        monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path))
        find_profiles_dir()


def test_other_warehouses_map_or_fail_clearly(project: Path) -> None:
    sf = load_profile(project, target="sf").spec
    assert sf.redacted() == "snowflake://u:***@ab12345.eu-central-1/RAW/PUBLIC?warehouse=WH"
    with pytest.raises(ProfileError, match="(?s)needs the Python package 'snowflake-sqlalchemy'.*pip install "
                                           "snowflake-sqlalchemy"):
        create_warehouse_engine(sf)
    with pytest.raises(ProfileError, match="warehouse type 'oracle' is not supported"):
        load_profile(project, target="weird")
    with pytest.raises(ProfileError, match="required field 'host' is missing"):
        connection_spec({"type": "postgres", "user": "u", "dbname": "d"}, base_dir=project, source="t")
    with pytest.raises(ProfileError, match="Redshift `method: iam` is not supported"):
        connection_spec({"type": "redshift", "method": "iam", "host": "h"}, base_dir=project, source="t")


@pytest.mark.postgres
def test_postgres_profile_connects(postgres_server, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGH", postgres_server.host)
    monkeypatch.setenv("PGP", str(postgres_server.port))
    monkeypatch.setenv("DBT_ENV_SECRET_PW", postgres_server.password)
    (project / "profiles.yml").write_text(PROFILES.replace("analyst", postgres_server.user)
                                          .replace("analytics", postgres_server.dbname)
                                          .replace("sslmode: require", "sslmode: disable"))
    engine = engine_from_profile(project, target="pg")
    with engine.connect() as conn:
        assert conn.execute(sa.text("select current_user")).scalar() == postgres_server.user


@pytest.mark.mariadb
def test_mysql_profile_connects_to_mariadb(mariadb_server, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dbt-mysql's profile fields (server, username, schema) reach the session MariaDB, whose warehouse is
    the MariaDB implementation; text travels as utf8mb4."""
    engine = sa.create_engine(mariadb_server.reset())
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA shop")
    engine.dispose()
    monkeypatch.setenv("MYSQL_PW", mariadb_server.password)
    (project / "profiles.yml").write_text(f"""
shop:
  target: my
  outputs:
    my:
      type: mysql
      server: {mariadb_server.host}
      port: {mariadb_server.port}
      username: {mariadb_server.user}
      password: "{{{{ env_var('MYSQL_PW') }}}}"
      schema: shop
""")
    engine = engine_from_profile(project, target="my")
    try:
        assert type(warehouse_for(engine)).__name__ == "MariaDBWarehouse"
        assert mariadb_server.password not in str(connection_spec(
            {"type": "mysql", "server": "h", "username": "u", "password": mariadb_server.password, "schema": "s"},
            base_dir=project, source="t"))
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT DATABASE(), @@character_set_client").one() == ("shop", "utf8mb4")
    finally:
        engine.dispose()


def test_memory_duckdb_spec() -> None:
    spec = ConnectionSpec(dialect="duckdb")
    assert spec.redacted() == "duckdb:///:memory:"


def test_spark_session_profile_is_read_and_other_methods_are_refused(tmp_path: Path) -> None:
    """dbt-spark `method: session`: read like any other profile; it has no URL (its engine runs on this process's
    SparkSession, tests/spark), the session's settings come from server_side_parameters, and thrift/http/odbc
    targets are refused with the fix."""
    spec = connection_spec({"type": "spark", "method": "session", "host": "NA", "schema": "dbt_build",
                            "server_side_parameters": {"spark.master": "local[2]"}}, base_dir=tmp_path, source="p")
    assert (spec.dialect, spec.schema) == ("spark", "dbt_build")
    assert spec.query == {"method": "session", "spark.master": "local[2]"}
    assert "SparkSession" in spec.redacted()
    with pytest.raises(ProfileError, match="not a URL"):
        spec.url()
    with pytest.raises(ProfileError, match="server_side_parameters must be a mapping"):
        connection_spec({"type": "spark", "method": "session", "schema": "s", "server_side_parameters": "x"},
                        base_dir=tmp_path, source="p")
    with pytest.raises(ProfileError, match=r"method: thrift` is not supported.*\n.*method: session"):
        connection_spec({"type": "spark", "method": "thrift", "host": "h", "schema": "s"}, base_dir=tmp_path,
                        source="p")
    example = Path(__file__).resolve().parents[2] / "dbt_project_example"
    assert load_profile(example, profiles_dir=example, target="spark").spec.dialect == "spark"
