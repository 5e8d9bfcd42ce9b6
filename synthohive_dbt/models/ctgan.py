"""CTGAN (Xu et al., 2019): a conditional WGAN-GP over (offset, one-hot) encoded rows, with
training-by-sampling, a residual generator and a PacGAN critic. Written from the paper.

Where this departs from the paper, measured on adult.csv (bench/ctgan_adult.py, SDMetrics quality):
numbers are encoded by quantile bins rather than a Gaussian mixture (the same offset + one-hot shape, but
spiky columns such as capital-gain come out right), the bins join the condition vector, columns that a
discrete column determines are derived rather than learned (transform/derived.py), and training stops
at a step budget with the best-scoring weights kept, instead of running a fixed 300 epochs.

With a context (the parent's features for a child table) both networks see the encoded context next to
each row; the generator step draws a fresh batch of real (row, context) pairs rather than reusing the
critic's. Model selection is by validation fidelity (see tabular.py), not by generator loss.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthohive_dbt.errors import ConfigError
from synthohive_dbt.models.conditional import ConditionalSampler
from synthohive_dbt.models.dp import DPCritic
from synthohive_dbt.models.optim import Adam
from synthohive_dbt.models.layers import Discriminator, FusedGenerator, Generator, OutputActivation, init_linear
from synthohive_dbt.models.tabular import TabularModel, TrainingConfig, pack_batch
from synthohive_dbt.transform.spans import SpanLayout


@dataclass(frozen=True)
class CTGANConfig(TrainingConfig):
    """Every default is the paper's / the reference implementation's unless its comment says otherwise.
    The training loop's fields (epochs, seed, device, validation, ...) come from TrainingConfig."""

    embedding_dim: int = 128  # noise size: ample for tabular rows, cheap on CPU
    generator_dims: tuple[int, ...] = (256, 256)  # two residual blocks, as in the paper
    discriminator_dims: tuple[int, ...] = (256, 256)
    generator_lr: float = 2e-4
    discriminator_lr: float = 2e-4
    generator_decay: float = 1e-6  # a whisper of L2, as in the reference code
    discriminator_decay: float = 1e-6
    betas: tuple[float, float] = (0.5, 0.9)  # the WGAN-GP paper's Adam betas
    pac: int = 10  # PacGAN: the critic judges 10 rows at once, which discourages mode collapse (batch_size is
    # rounded up to a multiple of pac)
    discriminator_steps: int = 1  # the CTGAN paper uses 1 (WGAN-GP's 5 is 5x slower for no gain here)
    discriminator_dropout: float = 0.5
    gradient_penalty: float = 10.0  # WGAN-GP's lambda
    gumbel_tau: float = 0.2  # low temperature: near one-hot samples the critic cannot tell by softness
    max_steps: int | None = 300  # stop after this many generator steps (fewer for small tables, see
    # TabularModel._planned_steps; the best-scoring weights are kept): the
    # validation score plateaus within ~300 steps on adult.csv (bench/results/ctgan_adult.json) and then
    # drifts, so a full 300 epochs mostly buys time. A step count, unlike a clock, keeps a seed reproducible.
    context_cond_dropout: float = 0.5  # with a context, half the steps train without a condition vector:
    # sampling from a context then needs none (a marginal condition would fight the context)
    # differential privacy (models/dp.py): when dp_epsilon is set, the critic trains with DP-SGD (Opacus),
    # pac becomes 1, the gradient penalty is off, and no real-data validation picks the checkpoint
    dp_epsilon: float | None = None
    dp_delta: float | None = None  # None = min(1e-5, 1 / (10 * rows))
    dp_max_grad_norm: float = 1.0  # per-sample clipping bound C: each row moves the critic by at most C


class CTGAN(TabularModel):
    model_name = "CTGAN"
    config_class = CTGANConfig
    config: CTGANConfig
    step_metrics = ("generator_loss", "discriminator_loss")

    def _build(self, layout: SpanLayout, cond_width: int, context_width: int, gen: torch.Generator) -> None:
        cfg = self.config
        self._layout = layout
        self._cond_width, self._ctx_width = cond_width, context_width
        self.generator = Generator(cfg.embedding_dim + cond_width + context_width, cfg.generator_dims,
                                   layout.width)
        self.discriminator = Discriminator(layout.width + cond_width + context_width,
                                           cfg.discriminator_dims, self._pac, cfg.discriminator_dropout)
        init_linear(self.generator, gen)
        init_linear(self.discriminator, gen)
        self.generator.to(self.device)
        self.discriminator.to(self.device)

    def _sampling_modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator}

    def _training_modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def _optimizers(self) -> dict[str, Adam]:
        return {"generator": self._opt_g, "discriminator": self._opt_d}

    def _private(self) -> bool:
        return self.config.dp_epsilon is not None

    @property
    def _pac(self) -> int:
        """DP clips one row's gradient at a time, so the critic judges single rows under DP."""
        return 1 if self._private() else self.config.pac

    def _start_training(self, data: torch.Tensor, context: torch.Tensor | None,
                        rng: np.random.Generator, gen: torch.Generator) -> None:
        cfg = self.config
        self._x, self._c, self._rng, self._gen = data, context, rng, gen
        self._batch = pack_batch(cfg.batch_size, self._pac)
        self._act = OutputActivation(self._layout, self.device)
        self._drop = cfg.context_cond_dropout if context is not None else 0.0
        self.discriminator.set_generator(gen)
        self.generator.train()
        self.discriminator.train()
        self._opt_g = Adam(self.generator.parameters(), lr=cfg.generator_lr, betas=cfg.betas,
                                       weight_decay=cfg.generator_decay)
        self._opt_d = Adam(self.discriminator.parameters(), lr=cfg.discriminator_lr,
                                       betas=cfg.betas, weight_decay=cfg.discriminator_decay)
        # per conditional span: (offset in the row, offset in the condition vector, width)
        cond_offsets = np.concatenate([[0], np.cumsum([s.width for s in self._layout.conditional])])
        self._cond_spans = [(s.offset, int(cond_offsets[j]), s.width)
                            for j, s in enumerate(self._layout.conditional)]
        self._dp: DPCritic | None = None
        if self._private():
            if context is not None:
                raise ConfigError(f"table {self.table!r}: differential privacy is not supported for a model "
                                  "conditioned on a parent context",
                                  hint="fit without a context (the Synthesizer drops parent context under DP)")
            assert cfg.dp_epsilon is not None
            self._dp = DPCritic(self.discriminator, rows=data.shape[0], batch_size=self._batch,
                                planned_steps=self._planned_steps(data.shape[0]), epsilon=cfg.dp_epsilon,
                                delta=cfg.dp_delta, max_grad_norm=cfg.dp_max_grad_norm,
                                lr=cfg.discriminator_lr, betas=cfg.betas, weight_decay=cfg.discriminator_decay,
                                gen=gen, table=self.table)

    def _draw(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, np.ndarray, np.ndarray]:
        """A fresh batch: (noise, condition, context of the chosen rows, chosen column, category),
        plus the real rows, which are returned through self._real."""
        assert isinstance(self._sampler, ConditionalSampler)
        b = self._sampler.sample_train(self._batch, self._rng, self._drop)
        rows = torch.from_numpy(b.rows).to(self.device)
        cond = torch.from_numpy(b.cond).to(self.device)
        ctx = None if self._c is None else self._c[rows]
        z = torch.randn(self._batch, self.config.embedding_dim, generator=self._gen, device=self.device)
        self._real = self._x[rows]
        return z, cond, ctx, b.column, b.category

    def _g_input(self, z: torch.Tensor, cond: torch.Tensor, ctx: torch.Tensor | None) -> torch.Tensor:
        return torch.cat([z, cond] + ([] if ctx is None else [ctx]), dim=1)

    def _d_input(self, rows: torch.Tensor, cond: torch.Tensor, ctx: torch.Tensor | None) -> torch.Tensor:
        return torch.cat([rows, cond] + ([] if ctx is None else [ctx]), dim=1)

    def _train_step(self) -> tuple[float, float]:
        if self._dp is not None:
            return self._private_step(self._dp)
        cfg = self.config
        d_loss = torch.zeros(())
        for _ in range(cfg.discriminator_steps):
            z, cond, ctx, _, _ = self._draw()
            with torch.no_grad():
                fake = self._act.train(self.generator(self._g_input(z, cond, ctx)), self._gen, cfg.gumbel_tau)
            real_in = self._d_input(self._real, cond, ctx)
            fake_in = self._d_input(fake, cond, ctx)
            d_loss = self.discriminator(fake_in).mean() - self.discriminator(real_in).mean()
            gp = self.discriminator.gradient_penalty(real_in, fake_in, self._gen, cfg.gradient_penalty)
            self._opt_d.zero_grad(set_to_none=True)
            (d_loss + gp).backward()
            self._opt_d.step()
        # generator step on a FRESH batch of (condition, context) pairs
        z, cond, ctx, column, category = self._draw()
        raw = self.generator(self._g_input(z, cond, ctx))
        fake = self._act.train(raw, self._gen, cfg.gumbel_tau)
        adv = -self.discriminator(self._d_input(fake, cond, ctx)).mean()
        g_loss = adv + self._condition_loss(raw, column, category)
        self._opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self._opt_g.step()
        return float(g_loss.detach()), float(d_loss.detach())

    def _private_step(self, dp: DPCritic) -> tuple[float, float]:
        """A DP-SGD critic step on a Poisson sample, then a generator step that reads no real row."""
        cfg = self.config
        assert isinstance(self._sampler, ConditionalSampler)
        rows = dp.draw_rows(self._x.shape[0], self._rng)
        idx = torch.from_numpy(rows).to(self.device)
        cond = torch.from_numpy(self._sampler.condition_of_rows(rows, self._rng)).to(self.device)
        z = torch.randn(rows.size, cfg.embedding_dim, generator=self._gen, device=self.device)
        with torch.no_grad():
            fake = self._act.train(self.generator(self._g_input(z, cond, None)), self._gen, cfg.gumbel_tau)
        d_loss = dp.step(self._d_input(self._x[idx], cond, None), self._d_input(fake, cond, None))
        b = self._sampler.sample_original_batch(self._batch, self._rng)
        cond = torch.from_numpy(b.cond).to(self.device)
        z = torch.randn(self._batch, cfg.embedding_dim, generator=self._gen, device=self.device)
        raw = self.generator(self._g_input(z, cond, None))
        fake = self._act.train(raw, self._gen, cfg.gumbel_tau)
        with dp.hooks_off():
            g_loss = dp.generator_loss(self._d_input(fake, cond, None)) \
                + self._condition_loss(raw, b.column, b.category)
            self._opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
        self._opt_g.step()
        return float(g_loss.detach()), d_loss

    def _finish_training(self) -> None:
        self.privacy_spent = None if self._dp is None else self._dp.spent()

    def _condition_loss(self, raw: torch.Tensor, column: np.ndarray, category: np.ndarray) -> torch.Tensor:
        """Cross-entropy of the generated logits against the requested category, on the chosen column."""
        total = raw.new_zeros(())
        for j, (row_off, _, width) in enumerate(self._cond_spans):  # per column, not per row
            rows = np.nonzero(column == j)[0]
            if rows.size == 0:
                continue
            idx = torch.from_numpy(rows).to(self.device)
            target = torch.from_numpy(category[rows]).to(self.device)
            total = total + F.cross_entropy(raw[idx, row_off:row_off + width], target, reduction="sum")
        return total / raw.shape[0]

    @contextlib.contextmanager
    def _sampling(self) -> Iterator[None]:
        """Fold the generator once per sample() call; dropped afterwards, since training updates the
        weights in place between validation samples and a kept copy would go stale."""
        self._fused: FusedGenerator | None = FusedGenerator(self.generator)
        try:
            yield
        finally:
            self._fused = None

    def _generate(self, z: torch.Tensor, cond: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        fused = getattr(self, "_fused", None)
        net = self.generator if fused is None or self.generator.training else fused
        return net(self._g_input(z, cond, context))
