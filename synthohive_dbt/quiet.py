"""Keep the libraries' warnings off the terminal of a person running the `synthohive` command.

pandas, scipy, matplotlib, scikit-learn, torch and dbt warn about their own deprecations and internals
(FutureWarning on a pandas idiom, a ConvergenceWarning from a mixture fit, a font cache note): the person
running the CLI can do nothing about them, and they bury the progress lines and the outcome table. Only the
CLI calls `silence_library_warnings` (from `cli.main`): code importing synthohive_dbt as a library keeps its
own warning settings, and a person who asks for warnings (`python -W ...`, PYTHONWARNINGS) still gets them.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Callable
from typing import TextIO

ShowWarning = Callable[[Warning | str, type[Warning], str, int, TextIO | None, str | None], None]

# top-level packages whose warnings (and logging below ERROR) are noise to a CLI user
NOISY_LIBRARIES: tuple[str, ...] = (
    "pandas", "numpy", "scipy", "matplotlib", "sklearn", "torch", "opacus", "dbt", "dbt_common", "agate",
    "mashumaro", "sqlalchemy", "duckdb_engine", "pyarrow", "pyspark", "py4j", "faker", "sqlglot",
)
# deprecations speak to developers of the calling code, never to the person at the terminal; pandas and dbt
# attribute theirs to the caller's line (stacklevel), so a filter by module alone would miss them
DEVELOPER_CATEGORIES: tuple[type[Warning], ...] = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)

_MODULE = re.compile(rf"^({'|'.join(map(re.escape, NOISY_LIBRARIES))})(\.|$)")
# installed libraries only: synthohive_dbt/dbt/ must not pass for dbt
_PATH = re.compile(rf"[/\\](site|dist)-packages[/\\]({'|'.join(map(re.escape, NOISY_LIBRARIES))})[/\\]")
log = logging.getLogger("synthohive_dbt.warnings")


def is_library_warning(category: type[Warning], filename: str) -> bool:
    """A warning is the libraries' when its class or the file that issued it belongs to one of them (pandas'
    PerformanceWarning or sklearn's ConvergenceWarning raised from our line still count)."""
    return bool(_MODULE.match(getattr(category, "__module__", "") or "")) or bool(_PATH.search(filename))


TRACKER_FILTER = "ignore:resource_tracker:UserWarning"


def silence_library_warnings() -> None:
    """Drop library and deprecation warnings, and library log records below ERROR, from the console.

    Dropped warnings still reach the `synthohive_dbt.warnings` logger at DEBUG, so a debug log can show them.
    Idempotent. Does nothing when the interpreter was given warning options (`-W`, PYTHONWARNINGS)."""
    if [o for o in sys.warnoptions if o != TRACKER_FILTER]:
        return
    for category in DEVELOPER_CATEGORIES:
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", module=_MODULE.pattern)
    if not getattr(warnings.showwarning, "_synthohive_quiet", False):
        warnings.showwarning = _quiet_showwarning(warnings.showwarning)
    for name in NOISY_LIBRARIES:
        logger = logging.getLogger(name)
        if logger.level < logging.ERROR:
            logger.setLevel(logging.ERROR)
    # dbt creates multiprocessing locks it never releases and the CLI ends without interpreter teardown
    # (cli._exit), so multiprocessing's resource tracker frees them and printed "There appear to be 2 leaked
    # semaphore objects" after every run that ran dbt. The tracker is a process multiprocessing starts later with
    # this interpreter's -W options (sys.warnoptions), so the filter goes there: no other process sees it
    if TRACKER_FILTER not in sys.warnoptions:
        sys.warnoptions.append(TRACKER_FILTER)


def _quiet_showwarning(shown: ShowWarning) -> ShowWarning:
    """Wrap `warnings.showwarning`: library warnings that passed the filters (raised from our own lines, so not
    matched by module) go to the debug log; every other warning is shown as before."""

    def showwarning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    file: TextIO | None = None, line: str | None = None) -> None:
        if is_library_warning(category, filename):
            log.debug("%s:%s: %s: %s", filename, lineno, category.__name__, message)
            return
        shown(message, category, filename, lineno, file, line)

    showwarning._synthohive_quiet = True  # type: ignore[attr-defined]
    return showwarning


__all__ = ["DEVELOPER_CATEGORIES", "NOISY_LIBRARIES", "is_library_warning", "silence_library_warnings"]
