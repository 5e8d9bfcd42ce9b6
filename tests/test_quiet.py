"""The CLI keeps the libraries' warnings off the terminal; our own warnings, and library users, are untouched."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from collections.abc import Iterator

import pytest

from synthohive_dbt.quiet import NOISY_LIBRARIES, is_library_warning, silence_library_warnings

SITE = "/venv/lib/python3.11/site-packages"


class PerformanceWarning(Warning):
    """Stands in for pandas.errors.PerformanceWarning (pandas attributes it to the caller's line)."""


PerformanceWarning.__module__ = "pandas.errors"


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[warnings.WarningMessage]]:
    """Silence inside a private warnings state; returns what reached the display; restores logger levels."""
    monkeypatch.setattr(sys, "warnoptions", [])
    levels = {name: logging.getLogger(name).level for name in NOISY_LIBRARIES}
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        silence_library_warnings()
        silence_library_warnings()  # idempotent: no second wrapper
        yield shown
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _warn(category: type[Warning], module: str, filename: str, text: str = "w") -> None:
    warnings.warn_explicit(text, category, filename, 1, module=module)


def test_library_and_deprecation_warnings_are_not_shown(quiet: list[warnings.WarningMessage]) -> None:
    _warn(FutureWarning, "pandas.core.frame", f"{SITE}/pandas/core/frame.py")
    _warn(UserWarning, "matplotlib.font_manager", f"{SITE}/matplotlib/font_manager.py")
    _warn(RuntimeWarning, "scipy.stats._stats_py", f"{SITE}/scipy/stats/_stats_py.py")
    _warn(UserWarning, "torch.nn.modules.module", f"{SITE}/torch/nn/modules/module.py")
    _warn(DeprecationWarning, "dbt.adapters.base", f"{SITE}/dbt/adapters/base.py")
    # pandas/dbt point their warnings at the caller's line: caught by category or by the class's module
    _warn(FutureWarning, "synthohive_dbt.transform.table", "/repo/synthohive_dbt/transform/table.py")
    _warn(PerformanceWarning, "synthohive_dbt.relational.generate", "/repo/synthohive_dbt/relational/generate.py")
    assert [str(w.message) for w in quiet] == []


def test_our_own_warnings_still_show(quiet: list[warnings.WarningMessage]) -> None:
    _warn(UserWarning, "synthohive_dbt.dbt.runner", "/repo/synthohive_dbt/dbt/runner.py", "ours")
    _warn(RuntimeWarning, "__main__", "/home/me/script.py", "a user's")
    assert [str(w.message) for w in quiet] == ["ours", "a user's"]


def test_library_log_records_below_error_leave_the_console(quiet: list[warnings.WarningMessage]) -> None:
    assert not logging.getLogger("matplotlib.font_manager").isEnabledFor(logging.WARNING)
    assert logging.getLogger("matplotlib.font_manager").isEnabledFor(logging.ERROR)


def test_our_subpackage_named_dbt_is_not_a_library() -> None:
    assert not is_library_warning(UserWarning, "/site-packages/synthohive_dbt/dbt/runner.py")
    assert is_library_warning(UserWarning, "/usr/lib/python3/dist-packages/sklearn/mixture/_base.py")


def test_warning_options_given_to_python_win() -> None:
    code = ("import warnings; from synthohive_dbt.quiet import silence_library_warnings; "
            "silence_library_warnings(); "
            "warnings.warn_explicit('kept', FutureWarning, 'x.py', 1, module='pandas.x')")
    asked = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, timeout=120)
    assert "FutureWarning: kept" in asked.stderr
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0 and plain.stderr == ""


def test_the_resource_trackers_leak_warning_after_a_hard_exit_is_silenced() -> None:
    """dbt leaves multiprocessing locks behind and the CLI exits without teardown: the resource tracker (its own
    process) used to print "leaked semaphore objects" after every dbt run; its -W filter comes from us."""
    lock = "import multiprocessing as mp, os, sys; lock = mp.get_context('spawn').Lock(); sys.stderr.flush(); os._exit(0)"
    plain = subprocess.run([sys.executable, "-c", lock], capture_output=True, text=True, timeout=120)
    assert "leaked semaphore" in plain.stderr  # what the filter is for
    quiet = subprocess.run([sys.executable, "-c", "from synthohive_dbt.quiet import silence_library_warnings; "
                            "silence_library_warnings(); " + lock], capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "leaked semaphore" not in quiet.stderr, quiet.stderr
