"""TVAE (Xu et al., 2019): a variational autoencoder over the same encoded rows as CTGAN.

ELBO with per-span reconstruction terms: a Gaussian with a learned scale for each tanh offset, a
cross-entropy for each one-hot span, plus the KL of the latent code. With a context, encoder and decoder
both receive it (a conditional VAE). Shares the transformer, selection loop and checkpoints with CTGAN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthohive_dbt.models.layers import init_linear
from synthohive_dbt.models.optim import Adam
from synthohive_dbt.models.tabular import TabularModel, TrainingConfig
from synthohive_dbt.transform.spans import SpanLayout
from synthohive_dbt.transform.table import TransformerSettings


def _mlp(i: int, dims: tuple[int, ...]) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    for h in dims:
        layers += [nn.Linear(i, h), nn.ReLU()]
        i = h
    return nn.Sequential(*layers), i


class Encoder(nn.Module):
    def __init__(self, in_dim: int, dims: tuple[int, ...], latent: int) -> None:
        super().__init__()
        self.body, out = _mlp(in_dim, dims)
        self.mu = nn.Linear(out, latent)
        self.logvar = nn.Linear(out, latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class Decoder(nn.Module):
    def __init__(self, in_dim: int, dims: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        self.body, out = _mlp(in_dim, dims)
        self.head = nn.Linear(out, out_dim)
        self.log_sigma = nn.Parameter(torch.full((out_dim,), float(np.log(0.1))))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(z))


@dataclass(frozen=True)
class TVAEConfig(TrainingConfig):
    """The network and its optimiser; the training loop's fields come from TrainingConfig."""

    embedding_dim: int = 128  # latent size, as in the TVAE paper
    compress_dims: tuple[int, ...] = (128, 128)
    decompress_dims: tuple[int, ...] = (128, 128)
    lr: float = 1e-3  # Adam's default: a VAE has no adversary to keep in balance
    weight_decay: float = 1e-5
    loss_factor: float = 2.0  # reconstruction weight vs KL, as in the reference implementation
    # the paper's mixture encoding: the quantile default was measured for CTGAN only, and TVAE learned a
    # planted numeric dependence on its context less sharply with it (tests/models, 60 epochs)
    transformer: TransformerSettings = field(
        default_factory=lambda: TransformerSettings(numeric_encoding="mode"))


class TVAE(TabularModel):
    model_name = "TVAE"
    config_class = TVAEConfig
    config: TVAEConfig
    # per row: the loss minimised (loss_factor x reconstruction + KL), and its two terms
    step_metrics = ("loss", "reconstruction", "kl")

    def _uses_condition(self) -> bool:
        return False

    def _build(self, layout: SpanLayout, cond_width: int, context_width: int, gen: torch.Generator) -> None:
        cfg = self.config
        self._layout = layout
        self.encoder = Encoder(layout.width + context_width, cfg.compress_dims, cfg.embedding_dim)
        self.decoder = Decoder(cfg.embedding_dim + context_width, cfg.decompress_dims, layout.width)
        init_linear(self.encoder, gen)
        init_linear(self.decoder, gen)
        self.encoder.to(self.device)
        self.decoder.to(self.device)
        self._tanh_idx = torch.tensor([s.offset for s in layout.tanh_spans], dtype=torch.long,
                                      device=self.device)
        self._softmax = [(s.offset, s.end) for s in layout.softmax_spans]

    def _sampling_modules(self) -> dict[str, nn.Module]:
        return {"decoder": self.decoder}

    def _training_modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def _optimizers(self) -> dict[str, Adam]:
        return {"vae": self._opt}

    def _start_training(self, data: torch.Tensor, context: torch.Tensor | None,
                        rng: np.random.Generator, gen: torch.Generator) -> None:
        cfg = self.config
        self._x, self._c, self._rng, self._gen = data, context, rng, gen
        # the one-hot targets as class indices, computed once
        self._targets = [data[:, a:b].argmax(dim=1) for a, b in self._softmax]
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        self._opt = Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.encoder.train()
        self.decoder.train()

    def _train_step(self) -> tuple[float, ...]:
        cfg = self.config
        rows_np = self._rng.integers(self._x.shape[0], size=cfg.batch_size)
        rows = torch.from_numpy(rows_np).to(self.device)
        x = self._x[rows]
        ctx = [] if self._c is None else [self._c[rows]]
        mu, logvar = self.encoder(torch.cat([x] + ctx, dim=1))
        eps = torch.randn(mu.shape, generator=self._gen, device=self.device)
        z = mu + eps * torch.exp(0.5 * logvar)
        out = self.decoder(torch.cat([z] + ctx, dim=1))
        log_sigma = self.decoder.log_sigma.clamp(np.log(0.01), 0.0)
        rec = out.new_zeros(())
        if self._tanh_idx.numel():
            ls = log_sigma[self._tanh_idx]
            diff = x[:, self._tanh_idx] - torch.tanh(out[:, self._tanh_idx])
            rec = rec + ((diff ** 2) / (2 * torch.exp(2 * ls))).sum() + ls.sum() * x.shape[0]
        for (a, b), target in zip(self._softmax, self._targets):
            rec = rec + F.cross_entropy(out[:, a:b], target[rows], reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp())
        loss = (cfg.loss_factor * rec + kl) / x.shape[0]
        self._opt.zero_grad(set_to_none=True)
        loss.backward()
        self._opt.step()
        n = x.shape[0]
        return float(loss.detach()), float(rec.detach()) / n, float(kl.detach()) / n

    def _generate(self, z: torch.Tensor, cond: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        return self.decoder(torch.cat([z] + ([] if context is None else [context]), dim=1))
