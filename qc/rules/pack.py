"""Rule packs: YAML files under configs/rules/, validated before use and compiled once.

A pack file:

    pack: cn_collection          # name
    language: zh                 # zh | en: how phrases and transcripts are normalised
    title: ...
    sources: {CBA: "中国银行业协会 ..."}          # the regulations the rules cite
    negation: {cues: [不会, 没有], window: 4}      # cue within `window` chars before a hit (same clause) negates it
                                                 # (also `after`: cues within the window after it; `breakers`)
    synonyms: {单位: [公司]}                       # substituted into every phrase of the pack
    lexicons: {agency_names: [联众催收]}            # named phrase lists; a rule's phrases use them as "@agency_names"
    scorecard: {weights: {minor: 5, major: 20, critical: 40}, flag_threshold: 80, fatal_score: 0}
    rules: [ {id, type, category, severity, scope, source, ...type fields} ]

`load_pack` raises RulePackError naming the file, the rule id, the field and the reason; it reports every
problem of the file at once. The pack version is a hash of the file's bytes, recorded on every finding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Sequence, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from qc.configs import CONFIG_DIR
from qc.domain import CALLEE_RELATIONS, AcousticFeatures, Call, CallAttempt, Finding, Severity, Transcript
from qc.rules import acoustic, calls, logic, model, semantic, text  # noqa: F401  (registers the rule types)
from qc.rules.matching import CallContext, PackCompiler, PhraseIndex
from qc.rules.registry import Rule, RuleCheckError, RuleRegistry, default_registry

PACKS_DIR = CONFIG_DIR / "rules"
DEFAULT_WEIGHTS: dict[str, float] = {"info": 0.0, "minor": 5.0, "major": 25.0, "critical": 40.0}


class RulePackError(Exception):
    """A rule pack cannot be used. `problems` lists (rule_id, field, reason); the message names the file."""

    def __init__(self, file: Path | str, problems: Sequence[tuple[str | None, str | None, str]]):
        self.file = str(file)
        self.problems = list(problems)
        self.rule_id, self.field, self.reason = self.problems[0]
        lines = []
        for rule_id, field_name, reason in self.problems:
            where = []
            if rule_id:
                where.append(f"rule '{rule_id}'")
            if field_name:
                where.append(f"field '{field_name}'")
            lines.append(f"{self.file}: {', '.join(where) + ': ' if where else ''}{reason}")
        super().__init__("\n".join(lines))


class NegationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cues: list[str] = []
    window: int = Field(4, ge=0, le=40)
    breakers: list[str] = []  # words between cue and hit that end the negation: "if you don't pay, WE'LL …"
    after: list[str] = []  # cues that negate the hit they follow (same window and clause): 「孩子上学不会受影响」


class Scorecard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: dict[Severity, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    flag_threshold: float | None = Field(None, ge=0, le=100)  # None: settings qc.flag_threshold (80)
    fatal_score: float | None = Field(0.0, ge=0, le=100)  # score of a call with a critical finding; None: keep

    def weight(self, severity: str) -> float:
        return self.weights.get(severity, DEFAULT_WEIGHTS[severity])  # type: ignore[call-overload]


class PackHeader(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pack: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    language: Literal["zh", "en"]
    title: str = ""
    description: str = ""
    sources: dict[str, str] = {}
    negation: NegationSettings = NegationSettings()
    synonyms: dict[str, list[str]] = {}
    lexicons: dict[str, list[str]] = {}
    scorecard: Scorecard = Scorecard()
    rules: list[Any] = Field(min_length=1)


@dataclass(frozen=True, eq=False)
class RulePack:
    """A validated, compiled pack. Score calls with qc.scoring.score_call."""

    name: str
    version: str
    language: str
    rules: tuple[Rule, ...]
    scorecard: Scorecard
    path: Path
    title: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)
    indexes: Mapping[str, PhraseIndex] = field(default_factory=dict, repr=False)  # by callee relation
    negation_slot: int | None = None
    breaker_slot: int | None = None
    after_slot: int | None = None
    negation_window: int = 4

    @cached_property
    def rules_by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}

    @cached_property
    def reported_rules(self) -> tuple[Rule, ...]:
        """The rules whose findings are reported (not the building blocks of boolean rules)."""
        return tuple(rule for rule in self.rules if rule.config.report)

    def evaluate(
        self,
        call: Call,
        transcript: Transcript,
        features: AcousticFeatures | None = None,
        history: Sequence[CallAttempt] = (),
        model_scores: Mapping[int, Mapping[str, float]] | None = None,
    ) -> list[Finding]:
        """Findings of every reported rule, stamped with the pack name and version, in time order."""
        context = self.context(call, transcript, features, history, model_scores)
        findings = [
            finding.with_pack(self.name, self.version)
            for rule in self.reported_rules
            for finding in context.findings_of(rule.id)
        ]
        semantic_rules = {rule.id for rule in self.reported_rules if rule.type_name == "semantic"}
        findings = merge_rule_and_model(drop_semantic_repeats(findings, semantic_rules))
        findings.sort(key=lambda f: (f.start is None, f.start or 0.0, f.rule_id))
        return findings

    def context(
        self,
        call: Call,
        transcript: Transcript,
        features: AcousticFeatures | None = None,
        history: Sequence[CallAttempt] = (),
        model_scores: Mapping[int, Mapping[str, float]] | None = None,
    ) -> CallContext:
        """What the rules of this pack look at for one call; `context.findings_of(rule_id)` evaluates a rule."""
        return CallContext(
            pack_language=self.language,
            index=self.indexes.get(call.callee_relation, self.indexes["unknown"]),
            negation_slot=self.negation_slot,
            breaker_slot=self.breaker_slot,
            after_slot=self.after_slot,
            negation_window=self.negation_window,
            rules_by_id=self.rules_by_id,
            call=call, transcript=transcript, features=features, history=history, model_scores=model_scores,
        )


def drop_semantic_repeats(findings: list[Finding], semantic_rules: set[str]) -> list[Finding]:
    """A semantic rule's finding on a segment where another rule of the same category fired says nothing new
    (the other rule has the exact words): it is dropped, so the call is not charged twice."""
    if not semantic_rules:
        return findings
    heard = {(f.category, s) for f in findings if f.source == "rule" and f.rule_id not in semantic_rules
             for s in f.segment_ids}
    return [f for f in findings
            if f.rule_id not in semantic_rules or not any((f.category, s) in heard for s in f.segment_ids)]


def merge_rule_and_model(findings: list[Finding]) -> list[Finding]:
    """A model finding on a segment where a rule of the same category also fired is the same violation: the
    rule's finding (exact evidence span, its severity) is kept with source "both" and the model's score; the
    model finding is dropped, so the call is not charged twice. Model findings alone stay source "model"."""
    by_segment: dict[tuple[str, int], int] = {}
    for position, finding in enumerate(findings):
        if finding.source == "rule":
            for segment_id in finding.segment_ids:
                by_segment.setdefault((finding.category, segment_id), position)
    merged = list(findings)
    dropped: set[int] = set()
    for position, finding in enumerate(findings):
        if finding.source != "model":
            continue
        partner = next((by_segment[(finding.category, s)] for s in finding.segment_ids
                        if (finding.category, s) in by_segment), None)
        if partner is None:
            continue
        previous = merged[partner].score if merged[partner].source == "both" else None
        score = max(s for s in (previous, finding.score) if s is not None) if finding.score is not None else previous
        merged[partner] = replace(merged[partner], source="both", score=score)
        dropped.add(position)
    return [finding for position, finding in enumerate(merged) if position not in dropped]


def resolve_pack_path(name_or_path: str | Path) -> Path:
    """A pack name (configs/rules/<name>.yaml) or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists() or "/" in str(name_or_path):
        return candidate
    return PACKS_DIR / f"{name_or_path}.yaml"


def available_packs() -> list[str]:
    return sorted(p.stem for p in PACKS_DIR.glob("*.yaml"))


_cache: dict[tuple[Any, ...], RulePack] = {}


def load_pack(name_or_path: str | Path, registry: RuleRegistry = default_registry,
              lexicons: Mapping[str, Sequence[str]] | None = None) -> RulePack:
    """Load, validate and compile a pack (cached per file path, size, modification time and lexicons).

    `lexicons` extends the pack's own named phrase lists, e.g. {"agency_names": [...]} with the agencies of the
    settings file, so a deployment's agency names are recognised by the self-identification rule."""
    path = resolve_pack_path(name_or_path)
    try:
        stat = path.stat()
        raw = path.read_bytes()
    except OSError as exc:
        known = ", ".join(available_packs()) or "none"
        raise RulePackError(path, [(None, None, f"cannot read rule pack ({exc.strerror or exc}); shipped packs: {known}")]) from None
    extra = tuple(sorted((name, tuple(values)) for name, values in (lexicons or {}).items()))
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, extra)
    if registry is default_registry and key in _cache:
        return _cache[key]
    pack = parse_pack(raw, path, registry, lexicons)
    if registry is default_registry:
        _cache[key] = pack
    return pack


def parse_pack(raw: bytes, path: Path, registry: RuleRegistry = default_registry,
               lexicons: Mapping[str, Sequence[str]] | None = None) -> RulePack:
    """Validate and compile pack bytes; `path` is used in messages. `lexicons` extends the pack's lexicons."""
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RulePackError(path, [(None, None, f"not UTF-8 text: {exc}")]) from None
    except yaml.YAMLError as exc:
        raise RulePackError(path, [(None, None, f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise RulePackError(path, [(None, None, f"top level must be a mapping with pack, language and rules; got {type(data).__name__}")])
    try:
        header = PackHeader.model_validate(data)
    except ValidationError as exc:
        raise RulePackError(path, [(None, _dotted(err["loc"]), err["msg"]) for err in exc.errors()]) from None

    problems: list[tuple[str | None, str | None, str]] = []
    configs = _validate_rules(header.rules, registry, problems)
    # lexicons from settings extend the lists the pack declares (a pack that declares none ignores them)
    merged = {name: list(values) for name, values in header.lexicons.items()}
    added: dict[str, list[str]] = {}
    for name, values in (lexicons or {}).items():
        if name in merged:
            added[name] = [v for v in dict.fromkeys(values) if v.strip() and v not in merged[name]]
            merged[name] += added[name]
    compiler = PackCompiler(language=header.language, synonyms=header.synonyms, negation_window=header.negation.window,
                            lexicons=merged)
    negation_slot = breaker_slot = after_slot = None
    try:
        if header.negation.cues:
            negation_slot = compiler.add_phrase_group(header.negation.cues, "negation.cues")
        if header.negation.breakers:
            breaker_slot = compiler.add_phrase_group(header.negation.breakers, "negation.breakers")
        if header.negation.after:
            after_slot = compiler.add_phrase_group(header.negation.after, "negation.after")
    except RuleCheckError as exc:
        problems.append((None, exc.field, exc.reason))
    rules: list[Rule] = []
    for config in configs:
        compiler.index.owner = config.id
        try:
            rules.append(registry.get(config.type)(config, compiler))
        except RuleCheckError as exc:
            problems.append((config.id, exc.field, exc.reason))
    compiler.index.owner = None
    rules_by_id = {rule.id: rule for rule in rules}
    for rule in rules:
        try:
            rule.validate(rules_by_id)
        except RuleCheckError as exc:
            problems.append((rule.id, exc.field, exc.reason))
    problems.extend(_cycles(rules_by_id))
    if problems:
        raise RulePackError(path, problems)
    return RulePack(
        name=header.pack,
        version=_version(raw, added),
        language=header.language,
        rules=tuple(rules),
        scorecard=header.scorecard,
        path=path,
        title=header.title,
        sources=dict(header.sources),
        indexes=_indexes_by_relation(compiler.index, rules),
        negation_slot=negation_slot,
        breaker_slot=breaker_slot,
        after_slot=after_slot,
        negation_window=header.negation.window,
    )


def _version(raw: bytes, lexicons: Mapping[str, Sequence[str]] | None) -> str:
    """The file's hash; lexicons given at load time (from settings) are part of what the pack does."""
    digest = hashlib.sha256(raw)
    for name, values in sorted((lexicons or {}).items()):
        if values:
            digest.update(("\x1e" + name + "\x1f" + "\x1f".join(values)).encode("utf-8"))
    return digest.hexdigest()[:12]


def _indexes_by_relation(index: PhraseIndex, rules: Sequence[Rule]) -> dict[str, PhraseIndex]:
    """One automaton per callee relation, without the phrases of rules that cannot apply to it: a debtor call
    does not pay for matching the third-party disclosure words (欠款, 逾期 …) in every turn."""
    relations_of = {rule.id: rule.config.callee_relation for rule in rules}
    indexes = {}
    for relation in CALLEE_RELATIONS:
        excluded = frozenset(
            slot for slot, owner in index.slot_owner.items()
            if owner is not None and relations_of.get(owner) is not None and relation not in relations_of[owner]
        )
        indexes[relation] = index.without(excluded)
    return indexes


def _dotted(loc: Sequence[Any]) -> str:
    return ".".join(str(part) if not isinstance(part, int) else f"[{part}]" for part in loc).replace(".[", "[")


def _validate_rules(raw_rules: list[Any], registry: RuleRegistry, problems: list) -> list:
    models = registry.config_models()
    union = Annotated[Union[models], Field(discriminator="type")] if len(models) > 1 else models[0]  # type: ignore[valid-type]
    adapter: TypeAdapter = TypeAdapter(union)
    known_types = ", ".join(registry.type_names)
    configs = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_rules):
        label = f"rules[{position}]"
        if not isinstance(raw, dict):
            problems.append((label, None, f"a rule must be a mapping, got {type(raw).__name__}"))
            continue
        rule_id = str(raw.get("id") or label)
        try:
            config = adapter.validate_python(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = list(err["loc"])
                if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
                    problems.append((rule_id, "type", f"unknown or missing rule type {raw.get('type')!r}; known: {known_types}"))
                    continue
                if loc and loc[0] == raw.get("type"):
                    loc = loc[1:]  # the discriminator tag pydantic puts first
                message = err["msg"].removeprefix("Value error, ")
                problems.append((rule_id, _dotted(loc) or None, message))
            continue
        if config.id in seen:
            problems.append((config.id, "id", "duplicate rule id"))
            continue
        seen.add(config.id)
        configs.append(config)
    return configs


def _cycles(rules_by_id: Mapping[str, Rule]) -> list[tuple[str, str, str]]:
    """Rules must not depend on themselves through other rules (boolean references, `unless_same_turn`)."""
    problems = []
    state: dict[str, str] = {}

    def visit(rule_id: str, trail: list[str]) -> None:
        if state.get(rule_id) == "done" or rule_id not in rules_by_id:
            return
        if state.get(rule_id) == "visiting":
            cycle = trail[trail.index(rule_id):] + [rule_id]
            problems.append((rule_id, "rules", "reference cycle: " + " → ".join(cycle)))
            return
        state[rule_id] = "visiting"
        for reference in rules_by_id[rule_id].depends_on():
            visit(reference, trail + [rule_id])
        state[rule_id] = "done"

    for rule_id in rules_by_id:
        visit(rule_id, [])
    return problems
