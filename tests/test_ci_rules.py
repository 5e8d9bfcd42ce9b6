"""CI's rule for skips, checked on a real inner pytest run: under SYNTHOHIVE_REQUIRE_SYSTEM=1 a test skipped
for a missing system part fails the run; an ordinary skip never does; elsewhere the run passes and its end
names the install command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.system import REQUIRE_ENV, java_major, missing_reason, need_java, parse_reason, shared_dir

REPO = Path(__file__).resolve().parents[1]

INNER = '''
import pytest
from tests.helpers.system import missing_reason, require_system

def test_ordinary_skip():
    pytest.skip("not applicable on this platform")

def test_missing_part_in_body():
    require_system("postgresql", "no initdb here")

@pytest.mark.skipif(True, reason=missing_reason("chromium", "renders the report"))
def test_missing_part_as_mark():
    pass

@pytest.fixture(scope="module")
def server():
    require_system("mariadb", install="apt-get install -y mariadb-server")

def test_missing_part_in_fixture(server):
    pass

def test_passes():
    pass
'''


def _inner_run(tmp_path: Path, require: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {k: v for k, v in os.environ.items() if k not in (REQUIRE_ENV, "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    if require is not None:
        env[REQUIRE_ENV] = require
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.helpers.system", "-p", "no:cacheprovider", "-rA",
         "--rootdir", str(tmp_path), "-c", str(tmp_path / "none.ini"), str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_missing_part_fails_only_under_the_variable(tmp_path: Path) -> None:
    (tmp_path / "none.ini").write_text("[pytest]\n")
    res = _inner_run(tmp_path, "1")
    out = res.stdout
    assert res.returncode == 1, out
    assert "1 passed, 1 skipped" in out and "1 failed" in out and "2 errors" in out, out
    assert "SKIPPED [1] test_inner.py:6: not applicable on this platform" in out
    assert "FAILED test_inner.py::test_missing_part_in_body" in out
    assert "ERROR test_inner.py::test_missing_part_as_mark" in out
    assert "ERROR test_inner.py::test_missing_part_in_fixture" in out
    assert f"{REQUIRE_ENV} is set" in out
    assert "postgresql: 1 test(s) failed; install: sudo apt-get install -y postgresql" in out
    assert "test_inner.py:9: missing system part 'postgresql'" in out  # the caller's line, not the helper's


@pytest.mark.parametrize("require", [None, "0"])
def test_without_the_variable_skips_stay_skips_and_the_end_names_the_commands(tmp_path: Path,
                                                                              require: str | None) -> None:
    (tmp_path / "none.ini").write_text("[pytest]\n")
    res = _inner_run(tmp_path, require)
    out = res.stdout
    assert res.returncode == 0, out
    assert "1 passed, 4 skipped" in out, out
    summary = out[out.index("short test summary"):]
    summary = summary[summary.index("missing system parts"):]
    assert "postgresql: 1 test(s) skipped; install: sudo apt-get install -y postgresql" in summary
    assert "chromium: 1 test(s) skipped; install: sudo apt-get install -y chromium" in summary
    assert "mariadb: 1 test(s) skipped; install: apt-get install -y mariadb-server" in summary
    assert "not applicable" not in summary


def test_reason_round_trips() -> None:
    assert parse_reason("Skipped: " + missing_reason("java", "Spark needs a JVM")) == (
        "java", "sudo apt-get install -y openjdk-17-jre-headless")
    assert parse_reason("Skipped: corpus not present") is None
    with pytest.raises(KeyError, match="no install command known"):
        missing_reason("oracle")


def test_shared_dir_is_beside_the_repository_unless_overridden(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    monkeypatch.delenv("SYNTHOHIVE_SHARED_DIR", raising=False)
    assert shared_dir() == (REPO / ".." / "shared").resolve()
    monkeypatch.setenv("SYNTHOHIVE_SHARED_DIR", str(tmp_path))
    assert shared_dir() == tmp_path.resolve()


def test_java_version_is_read_from_the_jvm_and_too_old_skips_as_missing(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "java"
    fake.write_text('#!/bin/sh\necho \'openjdk version "1.8.0_402"\' >&2\n')
    fake.chmod(0o755)
    assert java_major(str(fake)) == 8
    assert java_major(str(tmp_path / "nojava")) == 0
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="missing system part 'java' \\(Java 17\\+ needed, found 8\\)"):
        need_java(17)


def test_a_missing_mariadbd_skips_as_a_missing_system_part(monkeypatch: pytest.MonkeyPatch) -> None:
    """So the MariaDB tests fail under SYNTHOHIVE_REQUIRE_SYSTEM=1 when the server is not installed."""
    from tests.helpers import system

    monkeypatch.setattr(system, "mariadbd_path", lambda: None)
    with pytest.raises(pytest.skip.Exception) as skip:
        system.need_mariadb()
    assert parse_reason(str(skip.value)) == ("mariadb", "sudo apt-get install -y mariadb-server")
