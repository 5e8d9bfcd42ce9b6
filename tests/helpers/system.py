"""Skips for a missing system part (a server, a browser, a JVM, the shared corpus), and what CI makes of them.

A test that cannot run because something outside the Python environment is missing calls `require_system`
(or uses `missing_reason` as a `skipif` reason, or `need_java` / `need_mariadb` / `require_shared`). Such a
skip names the part and the command that installs it.

* With `SYNTHOHIVE_REQUIRE_SYSTEM=1` (set by `.ci/run`, which installs every part first) such a skip FAILS
  the run: CI must run every test, and a silently skipped test is how a broken install goes unnoticed.
  Ordinary skips (a feature not applicable here, say) stay skips.
* Elsewhere the skip stays a skip, and the end of the run prints the install command for each missing part,
  so a developer sees at a glance how to run the whole suite.

This module is a pytest plugin (tests/conftest.py re-exports its hooks); it imports nothing heavy so
that the inner pytest runs of tests/test_ci_rules.py stay fast.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

REQUIRE_ENV = "SYNTHOHIVE_REQUIRE_SYSTEM"
SHARED_ENV = "SYNTHOHIVE_SHARED_DIR"
REPO = Path(__file__).resolve().parents[2]

# the install command of each part the suite knows (Debian package names, checked with `apt-cache policy`)
INSTALL = {
    "postgresql": "sudo apt-get install -y postgresql",
    "chromium": "sudo apt-get install -y chromium",
    "java": "sudo apt-get install -y openjdk-17-jre-headless",
    "mariadb": "sudo apt-get install -y mariadb-server",
    "shared corpus": f"put the shared/ folder beside the repository (or set {SHARED_ENV}=/path/to/shared)",
}

_TAG = "missing system part"
_REASON = re.compile(rf"{_TAG} '(?P<part>[^']+)'.*?; install: (?P<install>.+?)\s*$", re.S)


def missing_reason(part: str, why: str = "", install: str | None = None) -> str:
    """The skip reason for a missing part; its fixed shape is what the hooks below recognise."""
    command = install or INSTALL.get(part)
    if command is None:
        raise KeyError(f"no install command known for system part {part!r}: pass install=...")
    detail = f" ({why})" if why else ""
    return f"{_TAG} '{part}'{detail}; install: {command}"


def require_system(part: str, why: str = "", install: str | None = None) -> NoReturn:
    """Skip the current test because `part` is missing (a failure under SYNTHOHIVE_REQUIRE_SYSTEM=1)."""
    __tracebackhide__ = True  # the skip is reported at the caller's line, not here
    pytest.skip(missing_reason(part, why, install))


def parse_reason(reason: str) -> tuple[str, str] | None:
    """(part, install command) when `reason` is a missing-part skip, else None."""
    match = _REASON.search(reason)
    return (match["part"], match["install"]) if match else None


def required() -> bool:
    """Whether missing system parts fail the run (CI) rather than skip."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def shared_dir() -> Path:
    """The shared/ folder (corpus, data) beside the repository, or where SYNTHOHIVE_SHARED_DIR says."""
    given = os.environ.get(SHARED_ENV)
    return Path(given).resolve() if given else (REPO / ".." / "shared").resolve()


def require_shared(relative: str) -> Path:
    """A path under shared/; skips as a missing system part when it is not there."""
    __tracebackhide__ = True
    path = shared_dir() / relative
    if not path.exists():
        require_system("shared corpus", f"{path} is not here")
    return path


def java_major(java: str = "java") -> int:
    """The major version of `java` (17 for "17.0.15", 8 for "1.8.0_402"), 0 when there is none."""
    exe = shutil.which(java)
    if exe is None:
        return 0
    try:
        res = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = re.search(r'version "(?:1\.)?(\d+)', res.stderr + res.stdout)
    return int(match[1]) if match else 0


def need_java(minimum: int = 17) -> str:
    """The `java` executable for Spark tests; skips as a missing part when there is none this recent."""
    __tracebackhide__ = True
    found = java_major()
    if found < minimum:
        require_system("java", f"Java {minimum}+ needed, found {found or 'none'}")
    return str(shutil.which("java"))


def mariadbd_path() -> Path | None:
    """The MariaDB server binary (`mariadbd`, or a MySQL-era `mysqld`) on PATH or in /usr/sbin, else None."""
    exe = shutil.which("mariadbd") or next((p for p in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")
                                            if os.access(p, os.X_OK)), None)
    return Path(exe) if exe else None


def need_mariadb() -> Path:
    """The MariaDB server binary (`mariadbd`) for MariaDB tests; skips as a missing part when absent."""
    __tracebackhide__ = True
    exe = mariadbd_path()
    if exe is None:
        require_system("mariadb", "no mariadbd on PATH or in /usr/sbin")
    return exe


@dataclass(frozen=True)
class _Missing:
    part: str
    install: str
    nodeid: str


_MISSING = pytest.StashKey[list[_Missing]]()


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr or "")


def _skip_location(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return f"{longrepr[0]}:{longrepr[1]}: " if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                                           pytest.TestReport]:
    """Under SYNTHOHIVE_REQUIRE_SYSTEM, turn a missing-part skip into a failure (an error in setup)."""
    report = yield
    if not report.skipped or hasattr(report, "wasxfail"):
        return report
    found = parse_reason(_skip_reason(report))
    if found is None:
        return report
    part, install = found
    item.config.stash.setdefault(_MISSING, []).append(_Missing(part, install, item.nodeid))
    if required():
        report.outcome = "failed"
        report.longrepr = (f"{_skip_location(report)}{_skip_reason(report).removeprefix('Skipped: ')}\n"
                           f"({REQUIRE_ENV} is set, so a missing system part fails the run instead of skipping it)")
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> Generator[None, None, None]:
    """At the very end (after the short summary, so it is what a person reads last): one line per missing part
    with the command that installs it and how many tests it cost."""
    yield
    missing = config.stash.get(_MISSING, [])
    if not missing:
        return
    counts: dict[tuple[str, str], int] = {}
    for m in missing:
        counts[(m.part, m.install)] = counts.get((m.part, m.install), 0) + 1
    verb = "failed" if required() else "skipped"
    terminalreporter.section("missing system parts")
    for (part, install), n in counts.items():
        terminalreporter.write_line(f"{part}: {n} test(s) {verb}; install: {install}")
    if not required():
        terminalreporter.write_line(f"(CI sets {REQUIRE_ENV}=1, under which these skips fail the run)")
