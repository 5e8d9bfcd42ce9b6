"""sample(output_path_base=...) streams: memory follows the chunk size, not the table size.

tracemalloc sees numpy/pandas buffers (not torch's allocator, which only ever holds one chunk). Keeping a
table in memory must peak above its size (the measurement sees frames); streaming 4x more rows must peak
about as high as streaming 1x: only the compact key array (8 bytes a row) grows. The quality evaluation that
follows a sample reads a capped subsample; it is switched off here so only sampling is measured."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from synthohive_dbt.config import Metadata
from tests.helpers.tiny_shop import fit

SMALL, LARGE, CHUNK, COLS = 40_000, 160_000, 5_000, 8


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streamed_tables_are_released_chunk_by_chunk(tmp_path) -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({f"c{i}": rng.integers(0, 8, 400) for i in range(COLS)})
    real.insert(0, "id", np.arange(400))
    meta = Metadata()
    meta.add_table("wide", pk="id")
    synth = fit(meta, {"wide": real})

    def stream(rows: int) -> int:
        return _peak(lambda: synth.sample(num_rows={"wide": rows}, chunk_rows=CHUNK, evaluate=False,
                                          output_path_base=tmp_path / str(rows)))

    small, large = stream(SMALL), stream(LARGE)
    in_memory = _peak(lambda: synth.sample(num_rows={"wide": SMALL}, chunk_rows=CHUNK, evaluate=False))

    assert pq.ParquetFile(tmp_path / str(LARGE) / "wide.parquet").metadata.num_rows == LARGE
    assert in_memory > SMALL * (COLS + 1) * 8  # whole frames are visible to the measurement
    large_table = LARGE * (COLS + 1) * 8  # 11.5 MB
    key_growth = (LARGE - SMALL) * 8
    assert large - small < key_growth + 1_000_000, f"peak grew {(large - small) / 1e6:.1f} MB"
    assert large < 0.6 * large_table, f"streamed peak {large / 1e6:.1f} MB, table {large_table / 1e6:.1f} MB"
    print(f"peaks: stream {SMALL}: {small / 1e6:.1f} MB, stream {LARGE}: {large / 1e6:.1f} MB, "
          f"memory {SMALL}: {in_memory / 1e6:.1f} MB")
