"""Saving a model never leaves a half-written file: a write that runs out of space removes its temp file, and
the temp file of a killed write is removed by the next save."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata
from synthohive_dbt.models.artifact import remove_stale_temp_files
from synthohive_dbt.relational.synthesizer import Synthesizer

ROOT = Path(__file__).resolve().parents[2]

SAVER = textwrap.dedent("""
    import resource, signal, sys, numpy as np, pandas as pd
    from synthohive_dbt.config import Metadata
    from synthohive_dbt.errors import ArtifactError
    from synthohive_dbt.relational.synthesizer import Synthesizer
    out, limit = sys.argv[1], int(sys.argv[2])
    meta = Metadata()
    meta.add_table("t", pk="id")
    rng = np.random.default_rng(0)
    data = {"t": pd.DataFrame({"id": range(200), "x": rng.normal(size=200), "c": rng.choice(list("abc"), 200)})}
    synth = Synthesizer(meta, backend="AR")
    synth.fit(data, epochs=1, seed=0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, write() fails with EFBIG as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        synth.save(out)
    except ArtifactError as exc:
        print("refused:", str(exc).splitlines()[0], flush=True)
        sys.exit(3)
""")


def test_a_save_that_runs_out_of_space_leaves_no_temp_file(tmp_path: Path) -> None:
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    out = tmp_path / "model.shm"
    res = subprocess.run([sys.executable, str(script), str(out), "2048"], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert res.returncode == 3, (res.stdout, res.stderr[-2000:])
    assert "cannot write the synthesizer to" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saver.py"]  # no model.shm, no model.shm.*.tmp


def test_the_temp_file_of_a_killed_save_is_removed_by_the_next_one(tmp_path: Path) -> None:
    out = tmp_path / "model.shm"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f"model.shm.{dead.pid}.tmp", tmp_path / "model.shm.tmp"]  # killed; an older release's
    for p in stale:
        p.write_bytes(b"half a model")
    running = tmp_path / f"model.shm.{1}.tmp"  # pid 1 is alive: another save in progress is left alone
    running.write_bytes(b"in progress")
    assert sorted(remove_stale_temp_files(out)) == sorted(stale)
    assert running.exists() and not any(p.exists() for p in stale)
    meta = Metadata()
    meta.add_table("t", pk="id")
    data = {"t": pd.DataFrame({"id": range(60), "x": np.arange(60) * 1.5})}
    synth = Synthesizer(meta, backend="AR")
    synth.fit(data, epochs=1, seed=0)
    stale[0].write_bytes(b"half a model")
    synth.save(out)
    assert out.exists() and not stale[0].exists() and running.exists()
