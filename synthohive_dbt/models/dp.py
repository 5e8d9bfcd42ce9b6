"""DP-SGD for the CTGAN critic, with Opacus doing the per-sample gradients, clipping, noise and accounting.

Only the critic reads real rows; the generator learns from the critic's outputs, so a critic trained with
(epsilon, delta)-DP makes the generator's weights DP too (post-processing). For that to hold:

- real rows are drawn by Poisson sampling (each row independently with probability q = batch / rows), the
  sampling the RDP accountant assumes, instead of CTGAN's training-by-sampling, which picks rows by category;
- a real row's condition vector is read from the row itself, and its fake counterpart is generated from
  that condition, so one real row moves exactly one per-sample gradient (the real and the fake term of
  sample j are summed before clipping: Opacus accumulates per-sample gradients by index over forward passes);
- the critic has no gradient penalty (per-sample gradients of a gradient norm are not supported) and judges
  single rows (pac 1): the loss is the standard non-saturating GAN loss with logits;
- the generator step uses conditions drawn from the category frequencies, never real rows;
- no validation scoring on real rows picks the checkpoint: the last weights are kept.

What the epsilon does NOT cover is stated where it is reported (Synthesizer.privacy_report): the data
transformer's statistics (category lists and frequencies, bin edges, ranges), the children-per-parent
model, key formats, and tables copied rather than learned.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthohive_dbt.errors import ConfigError


# RDP orders searched: Opacus's default list has 99 fractional orders below 11, each a slow series; these
# gave the same noise multipliers (to 4 digits) on the settings tried, 2-3x faster
RDP_ORDERS = [1.25, 1.5, 1.75, *range(2, 64), 80, 128, 256]


@dataclass(frozen=True)
class PrivacySpent:
    """What one model's training spent, for reports and the saved artifact."""

    epsilon: float
    delta: float
    target_epsilon: float
    noise_multiplier: float
    sample_rate: float
    steps: int
    max_grad_norm: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _opacus() -> Any:
    try:
        import opacus
    except ImportError as exc:
        raise ConfigError("differential privacy needs the `opacus` package, which is not installed",
                          hint="pip install 'synthohive-dbt[dp]' (or pip install opacus)") from exc
    return opacus


def default_delta(rows: int) -> float:
    """min(1e-5, 1 / (10 n)): well below 1/n, so the guarantee does not allow publishing one row outright,
    and never looser than the customary 1e-5 (1 / (10 n) alone is 5e-3 for a 20-row table)."""
    return min(1e-5, 1.0 / (10.0 * max(rows, 1)))


class DPCritic:
    """Wraps a critic for DP-SGD: a per-sample-gradient module, a DP optimizer and an RDP accountant."""

    def __init__(self, critic: nn.Module, *, rows: int, batch_size: int, planned_steps: int, epsilon: float,
                 delta: float | None, max_grad_norm: float, lr: float, betas: tuple[float, float],
                 weight_decay: float, gen: torch.Generator, table: str) -> None:
        opacus = _opacus()
        from opacus.accountants import RDPAccountant
        from opacus.accountants.utils import get_noise_multiplier
        from opacus.optimizers import DPOptimizer

        if epsilon <= 0 or max_grad_norm <= 0:
            raise ConfigError(f"table {table!r}: epsilon={epsilon}, max_grad_norm={max_grad_norm}",
                              hint="use epsilon > 0 and max_grad_norm > 0")
        self.table = table
        self.sample_rate = min(1.0, batch_size / max(rows, 1))
        self.delta = delta if delta is not None else default_delta(rows)
        self.target_epsilon, self.max_grad_norm = float(epsilon), float(max_grad_norm)
        try:
            with _quiet_accountant():
                self.noise_multiplier = float(get_noise_multiplier(
                    target_epsilon=epsilon, target_delta=self.delta, sample_rate=self.sample_rate,
                    steps=max(planned_steps, 1), accountant="rdp", alphas=RDP_ORDERS))
        except ValueError as exc:
            raise ConfigError(f"table {table!r}: no noise level reaches epsilon={epsilon} at delta={self.delta:.2e} "
                              f"over {planned_steps} steps ({exc})",
                              hint="raise epsilon, or train fewer epochs") from exc
        self.module = opacus.GradSampleModule(critic, loss_reduction="sum")
        optimizer = torch.optim.Adam(critic.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)
        self.optimizer = DPOptimizer(optimizer, noise_multiplier=self.noise_multiplier,
                                     max_grad_norm=max_grad_norm, expected_batch_size=max(1, batch_size),
                                     loss_reduction="mean", generator=gen)
        self.accountant = RDPAccountant()
        self.steps = 0

    def draw_rows(self, n_rows: int, rng: np.random.Generator) -> np.ndarray:
        """Poisson sampling: every row joins independently with probability q (the accountant's model)."""
        return np.nonzero(rng.random(n_rows) < self.sample_rate)[0]

    def step(self, real_in: torch.Tensor, fake_in: torch.Tensor) -> float:
        """One private critic update. Row j of `fake_in` must be generated from row j of `real_in`'s
        condition and context, so the two terms form one per-sample gradient."""
        if real_in.shape[0] == 0:  # Poisson sampling drew no row: nothing to learn, the step still counts
            self.accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=self.sample_rate)
            self.steps += 1
            return 0.0
        self.optimizer.zero_grad(set_to_none=True)
        self.module.enable_hooks()
        real_logit = self.module(real_in)
        fake_logit = self.module(fake_in)
        loss = F.softplus(-real_logit).sum() + F.softplus(fake_logit).sum()
        with warnings.catch_warnings():  # the inputs need no gradient; torch warns that the hooks still fire
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            loss.backward()
        self.optimizer.step()
        self.accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=self.sample_rate)
        self.steps += 1
        return float(loss.detach()) / max(1, real_in.shape[0])

    @contextlib.contextmanager
    def hooks_off(self) -> Iterator[None]:
        """For the generator step: a plain forward and backward through the critic (no per-sample
        gradients; the critic's own gradients from it are discarded at the next zero_grad)."""
        self.module.disable_hooks()
        try:
            yield
        finally:
            self.module.enable_hooks()

    def generator_loss(self, fake_in: torch.Tensor) -> torch.Tensor:
        """Non-saturating generator loss; call it and its backward inside hooks_off()."""
        return F.softplus(-self.module(fake_in)).mean()

    def spent(self) -> PrivacySpent:
        with _quiet_accountant():
            eps = float(self.accountant.get_epsilon(self.delta, alphas=RDP_ORDERS)) if self.steps else 0.0
        return PrivacySpent(epsilon=eps if math.isfinite(eps) else float("inf"), delta=self.delta,
                            target_epsilon=self.target_epsilon, noise_multiplier=self.noise_multiplier,
                            sample_rate=self.sample_rate, steps=self.steps, max_grad_norm=self.max_grad_norm)


@contextlib.contextmanager
def _quiet_accountant() -> Iterator[None]:
    """Opacus warns when the best RDP order is the largest it tries: the bound is then slightly loose
    (conservative, never optimistic), which needs no action from a user."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        yield
