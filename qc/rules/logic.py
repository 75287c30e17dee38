"""Boolean combinations of other rules of the same pack: all, any, not (over the whole call)."""

from __future__ import annotations

from typing import Literal, Mapping

from pydantic import Field

from qc.domain import Finding
from qc.rules.matching import CallContext
from qc.rules.registry import Rule, RuleConfig, check_references, rule_type


def _combined(rule: Rule, findings: list[Finding]) -> Finding:
    """One finding carrying the evidence of all the given findings."""
    starts = [f.start for f in findings if f.start is not None]
    ends = [f.end for f in findings if f.end is not None]
    speakers = {f.speaker for f in findings if f.speaker is not None}
    return Finding(
        rule_id=rule.id,
        category=rule.config.category,
        severity=rule.config.severity,
        speaker=next(iter(speakers)) if len(speakers) == 1 else None,
        start=min(starts) if starts else None,
        end=max(ends) if ends else None,
        text=" | ".join(dict.fromkeys(f.text for f in findings if f.text)),
        segment_ids=tuple(sorted({i for f in findings for i in f.segment_ids})),
        description=rule.config.description,
    )


class _ReferencingRule(Rule):
    def validate(self, rules_by_id: Mapping[str, Rule]) -> None:
        super().validate(rules_by_id)
        check_references(self, self.references(), "rule" if self.type_name == "not" else "rules", rules_by_id)


class AllConfig(RuleConfig):
    type: Literal["all"]
    scope: Literal["any"] = "any"
    rules: list[str] = Field(min_length=2)
    # True: the referenced rules must fire in the order listed, each on a later segment than the first finding of
    # the one before ("stop calling me", then a payment request); a payment asked for before the consumer said
    # it is not collecting after a cease request.
    ordered: bool = False


@rule_type
class AllRule(_ReferencingRule):
    """Fires when every referenced rule fired on the call (with `ordered`, one after the other)."""

    type_name = "all"
    config_model = AllConfig
    config: AllConfig

    def references(self) -> tuple[str, ...]:
        return tuple(self.config.rules)

    def evaluate(self, context: CallContext) -> list[Finding]:
        results = []
        after = -1  # with `ordered`: the segment the previous rule first fired on
        for reference in self.config.rules:
            findings = context.findings_of(reference)
            if self.config.ordered:
                findings = [f for f in findings if f.segment_ids and min(f.segment_ids) > after]
                after = min((min(f.segment_ids) for f in findings), default=after)
            if not findings:
                return []
            results.extend(findings)
        return [_combined(self, results)]


class AnyConfig(RuleConfig):
    type: Literal["any"]
    scope: Literal["any"] = "any"
    rules: list[str] = Field(min_length=2)


@rule_type
class AnyRule(_ReferencingRule):
    """Fires when at least one referenced rule fired."""

    type_name = "any"
    config_model = AnyConfig
    config: AnyConfig

    def references(self) -> tuple[str, ...]:
        return tuple(self.config.rules)

    def evaluate(self, context: CallContext) -> list[Finding]:
        results = [f for reference in self.config.rules for f in context.findings_of(reference)]
        return [_combined(self, results)] if results else []


class NotConfig(RuleConfig):
    type: Literal["not"]
    scope: Literal["any"] = "any"
    rule: str


@rule_type
class NotRule(_ReferencingRule):
    """Fires when the referenced rule did not fire."""

    type_name = "not"
    config_model = NotConfig
    config: NotConfig

    def references(self) -> tuple[str, ...]:
        return (self.config.rule,)

    def evaluate(self, context: CallContext) -> list[Finding]:
        if context.findings_of(self.config.rule):
            return []
        return [self.finding(context, description=self.config.description or f"rule {self.config.rule} did not fire")]
