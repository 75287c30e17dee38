"""The QC rules engine: a registry of rule types, YAML rule packs validated before use, one compiled
phrase automaton per pack. Score calls with qc.scoring.score_call(call, transcript, load_pack("cn_collection"))."""

from qc.rules.pack import RulePack, RulePackError, available_packs, load_pack
from qc.rules.registry import Rule, RuleConfig, RuleRegistry, default_registry, rule_type

__all__ = [
    "Rule", "RuleConfig", "RulePack", "RulePackError", "RuleRegistry", "available_packs", "default_registry",
    "load_pack", "rule_type",
]
