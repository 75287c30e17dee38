"""The rule registry: every rule type is a small class with a declarative config model and an `evaluate` method.

Modelled on presidio's recognizer registry. A rule type declares
- `config_model`: a pydantic model (subclass of RuleConfig) whose `type` field is a Literal naming the type;
  pack loading validates every YAML rule against it before anything runs;
- `__init__(config, compiler)`: compiles the config once per pack (phrases go into the pack's shared
  Aho-Corasick index, regexes are compiled);
- `validate(rules_by_id)`: an optional hook for checks that need the other rules of the pack (references);
- `evaluate(context)`: the findings for one call.

New rule types register themselves with `@rule_type`; the pack schema is built from whatever is registered.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from qc.domain import CalleeRelation, Finding, Severity, Speaker

if TYPE_CHECKING:
    from qc.rules.matching import CallContext, PackCompiler

Scope = Literal["agent", "customer", "any"]


class RuleCheckError(Exception):
    """Raised by a rule's validate hook or compiler: names the offending field and the reason."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class RuleConfig(BaseModel):
    """Fields every rule has. Rule types add their own fields and a `type: Literal[...]`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: str
    category: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    severity: Severity = "major"
    scope: Scope = "agent"
    report: bool = True  # false: a building block for boolean rules, never reported by itself
    source: str = Field("", validate_default=True)  # the regulation clause this rule enforces
    description: str = ""
    weight: float | None = Field(None, ge=0, le=100)  # deduction; default from the scorecard by severity
    callee_relation: tuple[CalleeRelation, ...] | None = None  # only applies to calls with these callees
    # rules whose finding on a turn cancels this rule's finding on that turn: the opening self-introduction CN-05
    # asks for (agency, 工号, on whose behalf) is said before the agent knows who answered, and is no disclosure
    unless_same_turn: tuple[str, ...] = ()

    @field_validator("source")
    @classmethod
    def _reported_rules_cite_a_source(cls, source: str, info: ValidationInfo) -> str:
        if info.data.get("report", True) and not source.strip():
            raise ValueError("a reported rule must cite its regulation source")
        return source


class Rule(ABC):
    """Base class of all rule types."""

    type_name: ClassVar[str]
    config_model: ClassVar[type[RuleConfig]]

    def __init__(self, config: RuleConfig, compiler: "PackCompiler"):
        self.config = config
        self.id = config.id

    def references(self) -> tuple[str, ...]:
        """Ids of other rules this rule evaluates (boolean rules)."""
        return ()

    def depends_on(self) -> tuple[str, ...]:
        """Every rule whose findings this rule's findings depend on: its references and its `unless_same_turn`."""
        return self.references() + tuple(self.config.unless_same_turn)

    def validate(self, rules_by_id: Mapping[str, "Rule"]) -> None:
        """Cross-rule checks; raise RuleCheckError. Here: the rules `unless_same_turn` names are other rules of the
        pack (a subclass that checks more calls this too)."""
        check_references(self, self.config.unless_same_turn, "unless_same_turn", rules_by_id)

    def applies_to(self, context: "CallContext") -> bool:
        relations = self.config.callee_relation
        return relations is None or context.call.callee_relation in relations

    @abstractmethod
    def evaluate(self, context: "CallContext") -> list[Finding]:
        """Findings for one call (already known to satisfy `applies_to`)."""

    # ---- helpers for subclasses -------------------------------------------------------------------
    def finding(
        self,
        context: "CallContext",
        segment_indices: Iterable[int] = (),
        text: str = "",
        *,
        description: str = "",
        start: float | None = None,
        end: float | None = None,
        speaker: Speaker | None = None,
        score: float | None = None,
        source: str = "rule",
    ) -> Finding:
        """A finding with span, speaker and segment ids derived from the evidence segments."""
        indices = sorted(set(segment_indices))
        segments = [context.segments[i] for i in indices]
        if segments:
            start = min(s.start for s in segments) if start is None else start
            end = max(s.end for s in segments) if end is None else end
            speakers = {s.speaker for s in segments}
            if speaker is None and len(speakers) == 1:
                speaker = next(iter(speakers))
        return Finding(
            rule_id=self.id,
            category=self.config.category,
            severity=self.config.severity,
            speaker=speaker,
            start=start,
            end=end,
            text=text,
            segment_ids=tuple(s.id for s in segments),
            source=source,  # type: ignore[arg-type]
            score=score,
            description=description or self.config.description,
        )


def check_references(rule: Rule, references: Iterable[str], field: str, rules_by_id: Mapping[str, Rule]) -> None:
    """Each reference names another rule of the pack; else RuleCheckError on `field`."""
    for reference in references:
        if reference == rule.id:
            raise RuleCheckError(field, "a rule cannot refer to itself")
        if reference not in rules_by_id:
            raise RuleCheckError(field, f"refers to unknown rule '{reference}'")


class RuleRegistry:
    """Rule types by their `type` name."""

    def __init__(self) -> None:
        self._types: dict[str, type[Rule]] = {}

    def register(self, rule_class: type[Rule]) -> type[Rule]:
        type_field = rule_class.config_model.model_fields["type"]
        literal_values = getattr(type_field.annotation, "__args__", ())
        if literal_values != (rule_class.type_name,):
            raise TypeError(f"{rule_class.__name__}.config_model.type must be Literal['{rule_class.type_name}']")
        if rule_class.type_name in self._types:
            raise ValueError(f"rule type '{rule_class.type_name}' is registered twice")
        self._types[rule_class.type_name] = rule_class
        return rule_class

    def get(self, type_name: str) -> type[Rule]:
        return self._types[type_name]

    @property
    def type_names(self) -> tuple[str, ...]:
        return tuple(self._types)

    def config_models(self) -> tuple[type[RuleConfig], ...]:
        return tuple(cls.config_model for cls in self._types.values())


default_registry = RuleRegistry()


def rule_type(rule_class: type[Rule]) -> type[Rule]:
    """Class decorator: register a rule type with the default registry."""
    return default_registry.register(rule_class)

