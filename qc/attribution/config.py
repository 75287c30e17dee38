"""configs/attribution.yaml as a validated, frozen value (AttributionConfig)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qc.attribution.texts import LANGUAGES
from qc.configs import CONFIG_DIR

DEFAULT_CONFIG_FILE = CONFIG_DIR / "attribution.yaml"
MODEL_FACTORS = ("agency", "agent_id", "product", "delinquency_bucket")
IMPORT_FIELDS = ("complaint_no", "account_id", "received_at", "channel", "complaint_type", "business_type",
                 "content", "agency")


class AttributionConfigError(ValueError):
    """configs/attribution.yaml is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class ComplaintCategory:
    name: str
    keywords: tuple[str, ...]
    findings: tuple[str, ...]  # QC finding categories that confirm this complaint category


@dataclass(frozen=True)
class WarningOptions:
    dimensions: tuple[str, ...] = ("business_line", "agency")
    sigma: float = 3.0
    baseline_weeks: int = 8
    min_baseline_weeks: int = 4
    min_complaints: int = 5


@dataclass(frozen=True)
class ForecastOptions:
    ewma_alpha: float = 0.4
    backtest_weeks: int = 8
    top_hotspots: int = 10


@dataclass(frozen=True)
class ModelOptions:
    confidence: float = 0.95
    min_calls_per_level: int = 200
    evidence_calls_per_cause: int = 10
    model_factors: tuple[str, ...] = ("agency", "agent_id", "product", "delinquency_bucket")
    pooled_factors: tuple[str, ...] = ("agent_id",)  # estimated with partial pooling (random effects)
    nested_in: str = "agency"                         # ... as deviations from this factor's level
    min_complaints: int = 5       # fewer complaints on either side of a comparison: no RR / OR shown, no cause
    min_calls_per_cell: int = 30  # heat-map cells with fewer calls show "insufficient data"
    min_odds_ratio: float = 1.1   # a cause raises the odds by at least this much (1M calls make OR 1.04 "significant")


@dataclass(frozen=True)
class ClosedLoopOptions:
    due_days: int = 30
    effect_window_days: int = 30


@dataclass(frozen=True)
class AttributionConfig:
    lookback_days: int
    columns: dict[str, tuple[str, ...]]
    required_columns: tuple[str, ...]
    skip_rows: tuple[str, ...]  # a row below the header whose first cell starts with one of these is not data
    channels: dict[str, tuple[str, ...]]
    business_lines: dict[str, tuple[str, ...]]
    finding_categories: dict[str, str]
    complaint_categories: tuple[ComplaintCategory, ...]
    warnings: WarningOptions = WarningOptions()
    forecast: ForecastOptions = ForecastOptions()
    model: ModelOptions = ModelOptions()
    closed_loop: ClosedLoopOptions = ClosedLoopOptions()
    language: str = "zh-CN"  # of the report and the dashboard: zh-CN or en (qc.attribution.texts)
    source: str = field(default=str(DEFAULT_CONFIG_FILE), compare=False)

    def finding_label(self, category: str) -> str:
        return self.finding_categories.get(category, category)

    def canonical_channel(self, value: str) -> str | None:
        return _canonical(value, self.channels)

    def canonical_business_line(self, value: str) -> str | None:
        return _canonical(value, self.business_lines)


def _canonical(value: str, aliases: dict[str, tuple[str, ...]]) -> str | None:
    wanted = value.strip().casefold()
    for name, names in aliases.items():
        if wanted == name.casefold() or wanted in (n.casefold() for n in names):
            return name
    return None


def _names(value: Any, key: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise AttributionConfigError(f"{source}: key '{key}': expected a list of names, got {value!r}")
    return tuple(str(v) for v in value)


def _options(cls, data: Any, key: str, source: str):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise AttributionConfigError(f"{source}: key '{key}': expected a mapping")
    known = cls.__dataclass_fields__
    unknown = set(data) - set(known)
    if unknown:
        raise AttributionConfigError(f"{source}: key '{key}.{sorted(unknown)[0]}': unknown setting")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    for name, value in values.items():
        default = getattr(cls(), name)
        if isinstance(default, (int, float)) and not isinstance(value, (int, float)):
            raise AttributionConfigError(f"{source}: key '{key}.{name}': expected a number, got {value!r}")
        if isinstance(default, (int, float)) and value < 0:
            raise AttributionConfigError(f"{source}: key '{key}.{name}': must not be negative")
    return cls(**values)


def load_attribution_config(path: Path | str | None = None) -> AttributionConfig:
    path = Path(path or DEFAULT_CONFIG_FILE)
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AttributionConfigError(f"{source}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise AttributionConfigError(f"{source}: top level must be a mapping")

    lookback = data.get("lookback_days", 30)
    if not isinstance(lookback, int) or lookback <= 0:
        raise AttributionConfigError(f"{source}: key 'lookback_days': expected a positive whole number of days")
    columns = {f: _names(v, f"columns.{f}", source) for f, v in (data.get("columns") or {}).items()}
    unknown = set(columns) - set(IMPORT_FIELDS)
    if unknown:
        raise AttributionConfigError(f"{source}: key 'columns.{sorted(unknown)[0]}': unknown field "
                                     f"(known: {', '.join(IMPORT_FIELDS)})")
    required = _names(data.get("required_columns") or [], "required_columns", source)
    for name in required:
        if name not in columns:
            raise AttributionConfigError(f"{source}: key 'required_columns': '{name}' has no entry under columns")

    def alias_map(key: str) -> dict[str, tuple[str, ...]]:
        raw = data.get(key) or {}
        if not isinstance(raw, dict) or not raw:
            raise AttributionConfigError(f"{source}: key '{key}': expected a non-empty mapping name -> aliases")
        return {str(k): _names(v or [], f"{key}.{k}", source) for k, v in raw.items()}

    categories = []
    for name, spec in (data.get("complaint_categories") or {}).items():
        if not isinstance(spec, dict):
            raise AttributionConfigError(f"{source}: key 'complaint_categories.{name}': expected a mapping")
        categories.append(ComplaintCategory(
            name=str(name),
            keywords=_names(spec.get("keywords") or [], f"complaint_categories.{name}.keywords", source),
            findings=_names(spec.get("findings") or [], f"complaint_categories.{name}.findings", source)))
    if not categories:
        raise AttributionConfigError(f"{source}: key 'complaint_categories': at least one category is needed")

    finding_categories = data.get("finding_categories") or {}
    if not isinstance(finding_categories, dict):
        raise AttributionConfigError(f"{source}: key 'finding_categories': expected a mapping id -> label")
    warnings = _options(WarningOptions, data.get("warnings"), "warnings", source)
    if warnings.sigma <= 0:
        raise AttributionConfigError(f"{source}: key 'warnings.sigma': must be positive")
    model = _options(ModelOptions, data.get("attribution"), "attribution", source)
    for name in model.model_factors + model.pooled_factors + (model.nested_in,):
        if name not in MODEL_FACTORS:
            raise AttributionConfigError(f"{source}: key 'attribution': unknown factor '{name}' "
                                         f"(known: {', '.join(MODEL_FACTORS)})")
    for name in model.pooled_factors:
        if name not in model.model_factors:
            raise AttributionConfigError(f"{source}: key 'attribution.pooled_factors': '{name}' is not in "
                                         f"model_factors")
    language = data.get("language", "zh-CN")
    if language not in LANGUAGES:
        raise AttributionConfigError(f"{source}: key 'language': '{language}' is not one of {', '.join(LANGUAGES)}")
    return AttributionConfig(
        language=language,
        lookback_days=lookback,
        columns=columns,
        required_columns=required,
        skip_rows=_names(data.get("skip_rows") or [], "skip_rows", source),
        channels=alias_map("channels"),
        business_lines=alias_map("business_lines"),
        finding_categories={str(k): str(v) for k, v in finding_categories.items()},
        complaint_categories=tuple(categories),
        warnings=warnings,
        forecast=_options(ForecastOptions, data.get("forecast"), "forecast", source),
        model=model,
        closed_loop=_options(ClosedLoopOptions, data.get("closed_loop"), "closed_loop", source),
        source=source,
    )
