"""The one description the transformer and the models share: where each encoded span sits and how it is
activated. The models never look at column types; they only see this layout, so a new column encoding
needs no model change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Activation = Literal["tanh", "softmax"]


@dataclass(frozen=True)
class Span:
    """A contiguous slice of the encoded row.

    `conditional` marks the one-hot span of a discrete column: the models build their conditional vector
    (training-by-sampling) from exactly these spans.
    """

    column: str
    width: int
    activation: Activation
    offset: int = 0
    conditional: bool = False

    @property
    def end(self) -> int:
        return self.offset + self.width


@dataclass(frozen=True)
class SpanLayout:
    """All spans of a table, offsets computed once at construction (callers pass offset-less spans)."""

    spans: tuple[Span, ...]
    width: int = field(init=False)
    conditional: tuple[Span, ...] = field(init=False)
    conditional_width: int = field(init=False)

    def __post_init__(self) -> None:
        placed: list[Span] = []
        offset = 0
        for s in self.spans:
            placed.append(Span(s.column, s.width, s.activation, offset, s.conditional))
            offset += s.width
        object.__setattr__(self, "spans", tuple(placed))
        object.__setattr__(self, "width", offset)
        cond = tuple(s for s in placed if s.conditional)
        object.__setattr__(self, "conditional", cond)
        object.__setattr__(self, "conditional_width", sum(s.width for s in cond))

    @property
    def tanh_spans(self) -> tuple[Span, ...]:
        return tuple(s for s in self.spans if s.activation == "tanh")

    @property
    def softmax_spans(self) -> tuple[Span, ...]:
        return tuple(s for s in self.spans if s.activation == "softmax")
