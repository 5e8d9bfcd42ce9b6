"""The table transformer: a DataFrame in, a dense float matrix out (and back), described by a SpanLayout.

Each column is first reduced to base values by its ValueCodec (values.py), then encoded either by a
ModeNormalizer (continuous.py) or a CategoryEncoder (discrete.py). Numeric columns with few distinct
values (ratings, small counts, flags stored as ints) are treated as discrete: a one-hot reproduces them
exactly, where a mixture would smear them. The whole fitted state is plain JSON (`state_dict`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.errors import DataError
from synthohive_dbt.seeds import spawn
from synthohive_dbt.transform.continuous import ModeNormalizer
from synthohive_dbt.transform.derived import DerivedColumn, codes_of, determines
from synthohive_dbt.transform.discrete import CategoryEncoder
from synthohive_dbt.transform.quantile import QuantileBinner
from synthohive_dbt.transform.spans import Span, SpanLayout
from synthohive_dbt.transform.specials import SpecialValues, find_specials, special_index
from synthohive_dbt.transform.values import ValueCodec, detect, from_base, json_value, to_base

STATE_VERSION = 1
_ENCODERS: dict[str, Any] = {"continuous": ModeNormalizer, "quantile": QuantileBinner,
                             "discrete": CategoryEncoder, "derived": DerivedColumn, "specials": SpecialValues}
_KIND = {cls: kind for kind, cls in _ENCODERS.items()}


@dataclass(frozen=True)
class TransformerSettings:
    """Knobs of the encoding; each default says why it is what it is."""

    max_modes: int = 10  # the CTGAN paper's bound; tiny modes are dropped anyway
    mode_weight_threshold: float = 0.005  # a mode holding < 0.5% of the mass is noise, not structure
    fit_sample_size: int = 10_000  # mixtures fitted on <= 10k rows: seconds on 1M rows, same modes
    max_discrete_numeric: int = 20  # a number with <= 20 distinct values is a category in disguise
    max_categories: int = 100  # beyond this a one-hot costs more than it teaches (see discrete.py)
    min_category_count: int = 2  # in high-cardinality columns, a value seen once keeps no slot
    max_tail_values: int = 1000  # the resampled tail kept in the state
    numeric_encoding: str = "quantile"  # "quantile": bins of the CDF (quantile.py); "mode": the paper's
    # mixture. Quantile won on adult.csv: column shapes 0.867 -> 0.950 (SDMetrics), fit in ms not seconds
    quantile_bins: int = 20  # equal-probability bins per numeric column ("quantile" encoding)
    quantile_knots: int = 1000  # points of the stored quantile function: 0.1% rank resolution
    quantile_position: str = "uniform"  # "uniform": drawn inside the bin (exact within-bin shape, and the
    # extremes appear); "model": the generator's tanh offset
    quantile_conditional: bool = True  # numeric bins join training-by-sampling's condition vector: with it a
    # CTGAN learned a planted context -> amount dependence in 300 steps (means 13/20/27 for 10/20/30),
    # without it none (21/21/21); on adult.csv the difference was within noise
    derive_dependencies: bool = True  # a column that is a function of a discrete column is looked up,
    # not learned (derived.py): the mapping then holds in every row, and the model has less to learn
    min_rows_per_key: int = 10  # a dependency counts only with >= 10 rows per source value (no fluke)


Encoder = ModeNormalizer | QuantileBinner | CategoryEncoder | DerivedColumn | SpecialValues


class DataTransformer:
    """fit / transform / inverse_transform for one table, with a JSON-serialisable state."""

    def __init__(self, settings: TransformerSettings | None = None) -> None:
        self.settings = settings or TransformerSettings()
        self.columns: list[str] = []
        self.codecs: dict[str, ValueCodec] = {}
        self.encoders: dict[str, Encoder] = {}
        self._layout: SpanLayout | None = None

    # ---- fitting -------------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, *, seed: int = 0, discrete_columns: Iterable[str] = (),
            table: str = "table") -> DataTransformer:
        """Learn the encoding of every column of `data`. `discrete_columns` forces a one-hot encoding."""
        validate_frame(data, table)
        forced = set(discrete_columns)
        s = self.settings
        seeds = spawn(seed, max(1, data.shape[1]))  # one per column
        self.columns = [str(c) for c in data.columns]
        self.codecs, self.encoders = {}, {}
        for i, col in enumerate(data.columns):
            series = data[col]
            codec = detect(series)
            values, mask = to_base(series, codec)
            self.codecs[str(col)] = codec
            numeric = codec.logical in ("int", "float", "date", "datetime")
            specials = find_specials(values, mask, sentinels=False) if numeric else []
            regular = special_index(values, mask, specials) < 0
            n_unique = int(pd.unique(values[regular & ~mask]).size)
            continuous = numeric and str(col) not in forced and n_unique > s.max_discrete_numeric
            if continuous:
                specials = find_specials(values, mask, sentinels=True)
                regular = special_index(values, mask, specials) < 0
            inner = self._fit_inner(values[regular], mask[regular], continuous, int(seeds[i]))
            if specials:
                rates = [float(np.mean(special_index(values, mask, [v]) == 0)) for v in specials]
                self.encoders[str(col)] = SpecialValues.fit(inner, specials, rates)
            else:
                self.encoders[str(col)] = inner
        if s.derive_dependencies:
            self._find_dependencies(data)
        self._layout = None
        return self

    def _fit_inner(self, values: np.ndarray, mask: np.ndarray, continuous: bool,
                   seed: int) -> ModeNormalizer | QuantileBinner | CategoryEncoder:
        """The encoder of a column's ordinary values (special values, if any, are set apart by the caller)."""
        s = self.settings
        if continuous and s.numeric_encoding == "quantile":
            return QuantileBinner.fit(values, mask, n_bins=s.quantile_bins, n_knots=s.quantile_knots)
        if continuous:
            return ModeNormalizer.fit(values, mask, seed=seed, max_modes=s.max_modes,
                                      weight_threshold=s.mode_weight_threshold, sample_size=s.fit_sample_size)
        return CategoryEncoder.fit(values, mask, max_categories=s.max_categories, min_count=s.min_category_count,
                                   max_tail_values=s.max_tail_values)

    def _find_dependencies(self, data: pd.DataFrame) -> None:
        """Replace the encoder of each column that one fully one-hot encoded column determines by a
        lookup (derived.py). Of two columns that determine each other, the later one is derived."""
        n = len(data)
        codes = {c: codes_of(*to_base(data[c], self.codecs[c])) for c in self.columns}
        sources = [c for c in self.columns
                   if isinstance(self.encoders[c], CategoryEncoder) and not self.encoders[c].has_other
                   and codes[c][1] >= 2 and n >= self.settings.min_rows_per_key * codes[c][1]]
        used: set[str] = set()
        for j, col in enumerate(self.columns):
            if col in used or isinstance(self.encoders[col], SpecialValues):
                continue
            for src in sources:
                if src == col or isinstance(self.encoders[src], DerivedColumn):
                    continue
                if not determines(codes[src], codes[col]):
                    continue
                if self.columns.index(src) > j and determines(codes[col], codes[src]):
                    continue  # one-to-one: keep the earlier column, derive the later one
                values, mask = to_base(data[col], self.codecs[col])
                src_values, src_mask = to_base(data[src], self.codecs[src])
                first = pd.DataFrame({"k": codes[src][0]}).drop_duplicates().index.to_numpy()
                self.encoders[col] = DerivedColumn(
                    src, [None if src_mask[i] else json_value(src_values[i]) for i in first],
                    [None if mask[i] else json_value(values[i]) for i in first])
                used.add(src)
                break

    @property
    def fitted(self) -> bool:
        return bool(self.encoders)

    @property
    def layout(self) -> SpanLayout:
        if self._layout is None:
            spans: list[Span] = []
            for col in self.columns:
                enc = self.encoders[col]
                if isinstance(enc, DerivedColumn):
                    continue
                if isinstance(enc, SpecialValues):
                    spans.extend(self._special_spans(col, enc))
                elif isinstance(enc, ModeNormalizer):
                    spans.append(Span(col, 1, "tanh"))
                    spans.append(Span(col, enc.width - 1, "softmax"))
                elif isinstance(enc, QuantileBinner):
                    spans.append(Span(col, 1, "tanh"))
                    spans.append(Span(col, enc.width - 1, "softmax",
                                      conditional=self.settings.quantile_conditional))
                else:
                    spans.append(Span(col, enc.width, "softmax", conditional=enc.width > 1))
            self._layout = SpanLayout(tuple(spans))
        return self._layout

    def _special_spans(self, col: str, enc: SpecialValues) -> list[Span]:
        """The inner encoder's spans, its softmax widened by the special slots."""
        if not enc.numeric:
            return [Span(col, enc.width, "softmax", conditional=enc.width > 1)]
        conditional = isinstance(enc.inner, QuantileBinner) and self.settings.quantile_conditional
        return [Span(col, 1, "tanh"), Span(col, enc.width - 1, "softmax", conditional=conditional)]

    def discrete_frequencies(self) -> list[np.ndarray]:
        """Observed slot frequencies of each conditional span, in layout order (for training-by-sampling)."""
        out = []
        for span in self.layout.conditional:
            enc = self.encoders[span.column]
            assert isinstance(enc, (CategoryEncoder, QuantileBinner, SpecialValues))
            out.append(np.asarray(enc.frequencies, dtype=np.float64))
        return out

    # ---- encoding ------------------------------------------------------------------------------------
    def transform(self, data: pd.DataFrame, *, seed: int = 0, dtype: Any = np.float32,
                  table: str = "table", unknown: str = "error") -> np.ndarray:
        """Encode `data` (same columns as at fit). float32 for models; float64 for an exact round trip
        of wide-range numbers such as timestamps. `unknown="ignore"` encodes a category never seen at fit
        as all zeros (used for generated parent context) instead of raising."""
        self._require_fitted()
        missing = [c for c in self.columns if c not in data.columns]
        if missing:
            raise DataError(f"table {table!r}: columns {missing} are missing from the data to encode",
                            hint="pass the same columns the transformer was fitted on")
        layout = self.layout
        out = np.zeros((len(data), layout.width), dtype=np.float64)
        rng = np.random.default_rng(seed)
        offsets = {s.column: s.offset for s in reversed(layout.spans)}  # first span of each column
        for col in self.columns:
            enc = self.encoders[col]
            if isinstance(enc, DerivedColumn):
                continue
            values, mask = to_base(data[col], self.codecs[col])
            start = offsets[col]
            block = out[:, start:start + enc.width]
            if isinstance(enc, SpecialValues):
                try:
                    enc.transform(values, mask, rng, block, ignore_unknown=unknown == "ignore")
                except ValueError as exc:
                    raise DataError(f"table {table!r}, column {col!r}: {exc}",
                                    hint="encode only data with the categories seen at fit, "
                                         "or refit the transformer") from exc
            elif isinstance(enc, (ModeNormalizer, QuantileBinner)):
                enc.transform(values, mask, rng, block)
            else:
                try:
                    enc.transform(values, mask, block, ignore_unknown=unknown == "ignore")
                except ValueError as exc:
                    raise DataError(f"table {table!r}, column {col!r}: {exc}",
                                    hint="encode only data with the categories seen at fit, "
                                         "or refit the transformer") from exc
        return out.astype(dtype, copy=False)

    def inverse_transform(self, encoded: np.ndarray, *, seed: int = 0) -> pd.DataFrame:
        """Decode a matrix (e.g. generator output) into a DataFrame with the original columns and dtypes.
        `seed` drives the draws from the tail of high-cardinality columns."""
        self._require_fitted()
        rng = np.random.default_rng(seed)
        index = pd.RangeIndex(len(encoded))
        offsets = {s.column: s.offset for s in reversed(self.layout.spans)}
        base: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for col in self.columns:
            enc = self.encoders[col]
            if isinstance(enc, DerivedColumn):
                continue
            block = encoded[:, offsets[col]:offsets[col] + enc.width]
            if isinstance(enc, SpecialValues):
                base[col] = self._inverse_special(col, enc, block, rng)
            elif isinstance(enc, ModeNormalizer):
                base[col] = enc.inverse(block)
            elif isinstance(enc, QuantileBinner):
                base[col] = enc.inverse(block, rng if self.settings.quantile_position == "uniform" else None)
            else:
                base[col] = self._typed(col, *enc.inverse(block, rng))
        return self._assemble(base, index)

    def inverse_tokens(self, tokens: np.ndarray, *, seed: int = 0) -> pd.DataFrame:
        """Decode one token per learned column (its slot in the column's one-hot span, columns in layout
        order) for models that emit slots rather than encoded rows. A number lands uniformly inside its
        bin, as inverse_transform does with quantile_position="uniform"; same seed, same draws."""
        self._require_fitted()
        rng = np.random.default_rng(seed)
        n = len(tokens)
        base: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        learned = [c for c in self.columns if not isinstance(self.encoders[c], DerivedColumn)]
        if tokens.ndim != 2 or tokens.shape[1] != len(learned):
            raise DataError(f"{tokens.shape} tokens for {len(learned)} learned columns",
                            hint="pass one token per row and learned column")
        for i, col in enumerate(learned):
            enc = self.encoders[col]
            slot = tokens[:, i]
            if isinstance(enc, SpecialValues):
                base[col] = self._decode_special(col, enc, slot, rng)
            elif isinstance(enc, QuantileBinner):
                base[col] = enc.decode(slot, rng.random(n))
            elif isinstance(enc, CategoryEncoder):
                base[col] = self._typed(col, *enc.decode(slot, rng))
            else:
                raise DataError(f"column {col!r} is encoded by a Gaussian mixture, which has no token form",
                                hint="fit the transformer with numeric_encoding='quantile'")
        return self._assemble(base, pd.RangeIndex(n))

    def _inverse_special(self, col: str, enc: SpecialValues, block: np.ndarray,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Inner decoding of the inner slots (arg-max over them alone), then the exact special values."""
        sp = enc.specials_of(enc.slots_of(block))
        inner, n = enc.inner, len(block)
        if enc.inner_slots == 0:
            values, mask = np.zeros(n), np.zeros(n, dtype=bool)
        elif isinstance(inner, ModeNormalizer):
            values, mask = inner.inverse(block[:, :inner.width])
        elif isinstance(inner, QuantileBinner):
            uniform = self.settings.quantile_position == "uniform"
            values, mask = inner.inverse(block[:, :inner.width], rng if uniform else None)
        else:
            values, mask = self._typed(col, *inner.inverse(block[:, :inner.width], rng))
        return enc.overlay(values, mask, sp)

    def _decode_special(self, col: str, enc: SpecialValues, slot: np.ndarray,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """inverse_tokens for a column with special values: same draws as its inner encoder would make."""
        sp, inner, n = enc.specials_of(slot), enc.inner, len(slot)
        if enc.inner_slots == 0:
            values, mask = np.zeros(n), np.zeros(n, dtype=bool)
        elif isinstance(inner, QuantileBinner):
            values, mask = inner.decode(enc.inner_slot(slot), rng.random(n))
        elif isinstance(inner, CategoryEncoder):
            values, mask = self._typed(col, *inner.decode(enc.inner_slot(slot), rng))
        else:
            raise DataError(f"column {col!r} is encoded by a Gaussian mixture, which has no token form",
                            hint="fit the transformer with numeric_encoding='quantile'")
        return enc.overlay(values, mask, sp)

    def _assemble(self, base: dict[str, tuple[np.ndarray, np.ndarray]], index: pd.RangeIndex) -> pd.DataFrame:
        """Derived columns from their sources, then every column back to its dtype."""
        for col in self.columns:
            enc = self.encoders[col]
            if isinstance(enc, DerivedColumn):
                base[col] = self._typed(col, *enc.inverse(*base[enc.source]))
        cols = {col: from_base(*base[col], self.codecs[col], col, index) for col in self.columns}
        return pd.DataFrame(cols, index=index)

    def _typed(self, col: str, values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Object arrays of category values back to the numeric base type of number-like columns."""
        codec = self.codecs[col]
        if codec.logical in ("int", "date", "datetime"):
            values = np.where(mask, 0, values).astype(np.int64)
        elif codec.logical == "float":
            values = np.where(mask, 0.0, values).astype(np.float64)
        return values, mask

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise DataError("the data transformer is used before it was fitted",
                            hint="call fit(data) first, or rebuild it with DataTransformer.from_state")

    # ---- state ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        self._require_fitted()
        return {
            "version": STATE_VERSION,
            "settings": asdict(self.settings),
            "columns": [
                {"name": c, "codec": self.codecs[c].to_state(),
                 "kind": _KIND[type(self.encoders[c])],
                 "encoder": self.encoders[c].to_state()}
                for c in self.columns
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DataTransformer:
        if state.get("version") != STATE_VERSION:
            raise DataError(f"transformer state has version {state.get('version')!r}, "
                            f"this code reads version {STATE_VERSION}",
                            hint="refit the model with this version of synthohive-dbt")
        t = cls(TransformerSettings(**state["settings"]))
        for c in state["columns"]:
            name = c["name"]
            t.columns.append(name)
            t.codecs[name] = ValueCodec.from_state(c["codec"])
            t.encoders[name] = _ENCODERS[c["kind"]].from_state(c["encoder"])
        return t


def validate_frame(data: pd.DataFrame, table: str) -> None:
    """The checks every training frame passes: non-empty, unique column names, no all-null column."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"table {table!r}: expected a pandas DataFrame, got {type(data).__name__}",
                        hint="pass the table as a pandas DataFrame")
    if data.shape[1] == 0:
        raise DataError(f"table {table!r} has no columns", hint="pass a frame with at least one column")
    if len(data) == 0:
        raise DataError(f"table {table!r} is empty (0 rows): there is nothing to learn from",
                        hint="fit it through Synthesizer, which generates tables too small to learn from "
                             "their column types and dbt tests")
    dup = data.columns[data.columns.duplicated()].tolist()
    if dup:
        raise DataError(f"table {table!r} has duplicate column names {dup}",
                        hint="rename the columns so each name appears once")
    all_null = [str(c) for c in data.columns if data[c].isna().all()]
    if all_null:
        raise DataError(f"table {table!r}: column(s) {all_null} contain only nulls, so no distribution "
                        "can be learned", hint="fit through Synthesizer, which keeps all-null columns out of "
                                               "the model and writes them back as all-null of their type")
