"""Every seed of a run comes from the user's one seed, through this module (the lowest layer: numpy only).

Why one module: a run is reproducible only if every part derives its randomness from the same seed in a
fixed way, and two hand-rolled schemes in two layers drift apart unnoticed. There are two derivations,
because there are two kinds of parts:

- `derive_seed(seed, *names)`: for parts named at run time (a table, a chunk, a retry round). A name is
  hashed, so a part's seed does not depend on which other parts exist or on the order they run in.
- `spawn(seed, n)`: for a fixed, ordered list of purposes inside one model's fit or sample (transformer,
  split, weights init, ...). Position i is purpose i: reordering a caller's list changes every output, so
  callers name their positions (see models/tabular.py).

Changing either function changes every sampled row of every saved model: artifacts replay their samples.
"""

from __future__ import annotations

import zlib

import numpy as np

SEED_BITS = 31  # seeds handed to users and to derived parts fit a signed 32-bit int (torch, numpy, SQL)


def derive_seed(seed: int, *parts: str | int) -> int:
    """A stable 31-bit seed for one named part of the work (table, chunk, purpose), independent of call order."""
    words = [seed & 0xFFFFFFFF, *(zlib.crc32(str(p).encode()) for p in parts)]
    return int(np.random.SeedSequence(words).generate_state(1)[0] & ((1 << SEED_BITS) - 1))


def rng_for(seed: int, *parts: str | int) -> np.random.Generator:
    """A numpy generator for one named part: `derive_seed` made usable."""
    return np.random.default_rng(derive_seed(seed, *parts))


def spawn(seed: int, n: int) -> list[int]:
    """n independent 32-bit seeds for a fixed, ordered list of purposes (position i is purpose i)."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


def call_seed(seed: int, call: int) -> int:
    """The seed of the `call`-th seedless sample() after fit/load: a script replays run to run, while
    repeated calls in one run still differ."""
    return int(np.random.SeedSequence([seed, call]).generate_state(1)[0])


def fresh_seed() -> int:
    """A seed from the OS's entropy, for a run the user did not seed (recorded, so it can be replayed)."""
    return int(np.random.SeedSequence().entropy % (1 << SEED_BITS))
