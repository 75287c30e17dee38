"""The recogniser registry: every kind of number registers one recogniser; `analyze` runs them all.

    @register
    class CnMobileRecogniser(PatternRecogniser): ...

`analyze(text)` returns every recogniser's results, like presidio's AnalyzerEngine; `mask(text)` keeps the
best of overlapping results (highest score, then the longest) and hides their digits.
"""

from __future__ import annotations

from typing import Iterable, TypeVar

from qc.pii.normalise import normalise
from qc.pii.recogniser import PatternRecogniser, RecognizerResult

MASK_CHAR = "*"
MIN_DIGITS = 7  # the shortest number any recogniser knows (a local landline after 座机)

R = TypeVar("R", bound=type[PatternRecogniser])


class RecogniserRegistry:
    def __init__(self) -> None:
        self._recognisers: dict[str, PatternRecogniser] = {}

    def register(self, cls: R) -> R:
        name = cls.__name__
        if name in self._recognisers:
            raise ValueError(f"recogniser {name} is registered twice")
        self._recognisers[name] = cls()
        return cls

    @property
    def recognisers(self) -> tuple[PatternRecogniser, ...]:
        return tuple(self._recognisers.values())

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.entity for r in self._recognisers.values()))

    def analyze(self, text: str | None, entities: Iterable[str] | None = None) -> list[RecognizerResult]:
        """Every result of every recogniser (of `entities`, default all), in text order; overlaps kept."""
        if not text:
            return []
        normalised = normalise(text)
        if sum(ch.isdigit() for ch in normalised) < MIN_DIGITS:
            return []
        wanted = set(entities) if entities is not None else None
        results = [result for recogniser in self._recognisers.values()
                   if wanted is None or recogniser.entity in wanted
                   for result in recogniser.analyze(text, normalised)]
        return sorted(results, key=lambda r: (r.start, -r.score))

    def resolve(self, results: list[RecognizerResult]) -> list[RecognizerResult]:
        """Non-overlapping results: the highest score wins an overlap, then the longer match."""
        kept: list[RecognizerResult] = []
        for result in sorted(results, key=lambda r: (-r.score, -(r.end - r.start), r.start)):
            if not any(result.overlaps(other) for other in kept):
                kept.append(result)
        return sorted(kept, key=lambda r: r.start)

    def mask(self, text: str | None) -> str:
        """`text` with the digits of every recognised number hidden but the kept head and tail; None -> ''."""
        if not text:
            return ""
        results = self.resolve(self.analyze(text))
        if not results:
            return text
        normalised = normalise(text)
        chars = list(text)
        for result in results:
            positions = [i for i in range(result.mask_start, result.mask_end)
                         if normalised[i].isdigit() or normalised[i] in result.extra_digits]
            for i in positions[result.keep_head:len(positions) - result.keep_tail]:
                chars[i] = MASK_CHAR
        return "".join(chars)


default_registry = RecogniserRegistry()
register = default_registry.register
