"""Next-week complaint hotspots, and the backtest that decides which forecast earns its place.

Candidates, each forecasting a cell's (business line or agency) complaints next week from its weekly history
(the coming week's calls are taken to be last week's: a real forecast does not know the coming volume):
- naive:    last week's count;
- mean4:    the mean complaint rate of the last 4 weeks × expected calls;
- ewma:     an exponentially weighted rate (alpha from the config) × expected calls;
- poisson:  a per-cell Poisson regression on the last 8 weeks (log calls offset, a trend and the share of calls
            with a QC finding), extrapolated one week.
Model intervals are negative-binomial: variance = φ·μ + μ²/Σx, φ the cell's own over-dispersion around its
mean rate (≥ 1) and the second term the uncertainty of the estimated rate.

`backtest` replays every candidate on each of the last `backtest_weeks` weeks (rolling origin, only earlier
weeks used) and `choose` ships the candidate with the lowest WAPE if it beats naive by at least 10% with 90%
intervals covering 85–95% of outcomes; otherwise the naive forecast is shown, with intervals from the empirical
5% / 95% quantiles of its backtest errors (scaled by √count), and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from qc.attribution.config import ForecastOptions

INTERVAL = 0.9
METHODS = ("naive", "mean4", "ewma", "poisson")
REQUIRED_GAIN = 0.10
COVERAGE = (0.85, 0.95)


@dataclass(frozen=True)
class Backtest:
    weeks: int
    cells: int
    scores: pd.DataFrame   # method, mae, wape, coverage (one row per candidate)
    chosen: str            # the method the hotspots use
    table: pd.DataFrame    # week_start, dimension, value, method, forecast, low, high, actual
    naive_quantiles: tuple[float, float] = (-1.645, 1.645)  # of (actual − naive) / √max(naive, 1)

    def score(self, method: str) -> pd.Series:
        return self.scores.set_index("method").loc[method]

    @property
    def wape(self) -> float:
        return float(self.score(self.chosen)["wape"])

    @property
    def naive_wape(self) -> float:
        return float(self.score("naive")["wape"])

    @property
    def interval_coverage(self) -> float:
        return float(self.score(self.chosen)["coverage"])

    @property
    def mae(self) -> float:
        return float(self.score(self.chosen)["mae"])

    @property
    def naive_mae(self) -> float:
        return float(self.score("naive")["mae"])

    def verdict(self, t) -> str:
        if self.chosen == "naive":
            return t("backtest.verdict.naive")
        return t("backtest.verdict.model", method=t(f"forecast.{self.chosen}"),
                 gain=1 - self.wape / max(self.naive_wape, 1e-12), coverage=self.interval_coverage)


# ---- one cell ---------------------------------------------------------------------------------------------

def _ewma(rates: np.ndarray, alpha: float) -> float:
    level = rates[0]
    for r in rates[1:]:
        level = alpha * r + (1 - alpha) * level
    return float(level)


def _poisson_trend(n: np.ndarray, x: np.ndarray, flagged: np.ndarray) -> float:
    """Rate next week from log μ_t = log n_t + a + b·t (+ c·flagged share); Newton, a few iterations."""
    t = np.arange(len(n), dtype=float) - (len(n) - 1)
    share = np.divide(flagged, n, out=np.zeros_like(flagged), where=n > 0)
    columns = [np.ones_like(t), t] + ([share - share.mean()] if np.ptp(share) > 1e-9 else [])
    X = np.column_stack(columns)
    offset = np.log(np.maximum(n, 1))
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(max(x.sum(), 0.5) / max(n.sum(), 1))
    for _ in range(25):
        mu = np.exp(offset + X @ beta)
        H = (X * mu[:, None]).T @ X + 1e-3 * np.eye(X.shape[1])  # a touch of ridge: a cell of zeros stays finite
        step = np.linalg.solve(H, X.T @ (x - mu) - 1e-3 * beta)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    next_row = np.array([1.0, 1.0] + ([share[-1] - share.mean()] if X.shape[1] == 3 else []))
    return float(np.exp(np.clip(next_row @ beta, -30, 5)))


def _dispersion(n: np.ndarray, x: np.ndarray) -> float:
    """Over-dispersion of a cell's weekly counts around its mean rate (Pearson χ² / df, at least 1)."""
    if len(n) < 3 or x.sum() == 0:
        return 1.0
    rate = x.sum() / max(n.sum(), 1)
    expected = np.maximum(n * rate, 1e-9)
    return float(max(1.0, ((x - expected) ** 2 / expected).sum() / (len(n) - 1)))


def _nb_interval(mean: float, variance: float) -> tuple[float, float]:
    if mean <= 0:
        return 0.0, 0.0
    if variance <= mean * 1.0001:
        dist = scipy_stats.poisson(mean)
    else:
        size = mean ** 2 / (variance - mean)
        dist = scipy_stats.nbinom(size, size / (size + mean))
    return float(dist.ppf((1 - INTERVAL) / 2)), float(dist.ppf((1 + INTERVAL) / 2))


def _forecast_cell(n: np.ndarray, x: np.ndarray, flagged: np.ndarray, alpha: float,
                   naive_quantiles: tuple[float, float]) -> dict[str, tuple[float, float, float]]:
    """method -> (forecast, low, high) for the week after the history (n, x, flagged)."""
    expected_calls = n[-1]
    rates = np.where(n > 0, x / np.maximum(n, 1), np.nan)
    known = ~np.isnan(rates)
    if not known.any():
        return {m: (0.0, 0.0, 0.0) for m in METHODS}
    phi = _dispersion(n[known], x[known])
    out = {}
    naive = float(x[-1])
    root = np.sqrt(max(naive, 1.0))
    out["naive"] = (naive, max(0.0, np.floor(naive + naive_quantiles[0] * root)),
                    np.ceil(naive + naive_quantiles[1] * root))
    last4 = known.copy()
    last4[:-4] = False
    candidates = {"mean4": x[last4].sum() / max(n[last4].sum(), 1) if last4.any() else 0.0,
                  "ewma": _ewma(rates[known], alpha),
                  "poisson": _poisson_trend(n[-8:], x[-8:], flagged[-8:]) if len(n) >= 4 else rates[known][-1]}
    for method, rate in candidates.items():
        mean = float(rate * expected_calls)
        events = x[-8:].sum() if method == "poisson" else (x[last4].sum() if method == "mean4" else x[known].sum())
        variance = phi * mean + mean ** 2 / max(events, 1.0)
        out[method] = (mean, *_nb_interval(mean, variance))
    return out


def _forecast_cells(history: pd.DataFrame, alpha: float, naive_quantiles=(-1.645, 1.645)) -> pd.DataFrame:
    rows = []
    for (dimension, value), cell in history.sort_values("week_start").groupby(["dimension", "value"], sort=False):
        n = cell["calls"].to_numpy(dtype=float)
        x = cell["complaints"].to_numpy(dtype=float)
        flagged = cell["flagged"].to_numpy(dtype=float) if "flagged" in cell else np.zeros_like(n)
        for method, (mean, low, high) in _forecast_cell(n, x, flagged, alpha, naive_quantiles).items():
            rows.append({"dimension": dimension, "value": value, "method": method, "forecast": mean, "low": low,
                         "high": high, "expected_calls": n[-1]})
    return pd.DataFrame(rows, columns=["dimension", "value", "method", "forecast", "low", "high", "expected_calls"])


# ---- backtest and the forecast shipped ---------------------------------------------------------------------

def backtest(weekly: pd.DataFrame, options: ForecastOptions, min_history_weeks: int = 4) -> Backtest | None:
    """Every candidate replayed on each of the last weeks from the weeks before it; the one to ship chosen."""
    weeks = sorted(weekly["week_start"].unique())
    targets = [w for w in weeks[-options.backtest_weeks:] if weeks.index(w) >= min_history_weeks]
    parts = []
    for week in targets:
        predicted = _forecast_cells(weekly[weekly["week_start"] < week], options.ewma_alpha)
        actual = weekly[weekly["week_start"] == week][["dimension", "value", "complaints", "calls"]]
        joined = predicted.merge(actual, on=["dimension", "value"], how="left").fillna({"complaints": 0, "calls": 0})
        parts.append(joined[joined["calls"] > 0].assign(week_start=week).rename(columns={"complaints": "actual"}))
    if not parts or not sum(len(p) for p in parts):
        return None
    table = pd.concat(parts, ignore_index=True)
    naive = table[table["method"] == "naive"]
    ratio = (naive["actual"] - naive["forecast"]) / np.sqrt(naive["forecast"].clip(lower=1))
    quantiles = (float(ratio.quantile((1 - INTERVAL) / 2)), float(ratio.quantile((1 + INTERVAL) / 2)))
    root = np.sqrt(naive["forecast"].clip(lower=1))
    table.loc[naive.index, "low"] = np.maximum(0.0, np.floor(naive["forecast"] + quantiles[0] * root))
    table.loc[naive.index, "high"] = np.ceil(naive["forecast"] + quantiles[1] * root)
    scores = []
    for method in METHODS:
        rows = table[table["method"] == method]
        error = (rows["forecast"] - rows["actual"]).abs()
        inside = (rows["actual"] >= rows["low"]) & (rows["actual"] <= rows["high"])
        scores.append({"method": method, "mae": float(error.mean()),
                       "wape": float(error.sum() / max(float(rows["actual"].sum()), 1.0)),
                       "coverage": float(inside.mean())})
    scores = pd.DataFrame(scores)
    return Backtest(weeks=len(targets), cells=int(table.groupby(["dimension", "value"]).ngroups), scores=scores,
                    chosen=choose(scores), naive_quantiles=quantiles,
                    table=table[["week_start", "dimension", "value", "method", "forecast", "low", "high", "actual"]])


def choose(scores: pd.DataFrame) -> str:
    """The lowest-WAPE candidate that beats naive by REQUIRED_GAIN with coverage in COVERAGE; else naive."""
    naive = float(scores.set_index("method").loc["naive", "wape"])
    fit = scores[(scores["method"] != "naive") & (scores["wape"] <= (1 - REQUIRED_GAIN) * naive)
                 & scores["coverage"].between(*COVERAGE)]
    return str(fit.sort_values("wape").iloc[0]["method"]) if len(fit) else "naive"


def forecast_next_week(weekly: pd.DataFrame, options: ForecastOptions, tested: Backtest | None = None) -> pd.DataFrame:
    """The coming week's expected complaints per cell with the chosen method, highest first (the hotspots)."""
    if weekly.empty:
        return pd.DataFrame(columns=["week_start", "dimension", "value", "method", "forecast", "low", "high",
                                     "expected_calls", "rate_per_1000"])
    method = tested.chosen if tested is not None else "naive"
    quantiles = tested.naive_quantiles if tested is not None else (-1.645, 1.645)
    table = _forecast_cells(weekly, options.ewma_alpha, quantiles)
    table = table[table["method"] == method].copy()
    next_week = pd.Timestamp(weekly["week_start"].max()) + pd.Timedelta(weeks=1)
    table.insert(0, "week_start", next_week)
    table["rate_per_1000"] = 1000 * table["forecast"] / table["expected_calls"].clip(lower=1)
    return table.sort_values("forecast", ascending=False, kind="stable").reset_index(drop=True)
