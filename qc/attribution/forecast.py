"""Next-week complaint hotspots: EWMA of each cell's weekly complaint rate × expected calls, Poisson interval.

The expected calls of the coming week are the last observed week's calls (a real forecast does not know the
coming week's volume). `backtest` replays the same forecast for each of the last weeks using only the weeks
before it and reports the error next to a naive forecast (last week's count), so the method has to earn its keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from qc.attribution.config import ForecastOptions

INTERVAL = 0.9


@dataclass(frozen=True)
class Backtest:
    weeks: int
    cells: int
    mae: float             # mean absolute error, complaints per cell-week
    wape: float            # Σ|forecast − actual| / Σ actual
    naive_mae: float
    naive_wape: float
    interval_coverage: float  # share of actual counts inside the 90% Poisson interval
    table: pd.DataFrame    # week_start, dimension, value, forecast, actual, naive


def _ewma_forecast(rates: np.ndarray, alpha: float) -> float:
    level = rates[0]
    for r in rates[1:]:
        level = alpha * r + (1 - alpha) * level
    return float(level)


def _forecast_cells(history: pd.DataFrame, alpha: float) -> pd.DataFrame:
    rows = []
    for (dimension, value), cell in history.sort_values("week_start").groupby(["dimension", "value"], sort=False):
        n = cell["calls"].to_numpy(dtype=float)
        x = cell["complaints"].to_numpy(dtype=float)
        rates = np.where(n > 0, x / np.maximum(n, 1), 0.0)
        expected_calls = n[-1]
        mean = _ewma_forecast(rates, alpha) * expected_calls
        rows.append({"dimension": dimension, "value": value, "forecast": mean, "naive": x[-1],
                     "expected_calls": expected_calls,
                     "low": float(scipy_stats.poisson.ppf((1 - INTERVAL) / 2, mean)) if mean > 0 else 0.0,
                     "high": float(scipy_stats.poisson.ppf((1 + INTERVAL) / 2, mean)) if mean > 0 else 0.0})
    return pd.DataFrame(rows, columns=["dimension", "value", "forecast", "naive", "expected_calls", "low", "high"])


def forecast_next_week(weekly: pd.DataFrame, options: ForecastOptions) -> pd.DataFrame:
    """The coming week's expected complaints per cell, highest first (the hotspots)."""
    table = _forecast_cells(weekly, options.ewma_alpha)
    if table.empty:
        return table
    next_week = pd.Timestamp(weekly["week_start"].max()) + pd.Timedelta(weeks=1)
    table.insert(0, "week_start", next_week)
    table["rate_per_1000"] = 1000 * table["forecast"] / table["expected_calls"].clip(lower=1)
    return table.sort_values("forecast", ascending=False, kind="stable").reset_index(drop=True)


def backtest(weekly: pd.DataFrame, options: ForecastOptions, min_history_weeks: int = 3) -> Backtest | None:
    weeks = sorted(weekly["week_start"].unique())
    targets = [w for w in weeks[-options.backtest_weeks:] if weeks.index(w) >= min_history_weeks]
    parts = []
    for week in targets:
        predicted = _forecast_cells(weekly[weekly["week_start"] < week], options.ewma_alpha)
        actual = weekly[weekly["week_start"] == week][["dimension", "value", "complaints"]]
        joined = predicted.merge(actual, on=["dimension", "value"], how="left").fillna({"complaints": 0})
        parts.append(joined.assign(week_start=week).rename(columns={"complaints": "actual"}))
    if not parts:
        return None
    table = pd.concat(parts, ignore_index=True)
    actual_total = max(float(table["actual"].sum()), 1.0)
    error = (table["forecast"] - table["actual"]).abs()
    naive_error = (table["naive"] - table["actual"]).abs()
    inside = (table["actual"] >= table["low"]) & (table["actual"] <= table["high"])
    return Backtest(weeks=len(targets), cells=int(table.groupby(["dimension", "value"]).ngroups),
                    mae=float(error.mean()), wape=float(error.sum() / actual_total),
                    naive_mae=float(naive_error.mean()), naive_wape=float(naive_error.sum() / actual_total),
                    interval_coverage=float(inside.mean()),
                    table=table[["week_start", "dimension", "value", "forecast", "low", "high", "naive", "actual"]])
