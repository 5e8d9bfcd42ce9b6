"""Network building blocks shared by CTGAN and TVAE, all randomness drawn from an explicit generator.

torch's own initialisers, dropout and gumbel-softmax read the global RNG, which any other library in the
process may touch; a fixed seed would then not give a fixed model. Here every random draw takes a local
`torch.Generator`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from synthohive_dbt.transform.spans import SpanLayout


def init_linear(module: nn.Module, gen: torch.Generator) -> None:
    """torch's default Linear init (uniform in +-1/sqrt(fan_in)), drawn from `gen`."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.in_features)
            with torch.no_grad():
                m.weight.uniform_(-bound, bound, generator=gen)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=gen)


class SeededDropout(nn.Module):
    """Dropout whose mask comes from `self.generator` (set by the trainer)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)


class Residual(nn.Module):
    """Linear -> BatchNorm -> ReLU, concatenated with its input (CTGAN's generator block)."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        dim = in_dim
        for h in hidden:
            blocks.append(Residual(dim, h))
            dim += h
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class FusedGenerator:
    """The eval-mode generator as plain matrices, for sampling: each BatchNorm folded into its Linear, and
    the residual concatenations replaced by one matrix product per earlier block, so no growing tensor is
    copied per block (those copies and the BatchNorms were ~35% of a sampling forward pass on CPU)."""

    def __init__(self, g: Generator) -> None:
        self.blocks: list[tuple[list[torch.Tensor], torch.Tensor]] = []
        widths: list[int] = [g.body[0].fc.in_features] if len(g.body) else [g.head.in_features]
        for block in g.body:
            assert isinstance(block, Residual) and not block.bn.training
            bn = block.bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            w = block.fc.weight * scale[:, None]
            b = (block.fc.bias - bn.running_mean) * scale + bn.bias
            self.blocks.append((self._split(w, widths), b))
            widths = [block.fc.out_features] + widths
        self.head = (self._split(g.head.weight, widths), g.head.bias)

    @staticmethod
    def _split(w: torch.Tensor, widths: list[int]) -> list[torch.Tensor]:
        """Column blocks of w matching the input parts [newest block output, ..., the original input]."""
        return [part.t().contiguous() for part in torch.split(w, widths, dim=1)]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        parts = [x]  # newest first, like the concatenation order of Residual
        for weights, bias in self.blocks:
            h = _affine(parts, weights, bias)
            parts.insert(0, torch.relu_(h))
        weights, bias = self.head
        return _affine(parts, weights, bias)


def _affine(parts: list[torch.Tensor], weights: list[torch.Tensor], bias: torch.Tensor) -> torch.Tensor:
    out = torch.addmm(bias, parts[0], weights[0])
    for p, w in zip(parts[1:], weights[1:]):
        out.addmm_(p, w)
    return out


class Discriminator(nn.Module):
    """MLP critic over packs of `pac` rows (PacGAN): seeing several rows at once it can spot mode
    collapse, which a one-row critic cannot."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], pac: int, dropout: float) -> None:
        super().__init__()
        self.pac = pac
        layers: list[nn.Module] = []
        dim = in_dim * pac
        for h in hidden:
            layers += [nn.Linear(dim, h), nn.LeakyReLU(0.2), SeededDropout(dropout)]
            dim = h
        layers.append(nn.Linear(dim, 1))
        self.net = nn.Sequential(*layers)

    def set_generator(self, gen: torch.Generator) -> None:
        for m in self.modules():
            if isinstance(m, SeededDropout):
                m.generator = gen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, x.shape[1] * self.pac))

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator,
                         weight: float) -> torch.Tensor:
        """WGAN-GP: the critic's gradient norm on points between real and fake packs is pushed to 1."""
        n, d = real.shape
        alpha = torch.rand(n // self.pac, 1, 1, generator=gen, device=real.device)
        alpha = alpha.expand(-1, self.pac, d).reshape(n, d)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = self(mixed)
        grad = torch.autograd.grad(out.sum(), mixed, create_graph=True)[0]
        norm = grad.reshape(-1, self.pac * d).norm(2, dim=1)
        return weight * ((norm - 1) ** 2).mean()


class OutputActivation:
    """Applies the layout's activations to a raw network output in a few tensor operations."""

    def __init__(self, layout: SpanLayout, device: torch.device) -> None:
        self.tanh_idx = torch.tensor([s.offset for s in layout.tanh_spans], dtype=torch.long, device=device)
        self.softmax = [(s.offset, s.end) for s in layout.softmax_spans]
        mask = torch.zeros(layout.width, dtype=torch.bool, device=device)
        for a, b in self.softmax:
            mask[a:b] = True
        self.softmax_mask = mask

    def gumbel(self, shape: torch.Size, gen: torch.Generator, device: torch.device) -> torch.Tensor:
        """Gumbel(0, 1) noise as -log(E), E ~ Exp(1): one log per value instead of two."""
        return torch.empty(shape, device=device).exponential_(generator=gen).clamp_(min=1e-30).log_().neg_()

    def train(self, raw: torch.Tensor, gen: torch.Generator, tau: float = 0.2) -> torch.Tensor:
        """Differentiable: tanh for offsets, gumbel-softmax for every one-hot span."""
        g = self.gumbel(raw.shape, gen, raw.device)
        noisy = (raw + g) / tau
        parts = []
        pos = 0
        for a, b in self.softmax:
            if a > pos:
                parts.append(torch.tanh(raw[:, pos:a]))
            parts.append(torch.softmax(noisy[:, a:b], dim=1))
            pos = b
        if pos < raw.shape[1]:
            parts.append(torch.tanh(raw[:, pos:]))
        return torch.cat(parts, dim=1)

    @property
    def n_categorical(self) -> int:
        return len(self.softmax)

    def sample(self, raw: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """For decoding: tanh on offsets; each one-hot span becomes a draw from its softmax (a plain arg-max
        would always pick the likeliest category). The draw inverts the softmax's CDF at one uniform per
        (row, span) in `u`: a tenth of the random numbers of Gumbel noise on every logit, which dominated."""
        out = torch.zeros_like(raw)
        if self.tanh_idx.numel():
            out[:, self.tanh_idx] = torch.tanh(raw[:, self.tanh_idx])
        for j, (a, b) in enumerate(self.softmax):  # per span, not per row
            cdf = torch.softmax(raw[:, a:b], dim=1).cumsum_(dim=1)
            pick = (cdf < u[:, j:j + 1]).sum(dim=1, keepdim=True).clamp_(max=b - a - 1)
            out[:, a:b].scatter_(1, pick, 1.0)
        return out
