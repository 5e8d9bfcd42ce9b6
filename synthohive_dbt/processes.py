"""Whether a process still runs: temp files, staging folders and dbt workspaces carry their writer's pid, so a
later run can tell leftovers of a killed run from the work of one still running."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True if a process with this pid runs on this host (or we may not signal it, which means it exists)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
