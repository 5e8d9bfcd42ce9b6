"""Adam with L2 weight decay (torch.optim.Adam's defaults), over foreach kernels.

Why not torch.optim.Adam: constructing any torch optimizer imports torch._dynamo, which took 2.5-5 s of a
40 s fit on the shared 2-core machine, and its default per-tensor loop was ~15% of a CTGAN step. Same
update rule, same results for the same gradients (up to float rounding order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class Adam:
    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 weight_decay: float = 0.0, eps: float = 1e-8) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.weight_decay, self.eps = lr, betas, weight_decay, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        pairs = [(p, p.grad, m, v) for p, m, v in zip(self.params, self.m, self.v) if p.grad is not None]
        if not pairs:
            return
        params, grads, ms, vs = (list(x) for x in zip(*pairs))
        self.t += 1
        b1, b2 = self.betas
        if self.weight_decay:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        torch._foreach_lerp_(ms, grads, 1 - b1)
        torch._foreach_mul_(vs, b2)
        torch._foreach_addcmul_(vs, grads, grads, value=1 - b2)
        denom = torch._foreach_sqrt(vs)
        torch._foreach_div_(denom, math.sqrt(1 - b2 ** self.t))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, ms, denom, value=-self.lr / (1 - b1 ** self.t))

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The moments and the step count, for a checkpoint (the step count as a tensor, so all of it is
        safetensors)."""
        out = {f"m.{i}": m for i, m in enumerate(self.m)} | {f"v.{i}": v for i, v in enumerate(self.v)}
        out["t"] = torch.tensor(self.t, dtype=torch.int64)
        return out

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Copy a `state_dict` into this optimiser's moments (same parameters, same shapes)."""
        with torch.no_grad():
            for i, (m, v) in enumerate(zip(self.m, self.v)):
                m.copy_(state[f"m.{i}"])
                v.copy_(state[f"v.{i}"])
        self.t = int(state["t"])
