"""What CTGAN and TVAE share: encoding, seeding, the training loop with quality-based model selection,
sampling, and the tensors + JSON state behind save/load. A subclass only builds its networks, takes one
training step and maps (noise, condition, context) to a raw encoded row."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthohive_dbt.errors import ArtifactError, DataError, ModelError
from synthohive_dbt.models.base import (
    Checkpointer,
    ConditionalGenerativeModel,
    Progress,
    ProgressCallback,
    StopReason,
    TrainingMetrics,
    TrainingState,
)
from synthohive_dbt.models.artifact import check_tensors
from synthohive_dbt.models.optim import Adam
from synthohive_dbt.models.conditional import ConditionalSampler
from synthohive_dbt.models.dp import PrivacySpent
from synthohive_dbt.models.layers import OutputActivation
from synthohive_dbt.models.scoring import fidelity
from synthohive_dbt.seeds import call_seed, spawn
from synthohive_dbt.transform.spans import SpanLayout
from synthohive_dbt.transform.table import DataTransformer, TransformerSettings, validate_frame

MODEL_STATE_VERSION = 1
TRAINING_STATE_VERSION = 1  # of a TrainingState (a table checkpointed part-way)
SMALL_TABLE_ROWS_PER_STEP = 10
SMALL_TABLE_MIN_STEPS = 100
_SAMPLE_CHUNK = 8_192  # rows per forward pass: intermediates stay in cache (4x faster than 64k) and RSS low
# the purposes of fit's and sample's seeds, in the order seeds.spawn hands them out: reordering changes every
# trained model and every sample (saved artifacts replay theirs), so add new purposes at the end
_FIT_SEEDS = ("transformer", "encode", "context_transformer", "context_encode", "split", "init", "train", "score")
_SAMPLE_SEEDS = ("noise", "condition", "context_encode", "decode")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise ModelError(f"device {device!r} is not a torch device ({exc})",
                         hint="use 'auto', 'cpu' or 'cuda'") from exc


def config_to_dict(cfg: Any) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def config_from_dict(cls: type, d: dict[str, Any]) -> Any:
    """Rebuild a config dataclass from JSON; unknown keys are an error (a newer artifact), not ignored."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ArtifactError(f"the saved {cls.__name__} has unknown fields {unknown}",
                            hint="load it with the synthohive-dbt version that wrote it")
    kw: dict[str, Any] = {}
    for k, v in d.items():
        if k == "transformer":
            v = TransformerSettings(**v)
        elif isinstance(v, list):
            v = tuple(v)
        kw[k] = v
    return cls(**kw)


@dataclass(frozen=True)
class TrainingConfig:
    """What the training loop below reads, shared by every neural model's config (a subclass adds its network's
    settings and may change a default by declaring the field again, with a comment saying why)."""

    batch_size: int = 500
    epochs: int = 300
    seed: int = 0
    device: str = "auto"  # CUDA when available, else CPU
    validation_fraction: float = 0.1  # held out for model selection (tables of >= _holdout_min_rows() rows)
    max_validation_rows: int = 5000  # enough for a KS/TV estimate to +-0.02; bounds the cost of scoring
    eval_every: int | None = None  # epochs between scores; None = about 20 scores per run
    patience: int | None = None  # stop after this many scores without improvement; None = never
    max_steps: int | None = None  # stop after this many optimiser steps (fewer for small tables, see
    # TabularModel._planned_steps; the best-scoring weights are kept); None = every epoch
    time_budget_s: float | None = None  # optional wall-clock cap on top (then runs may differ run to run)
    threads: int | None = 1  # torch threads while fitting/sampling (restored after); None = torch's default.
    # 1 because small matrices gain little from 2 threads and lose 3-8x when other work shares the cores
    context_cond_dropout: float = 0.0  # share of steps trained without a condition vector when there is a
    # context (0 for models without a condition vector)
    transformer: TransformerSettings = field(default_factory=TransformerSettings)


class TabularModel(ConditionalGenerativeModel):
    """Base of the neural tabular models; their configs extend TrainingConfig."""

    config_class: ClassVar[type[TrainingConfig]]
    config: TrainingConfig
    supports_resume = True
    # the names of what _train_step returns, in order (the model's own diagnostics: training_metrics())
    step_metrics: ClassVar[tuple[str, ...]] = ("loss",)
    # what the selection score measures (higher is better), its series' name in training_metrics()
    score_name: ClassVar[str] = "validation_fidelity"

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        cfg = config if config is not None else self.config_class()
        self.config = dataclasses.replace(cfg, **overrides) if overrides else cfg
        self.transformer: DataTransformer | None = None
        self.context_transformer: DataTransformer | None = None
        self.device = resolve_device(self.config.device)
        self.history: list[dict[str, float]] = []  # per-evaluation scores, for reports and tests
        self.best_score: float | None = None
        self.privacy_spent: PrivacySpent | None = None  # set by a differentially private fit
        self._sampler: ConditionalSampler | None = None
        self._sample_calls = 0
        self._scoring = True
        self._metrics = TrainingMetrics()
        self.table = "table"

    # ---- subclass hooks ------------------------------------------------------------------------------
    @abstractmethod
    def _build(self, layout: SpanLayout, cond_width: int, context_width: int, gen: torch.Generator) -> None:
        """Create the networks on self.device, initialised from `gen`."""

    @abstractmethod
    def _sampling_modules(self) -> dict[str, nn.Module]:
        """The modules needed to sample (saved, and snapshotted when a better score is found)."""

    @abstractmethod
    def _start_training(self, data: torch.Tensor, context: torch.Tensor | None,
                        rng: np.random.Generator, gen: torch.Generator) -> None:
        """Set up optimizers and anything else a training step needs."""

    @abstractmethod
    def _train_step(self) -> tuple[float, ...]:
        """One optimisation step; returns one value per name in `step_metrics`."""

    def _training_modules(self) -> dict[str, nn.Module]:
        """Every module training updates (a checkpoint holds them all; sampling needs only some)."""
        return self._sampling_modules()

    @abstractmethod
    def _optimizers(self) -> dict[str, Adam]:
        """The optimisers _start_training made, by name (their moments go into a checkpoint)."""

    def _extra_training_state(self) -> dict[str, torch.Tensor]:
        """Anything else a training step carries from one epoch to the next (e.g. a row order)."""
        return {}

    def _load_extra_training_state(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what `_extra_training_state` returned."""

    def _generate(self, z: torch.Tensor, cond: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        """Raw encoded rows (before activations), one per row of the noise `z` (n x embedding_dim).
        Models that map noise to rows (CTGAN, TVAE) implement this; others override _sample instead."""
        raise NotImplementedError(f"{type(self).__name__} samples through its own _sample()")

    def _min_steps_between_scores(self) -> int:
        """With eval_every unset, scores are at least this many steps apart: on a small table an epoch is
        one step, and a patience counted in one-step epochs would stop a model that has barely started."""
        return 1

    def _selects_checkpoints(self, n_rows: int) -> bool:
        """Whether to score checkpoints and keep the best (else the last weights are kept)."""
        return True

    def _holdout_min_rows(self) -> int:
        """Tables with fewer rows hold nothing out: selection then scores a sample of the training rows,
        which suits a fidelity score (it cannot reward memorising) but not a likelihood."""
        return 1000

    def _uses_condition(self) -> bool:
        return True

    @contextlib.contextmanager
    def _sampling(self) -> Iterator[None]:
        """Around one _sample() call: a subclass may prepare a faster inference form of its network."""
        yield

    def _private(self) -> bool:
        """True when training is differentially private: then no real rows are held out to pick a
        checkpoint (that choice would itself read real data outside the privacy accounting)."""
        return False

    def _finish_training(self) -> None:
        """Called once after the training loop (DP models record what they spent)."""

    def _steps_per_epoch(self, n_train: int) -> int:
        return max(1, n_train // self.config.batch_size)

    def _planned_steps(self, n_train: int) -> int:
        """Optimiser steps of a full run: epochs x steps per epoch, at most max_steps, and for a small table
        one step per SMALL_TABLE_ROWS_PER_STEP rows (at least SMALL_TABLE_MIN_STEPS). DP calibrates its
        noise to this. Measured on a quiet machine (bench/results/relational_*.json): against a flat 300
        steps, SDMetrics quality moved by at most 0.012 either way on jaffle, duckdb_analytics_kit and
        shop_5k (within the sample-to-sample spread) while their fits took 37-48% less time; and fewer
        passes over a few hundred rows leave less room to memorise them."""
        steps = self.config.epochs * self._steps_per_epoch(n_train)
        cap = self.config.max_steps
        if cap is None:
            return steps
        small = max(SMALL_TABLE_MIN_STEPS, n_train // SMALL_TABLE_ROWS_PER_STEP)
        return min(steps, cap, small)

    # ---- fitting -------------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, context: pd.DataFrame | None = None, *,
            epochs: int | None = None, batch_size: int | None = None, seed: int | None = None,
            progress: ProgressCallback | None = None, table: str | None = None,
            checkpoint: Checkpointer | None = None, resume: TrainingState | None = None) -> TabularModel:
        """See ConditionalGenerativeModel.fit. With `resume` (a state `checkpoint` saved in an earlier fit with
        the same data, context and arguments) training continues from it to the uninterrupted result."""
        with _threads(self.config.threads):
            return self._fit(data, context, epochs=epochs, batch_size=batch_size, seed=seed,
                             progress=progress, table=table, checkpoint=checkpoint, resume=resume)

    def planned_epochs(self, epochs: int | None) -> int:
        return epochs if epochs is not None else self.config.epochs

    def training_metrics(self) -> TrainingMetrics:
        return self._metrics

    @classmethod
    def training_limits(cls, epochs: int | None = None, max_steps: int | None = None,
                        patience: int | None = None) -> str:
        cfg = cls.config_class()
        epochs = cfg.epochs if epochs is None else epochs
        max_steps = cfg.max_steps if max_steps is None else max_steps
        patience = cfg.patience if patience is None else patience
        steps = (f"at most {max_steps} optimiser steps (fewer on small tables)" if max_steps is not None
                 else "no step cap")
        stop = (f"early stop after {patience} scores without improvement" if patience is not None
                else "no early stop")
        return f"at most {epochs} epochs, {steps}, {stop}; whichever ends first"

    def _fit(self, data: pd.DataFrame, context: pd.DataFrame | None, *, epochs: int | None,
             batch_size: int | None, seed: int | None, progress: ProgressCallback | None,
             table: str | None, checkpoint: Checkpointer | None = None,
             resume: TrainingState | None = None) -> TabularModel:
        over = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size), ("seed", seed))
                if v is not None}
        if over:
            self.config = dataclasses.replace(self.config, **over)
        cfg = self.config
        self.table = table or self.table
        if cfg.epochs < 1 or cfg.batch_size < 2:
            raise ModelError(f"table {self.table!r}: epochs={cfg.epochs}, batch_size={cfg.batch_size}",
                             hint="use epochs >= 1 and batch_size >= 2")
        validate_frame(data, self.table)
        data = data.reset_index(drop=True)
        if context is not None:
            validate_frame(context, f"{self.table} (context)")
            if len(context) != len(data):
                raise DataError(f"table {self.table!r}: context has {len(context)} rows but the data has "
                                f"{len(data)}", hint="pass one context row per data row, aligned by position")
            context = context.reset_index(drop=True)

        seeds = dict(zip(_FIT_SEEDS, spawn(cfg.seed, len(_FIT_SEEDS))))
        self.transformer = DataTransformer(cfg.transformer).fit(data, seed=seeds["transformer"], table=self.table)
        x = self.transformer.transform(data, seed=seeds["encode"], table=self.table)
        c = None
        self.context_transformer = None
        if context is not None:
            self.context_transformer = DataTransformer(cfg.transformer).fit(
                context, seed=seeds["context_transformer"], table=f"{self.table} (context)")
            c = self.context_transformer.transform(context, seed=seeds["context_encode"])

        n = len(data)
        if cfg.batch_size > n >= 2:  # a batch larger than the table only repeats rows and costs time
            self.config = cfg = dataclasses.replace(cfg, batch_size=n)
        rng = np.random.default_rng(seeds["split"])
        perm = rng.permutation(n)
        # under DP nothing is held out or scored: choosing on real rows would bypass the accounting
        self._scoring = not self._private() and self._selects_checkpoints(n)
        n_val = min(int(n * cfg.validation_fraction), cfg.max_validation_rows) \
            if n >= self._holdout_min_rows() and self._scoring else 0
        val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        if n_val == 0 and self._scoring:  # small tables: select on (a sample of) the training rows
            val_idx = np.sort(perm[: min(n, cfg.max_validation_rows)])
        val_data = data.iloc[val_idx].reset_index(drop=True)
        val_ctx = context.iloc[val_idx].reset_index(drop=True) if context is not None else None

        layout = self.transformer.layout
        codes = _condition_codes(x[train_idx], layout)
        self._sampler = ConditionalSampler(codes, [s.width for s in layout.conditional],
                                           self.transformer.discrete_frequencies())
        init_gen = torch.Generator(device="cpu").manual_seed(seeds["init"])
        self._build(layout, layout.conditional_width if self._uses_condition() else 0,
                    0 if c is None else c.shape[1], init_gen)
        train_gen = torch.Generator(device=self.device).manual_seed(seeds["train"])
        x_t = torch.from_numpy(np.ascontiguousarray(x[train_idx])).to(self.device)
        c_t = None if c is None else torch.from_numpy(np.ascontiguousarray(c[train_idx])).to(self.device)
        self._start_training(x_t, c_t, rng, train_gen)
        loop = _Loop(rng, train_gen, checkpoint if not self._private() else None)  # DP: Opacus state is not saved
        if resume is not None:
            self._restore(resume, loop)
        self._train_loop(len(train_idx), val_data, val_ctx, seeds["score"], progress, loop)
        self._sample_calls = 0
        return self

    def _train_loop(self, n_train: int, val_data: pd.DataFrame, val_ctx: pd.DataFrame | None,
                    eval_seed: int, progress: ProgressCallback | None, loop: _Loop) -> None:
        cfg = self.config
        steps = self._steps_per_epoch(n_train)
        planned = self._planned_steps(n_train)
        epochs = min(cfg.epochs, math.ceil(planned / steps))  # the epochs the step budget allows
        eval_every = cfg.eval_every or max(1, epochs // 20, math.ceil(self._min_steps_between_scores() / steps))
        # under a time budget the epoch count is unknown: also score every ~1/12 of the budget, so the
        # best checkpoint is chosen among ~12 candidates whatever the machine's speed
        eval_interval = None if cfg.time_budget_s is None or cfg.eval_every else cfg.time_budget_s / 12
        start = time.perf_counter() - loop.elapsed
        self.best_score, self.history = loop.best_score, loop.history
        stop: StopReason | None = None
        for epoch in range(loop.epoch + 1, epochs + 1):
            sums = [0.0] * len(self.step_metrics)
            taken = 0
            for _ in range(min(steps, planned - loop.steps)):
                sums = [a + b for a, b in zip(sums, self._train_step())]
                taken += 1
                if cfg.time_budget_s is not None and time.perf_counter() - start > cfg.time_budget_s:
                    stop = "time_budget"
                    break
            loop.steps += taken
            means = {k: v / max(taken, 1) for k, v in zip(self.step_metrics, sums)}
            for k, v in means.items():
                loop.series.setdefault(k, []).append((epoch, v))
            last = epoch == epochs or stop is not None
            score = None
            due = eval_interval is not None and time.perf_counter() - start - loop.last_eval >= eval_interval
            if self._scoring and (epoch % eval_every == 0 or last or due):
                score = self._validation_score(val_data, val_ctx, eval_seed)
                loop.last_eval = time.perf_counter() - start
                loop.history.append({"epoch": epoch, "score": score, "seconds": loop.last_eval})
                loop.series.setdefault(self.score_name, []).append((epoch, score))
                if loop.best_score is None or score > loop.best_score:
                    loop.best_score, loop.stale = score, 0
                    loop.best = {k: {n: t.detach().clone() for n, t in m.state_dict().items()}
                                 for k, m in self._sampling_modules().items()}
                else:
                    loop.stale += 1
            if stop is None and cfg.patience is not None and loop.stale >= cfg.patience:
                stop = "patience"
            elapsed = time.perf_counter() - start
            loop.epoch, loop.elapsed = epoch, elapsed
            if stop is None and not last and loop.checkpoint is not None and loop.checkpoint.due(epoch):
                loop.checkpoint.save(self._training_state(loop))  # before the callback: a log line means saved
            eta = elapsed / epoch * (epochs - epoch)
            if cfg.time_budget_s is not None:
                eta = min(eta, max(0.0, cfg.time_budget_s - elapsed))
            if progress is not None:
                progress(Progress(epoch, epochs, eta, score, means, loop.steps))
            if stop is not None:
                break
        self.best_score = loop.best_score
        if stop is None:
            stop = "max_steps" if planned < cfg.epochs * steps else "epochs"
        self._metrics = TrainingMetrics({k: list(v) for k, v in loop.series.items()},
                                        self.score_name if self._scoring else None, loop.epoch, cfg.epochs,
                                        loop.steps, stop)
        if loop.best is not None:
            for k, m in self._sampling_modules().items():
                m.load_state_dict(loop.best[k])
        self._finish_training()

    # ---- checkpoints of a fit in progress ------------------------------------------------------------
    def _training_state(self, loop: _Loop) -> TrainingState:
        """Everything `_restore` needs to continue this fit bit for bit: weights, optimiser moments, RNG
        states and the loop's counters. Reading them draws no random number, so checkpointing a run
        does not change it."""
        tensors = {f"module.{k}.{n}": t.detach().cpu().clone() for k, m in self._training_modules().items()
                   for n, t in m.state_dict().items()}
        tensors.update({f"optim.{k}.{n}": t.detach().cpu().clone() for k, o in self._optimizers().items()
                        for n, t in o.state_dict().items()})
        tensors.update({f"best.{k}.{n}": t.cpu() for k, sd in (loop.best or {}).items() for n, t in sd.items()})
        tensors.update({f"extra.{k}": t.detach().cpu().clone() for k, t in self._extra_training_state().items()})
        tensors["rng.torch"] = loop.gen.get_state()
        meta = {"model": self.model_name, "table": self.table, "training_state_version": TRAINING_STATE_VERSION,
                "numpy_rng": loop.rng.bit_generator.state, "epoch": loop.epoch, "steps": loop.steps,
                "stale": loop.stale, "last_eval": loop.last_eval, "elapsed": loop.elapsed,
                "best_score": loop.best_score, "history": loop.history,
                "series": {k: [list(p) for p in v] for k, v in loop.series.items()}}
        return TrainingState(tensors, meta)

    def _restore(self, state: TrainingState, loop: _Loop) -> None:
        """Load a `_training_state` into the freshly started fit (same data, seed and settings)."""
        meta, tensors = state.meta, state.tensors
        where = f"the checkpoint of table {self.table!r}"
        if meta.get("training_state_version") != TRAINING_STATE_VERSION or meta.get("model") != self.model_name:
            raise ArtifactError(f"{where} was written by {meta.get('model')!r} (training state version "
                                f"{meta.get('training_state_version')!r}), not by this {self.model_name} "
                                f"(version {TRAINING_STATE_VERSION})",
                                hint="fit without resuming, or resume with the backend and version that wrote it")
        expected = {f"module.{k}.{n}": t for k, m in self._training_modules().items()
                    for n, t in m.state_dict().items()}
        expected.update({f"optim.{k}.{n}": t for k, o in self._optimizers().items()
                         for n, t in o.state_dict().items()})
        check_tensors(expected, {k: v for k, v in tensors.items() if k.startswith(("module.", "optim."))}, where)
        with torch.no_grad():
            for k, m in self._training_modules().items():
                m.load_state_dict({n: tensors[f"module.{k}.{n}"] for n in m.state_dict()})
        for k, o in self._optimizers().items():
            o.load_state_dict({n: tensors[f"optim.{k}.{n}"].to(self.device) for n in o.state_dict()})
        best: dict[str, dict[str, torch.Tensor]] = {}
        for name, t in tensors.items():
            if name.startswith("best."):
                module, param = name[len("best."):].split(".", 1)
                best.setdefault(module, {})[param] = t.to(self.device)
        self._load_extra_training_state({k[len("extra."):]: t for k, t in tensors.items() if k.startswith("extra.")})
        loop.rng.bit_generator.state = meta["numpy_rng"]
        loop.gen.set_state(tensors["rng.torch"])
        loop.epoch, loop.steps, loop.stale = int(meta["epoch"]), int(meta["steps"]), int(meta["stale"])
        loop.last_eval, loop.elapsed = float(meta["last_eval"]), float(meta["elapsed"])
        loop.best_score, loop.best = meta["best_score"], best or None
        loop.history = [dict(h) for h in meta["history"]]
        loop.series = {k: [(int(e), float(v)) for e, v in pts] for k, pts in meta["series"].items()}

    def _validation_score(self, val_data: pd.DataFrame, val_ctx: pd.DataFrame | None, seed: int) -> float:
        assert self.transformer is not None
        synth = self._sample(len(val_data), val_ctx, seed)
        for m in self._sampling_modules().values():
            m.train()
        return fidelity(self.transformer, val_data, synth)

    # ---- sampling ------------------------------------------------------------------------------------
    def sample(self, n: int, context: pd.DataFrame | None = None, seed: int | None = None) -> pd.DataFrame:
        """n rows; with a context, exactly one row per context row (n must equal len(context)).
        Without a seed, the k-th call after fit/load uses a seed derived from the model's seed and k, so
        a script is reproducible run to run while repeated calls still differ."""
        if self.transformer is None:
            raise ModelError(f"{type(self).__name__} for table {self.table!r} is sampled before fit",
                             hint="call fit(data) or load a saved model first")
        if (context is None) != (self.context_transformer is None):
            need = "was" if self.context_transformer is not None else "was not"
            raise ModelError(f"table {self.table!r}: the model {need} trained with a context, but sample() "
                             f"got {'none' if context is None else 'one'}",
                             hint="pass a context exactly when the model was fitted with one")
        if context is not None and n != len(context):
            raise ModelError(f"table {self.table!r}: sample(n={n}) with a context of {len(context)} rows",
                             hint="with a context, n must equal len(context): one row per context row")
        if n < 0:
            raise ModelError(f"table {self.table!r}: sample(n={n})", hint="ask for n >= 0 rows")
        if seed is None:
            seed = call_seed(self.config.seed, self._sample_calls)
            self._sample_calls += 1
        with _threads(self.config.threads):
            return self._sample(n, context, seed)

    @torch.inference_mode()
    def _sample(self, n: int, context: pd.DataFrame | None, seed: int) -> pd.DataFrame:
        assert self.transformer is not None
        seeds = dict(zip(_SAMPLE_SEEDS, spawn(seed, len(_SAMPLE_SEEDS))))
        layout = self.transformer.layout
        act = OutputActivation(layout, self.device)
        gen = torch.Generator(device=self.device).manual_seed(seeds["noise"])
        rng = np.random.default_rng(seeds["condition"])
        ctx = None
        if context is not None:
            assert self.context_transformer is not None
            ctx = torch.from_numpy(self.context_transformer.transform(
                context.reset_index(drop=True), seed=seeds["context_encode"], unknown="ignore")).to(self.device)
        for m in self._sampling_modules().values():
            m.eval()
        parts = []
        dim = self.config.embedding_dim
        with self._sampling():
            for lo in range(0, n, _SAMPLE_CHUNK):
                k = min(_SAMPLE_CHUNK, n - lo)
                cond = self._generation_condition(k, rng, ctx is not None)
                z = torch.randn(k, dim, generator=gen, device=self.device)  # measured 1.8x faster than numpy's
                u = torch.rand(k, act.n_categorical, generator=gen, device=self.device)
                raw = self._generate(z, cond, None if ctx is None else ctx[lo:lo + k])
                parts.append(act.sample(raw, u).cpu().numpy())
        enc = np.concatenate(parts) if parts else np.zeros((0, layout.width), np.float32)
        return self.transformer.inverse_transform(enc, seed=seeds["decode"])

    def _generation_condition(self, k: int, rng: np.random.Generator, has_context: bool) -> torch.Tensor:
        assert self._sampler is not None
        if not self._uses_condition():
            return torch.zeros((k, 0), device=self.device)
        if has_context:  # the context already says which rows to make; trained with dropped conditions
            return torch.zeros((k, self._sampler.total), device=self.device)
        return torch.from_numpy(self._sampler.sample_original(k, rng)).to(self.device)

    # ---- state ---------------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(tensors, meta): everything needed to sample, for save() or for a multi-model artifact."""
        if self.transformer is None:
            raise ModelError(f"{type(self).__name__} for table {self.table!r} is saved before fit",
                             hint="call fit(data) first")
        tensors = {f"{k}.{n}": t.detach().cpu() for k, m in self._sampling_modules().items()
                   for n, t in m.state_dict().items()}
        meta = {
            "model": self.model_name,
            "state_version": MODEL_STATE_VERSION,
            "table": self.table,
            "config": config_to_dict(self.config),
            "transformer": self.transformer.state_dict(),
            "context_transformer": (None if self.context_transformer is None
                                    else self.context_transformer.state_dict()),
            "best_score": self.best_score,
            "privacy_spent": None if self.privacy_spent is None else self.privacy_spent.to_dict(),
            "training": self._metrics.to_dict(),
        }
        return tensors, meta

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                   device: str | None = None) -> TabularModel:
        where = cls.check_state(meta)
        if meta.get("state_version") != MODEL_STATE_VERSION:
            raise ArtifactError(f"{where} has state version {meta.get('state_version')!r}; this code reads "
                                f"version {MODEL_STATE_VERSION}", hint="retrain and save with this version")
        try:
            config = config_from_dict(cls.config_class, meta["config"])
            if device is not None:
                config = dataclasses.replace(config, device=device)
            model = cls(config)
            model.table = str(meta.get("table", "table"))
            model.transformer = DataTransformer.from_state(meta["transformer"])
            if meta.get("context_transformer") is not None:
                model.context_transformer = DataTransformer.from_state(meta["context_transformer"])
        except (KeyError, TypeError, ValueError, DataError) as exc:
            raise ArtifactError(f"{where}: its metadata is incomplete or malformed ({exc})",
                                hint="the artifact is damaged; retrain and save it again") from exc
        layout = model.transformer.layout
        model._sampler = ConditionalSampler(np.zeros((0, len(layout.conditional)), np.int64),
                                            [s.width for s in layout.conditional],
                                            model.transformer.discrete_frequencies())
        ctx_w = 0 if model.context_transformer is None else model.context_transformer.layout.width
        model._build(layout, layout.conditional_width if model._uses_condition() else 0, ctx_w,
                     torch.Generator(device="cpu").manual_seed(0))
        expected = {f"{k}.{n}": t for k, m in model._sampling_modules().items()
                    for n, t in m.state_dict().items()}
        check_tensors(expected, tensors, where)
        for k, m in model._sampling_modules().items():
            prefix = f"{k}."
            m.load_state_dict({n[len(prefix):]: t for n, t in tensors.items() if n.startswith(prefix)})
        model.best_score = meta.get("best_score")
        try:
            model._metrics = TrainingMetrics.from_dict(meta.get("training"))
        except (TypeError, ValueError) as exc:
            raise ArtifactError(f"{where}: its training metrics are malformed ({exc})",
                                hint="the artifact is damaged; retrain and save it again") from exc
        spent = meta.get("privacy_spent")
        if spent is not None:
            try:
                model.privacy_spent = PrivacySpent(**spent)
            except TypeError as exc:
                raise ArtifactError(f"{where}: its privacy record is malformed ({exc})",
                                    hint="the artifact is damaged; retrain and save it again") from exc
        return model


@dataclass
class _Loop:
    """What the training loop carries from epoch to epoch: its RNGs, counters, scores and the best weights so
    far. A checkpoint is exactly this plus the networks and optimisers."""

    rng: np.random.Generator  # batches and row orders
    gen: torch.Generator  # noise, dropout, Gumbel
    checkpoint: Checkpointer | None = None
    epoch: int = 0  # epochs finished
    steps: int = 0  # optimiser steps taken
    stale: int = 0  # scores since the best one
    last_eval: float = 0.0
    elapsed: float = 0.0
    best_score: float | None = None
    best: dict[str, dict[str, torch.Tensor]] | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Run with `n` torch threads, then restore the caller's setting. None leaves torch's choice.
    Why not all cores: these networks' matrices are small, so a second thread gains little on a quiet
    machine, and on a busy one its spin-waiting made a CTGAN step 3-8x SLOWER (bench notes)."""
    if n is None or n == torch.get_num_threads():
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _condition_codes(x: np.ndarray, layout: SpanLayout) -> np.ndarray:
    """Slot index of every row in every conditional span (arg-max of its one-hot)."""
    if not layout.conditional:
        return np.zeros((x.shape[0], 0), dtype=np.int64)
    return np.stack([np.argmax(x[:, s.offset:s.end], axis=1) for s in layout.conditional], axis=1)


def pack_batch(batch: int, pac: int) -> int:
    """The batch size rounded up to a whole number of packs."""
    return int(math.ceil(batch / pac) * pac)
