"""Complaint statistics over a call-level frame: rates per 1,000 calls, relative risks, a logistic model.

The call-level frame has one row per call with its factors (agency, agent_id, product, delinquency_bucket),
one boolean column per violation category (`v:<category>`), and `complaints` (complaints attributed to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

VIOLATION_PREFIX = "v:"


def z_value(confidence: float) -> float:
    return float(scipy_stats.norm.ppf(0.5 + confidence / 2))


def relative_risk(a: np.ndarray, n1: np.ndarray, c: np.ndarray, n0: np.ndarray,
                  confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RR of exposed (a events in n1) vs unexposed (c in n0) with the log-RR Wald interval.

    A zero cell gets the usual 0.5 continuity correction so the interval stays finite.
    """
    a, n1, c, n0 = (np.asarray(x, dtype=float) for x in (a, n1, c, n0))
    zero = (a == 0) | (c == 0)
    a, c = np.where(zero, a + 0.5, a), np.where(zero, c + 0.5, c)
    n1, n0 = np.where(zero, n1 + 1, n1), np.where(zero, n0 + 1, n0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = (a / n1) / (c / n0)
        se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    z = z_value(confidence)
    return rr, rr * np.exp(-z * se), rr * np.exp(z * se)


def _insufficient(*complaint_counts, min_complaints: int) -> np.ndarray:
    """True where a comparison has fewer than `min_complaints` complaints on either side: no RR is shown there."""
    return np.any([np.asarray(c, dtype=float) < min_complaints for c in complaint_counts], axis=0)


def rate_table(calls: pd.DataFrame, dimension: str, confidence: float = 0.95, min_complaints: int = 5) -> pd.DataFrame:
    """Calls, complaints and complaints per 1,000 calls for each value of a dimension, with RR vs the rest.

    `sufficient` is False (and the RR and its interval NaN) where the value or the rest has fewer than
    `min_complaints` complaints: a ratio of two tiny counts is noise, however it is corrected.
    """
    grouped = calls.groupby(dimension, observed=True, dropna=False)["complaints"].agg(["size", "sum"])
    grouped.columns = ["calls", "complaints"]
    total_calls, total_complaints = grouped["calls"].sum(), grouped["complaints"].sum()
    rest_calls = total_calls - grouped["calls"]
    rest_complaints = total_complaints - grouped["complaints"]
    rr, low, high = relative_risk(grouped["complaints"], grouped["calls"], rest_complaints, rest_calls.clip(lower=1),
                                  confidence)
    thin = _insufficient(grouped["complaints"], rest_complaints, min_complaints=min_complaints)
    rr, low, high = (np.where(thin, np.nan, v) for v in (rr, low, high))
    table = grouped.assign(rate_per_1000=1000 * grouped["complaints"] / grouped["calls"],
                           rest_calls=rest_calls, rest_complaints=rest_complaints,
                           rr_vs_rest=rr, rr_low=low, rr_high=high, sufficient=~thin).reset_index()
    table = table.rename(columns={dimension: "value"})
    table["value"] = table["value"].fillna("(未知)").astype(str)
    return table.sort_values("rate_per_1000", ascending=False, kind="stable").reset_index(drop=True)


def violation_table(calls: pd.DataFrame, confidence: float = 0.95, min_complaints: int = 5) -> pd.DataFrame:
    """Per violation category: complaint rate with vs without it and the relative risk with its CI (NaN, and
    `sufficient` False, where either side has fewer than `min_complaints` complaints)."""
    y = calls["complaints"].to_numpy(dtype=float)
    total_calls, total_complaints = len(calls), y.sum()
    rows = []
    for column in [c for c in calls.columns if c.startswith(VIOLATION_PREFIX)]:
        exposed = calls[column].to_numpy(dtype=bool)
        n1, a = int(exposed.sum()), float(y[exposed].sum())
        rows.append({"category": column[len(VIOLATION_PREFIX):], "calls_with": n1, "complaints_with": a,
                     "calls_without": total_calls - n1, "complaints_without": total_complaints - a})
    table = pd.DataFrame(rows, columns=["category", "calls_with", "complaints_with", "calls_without",
                                        "complaints_without"])
    if table.empty:
        return table.assign(rate_with=[], rate_without=[], rr=[], rr_low=[], rr_high=[], sufficient=[])
    rr, low, high = relative_risk(table["complaints_with"], table["calls_with"].clip(lower=1),
                                  table["complaints_without"], table["calls_without"].clip(lower=1), confidence)
    thin = _insufficient(table["complaints_with"], table["complaints_without"], min_complaints=min_complaints)
    table["rate_with"] = 1000 * table["complaints_with"] / table["calls_with"].clip(lower=1)
    table["rate_without"] = 1000 * table["complaints_without"] / table["calls_without"].clip(lower=1)
    table["rr"], table["rr_low"], table["rr_high"] = (np.where(thin, np.nan, v) for v in (rr, low, high))
    table["sufficient"] = ~thin
    return table.sort_values(["sufficient", "rr"], ascending=[False, False], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class ModelFit:
    terms: pd.DataFrame    # factor, level, reference, kind, coef, odds_ratio, or_low, or_high, p_value, calls,
    #                        complaints, excess, share
    factors: pd.DataFrame  # factor, excess, share (of all complaints)
    n_calls: int
    n_complained: int
    converged: bool
    method: str            # "penalised-logit" or a reason it was not fitted: "no-calls", "no-complaints"
    pooled_sd: dict[str, float] = field(default_factory=dict)  # partially pooled factor -> its estimated SD


TERM_COLUMNS = ["factor", "level", "reference", "kind", "coef", "odds_ratio", "or_low", "or_high", "p_value",
                "calls", "complaints", "excess"]
# candidate SDs of a partially pooled factor's log odds ratios; the one with the highest (Laplace) marginal
# likelihood is used. The smallest is "all levels alike": a factor without real differences is pooled away.
POOLED_SD_GRID = (0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3, 1.7)
FIXED_RIDGE = 1e-4  # keeps a level without complaints finite (its interval is then very wide, never "above 1")


def _design(calls: pd.DataFrame, factors: tuple[str, ...], min_calls: int) -> tuple[pd.DataFrame, list[dict]]:
    """Dummy columns: each categorical factor against its most common level; rare levels pooled into 其他."""
    columns: dict[str, np.ndarray] = {}
    meta: list[dict] = []
    for factor in factors:
        values = calls[factor].fillna("(未知)").astype(str)
        counts = values.value_counts()
        rare = counts.index[counts < min_calls]
        if len(rare):
            values = values.where(~values.isin(rare), "其他(小样本)")
        codes, levels = pd.factorize(values, sort=True)
        if len(levels) < 2:
            continue
        # The most common level is the reference: picking the lowest-rate one would select on noise and make
        # every other level look harmful once the sample is large.
        reference = int(np.argmax(np.bincount(codes, minlength=len(levels))))
        for k, level in enumerate(levels):
            if k == reference:
                continue
            columns[f"{factor}={level}"] = (codes == k).astype(float)
            meta.append({"factor": factor, "level": str(level), "reference": str(levels[reference]),
                         "kind": "factor"})
    for column in [c for c in calls.columns if c.startswith(VIOLATION_PREFIX)]:
        exposed = calls[column].to_numpy(dtype=float)
        if exposed.sum() < 1 or exposed.sum() == len(exposed):
            continue
        columns[column] = exposed
        meta.append({"factor": "violation", "level": column[len(VIOLATION_PREFIX):], "reference": "",
                     "kind": "violation"})
    return pd.DataFrame(columns, index=calls.index), meta


def _groups(calls: pd.DataFrame, factor: str, nested_in: str | None) -> tuple[np.ndarray, list[dict]]:
    """Group index per call of a partially pooled factor (an agent within its agency) and each group's meta."""
    level = calls[factor].fillna("(未知)").astype(str)
    parent = calls[nested_in].fillna("(未知)").astype(str) if nested_in else pd.Series("", index=calls.index)
    codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([parent, level]), sort=True)
    meta = [{"factor": factor, "level": str(lvl), "reference": str(par), "kind": "pooled"} for par, lvl in uniques]
    return codes.astype(np.int64), meta


def _aggregate(fixed: np.ndarray, group: np.ndarray, y: np.ndarray):
    """Collapse calls with the same 0/1 fixed design row and group into one binomial pattern."""
    if fixed.shape[1] <= 40:
        code = (fixed.astype(np.int64) << np.arange(fixed.shape[1], dtype=np.int64)).sum(axis=1)
        key = code * (int(group.max()) + 1 if len(group) else 1) + group
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(np.column_stack([fixed, group]), axis=0, return_index=True,
                                      return_inverse=True)
    inverse = inverse.ravel()
    trials = np.bincount(inverse, minlength=len(first)).astype(float)
    events = np.bincount(inverse, weights=y, minlength=len(first))
    return fixed[first].astype(float), group[first], trials, events


@dataclass
class _Fit:
    beta: np.ndarray   # intercept + fixed terms
    u: np.ndarray      # one per group
    var: np.ndarray    # posterior variances of (beta, u)
    loglik: float
    converged: bool


def _penalised_logit(X: np.ndarray, g: np.ndarray, q: int, trials: np.ndarray, events: np.ndarray,
                     lam: float, start: _Fit | None = None, max_iter: int = 60) -> _Fit:
    """Newton-Raphson for a binomial logit with fixed terms X and group deviations u ~ N(0, 1/lam).

    The Hessian is an arrow: a small fixed block, a diagonal group block (each pattern is in one group) and
    their cross terms. It is solved through the fixed block's Schur complement, so thousands of agents cost
    no more than a p × p solve.
    """
    p = X.shape[1]
    beta = start.beta.copy() if start is not None else np.zeros(p)
    u = start.u.copy() if start is not None else np.zeros(q)
    if start is None:
        beta[0] = np.log(max(events.sum(), 0.5) / max(trials.sum() - events.sum(), 0.5))
    ridge = np.full(p, FIXED_RIDGE)
    ridge[0] = 0.0

    def objective(b, v):
        eta = X @ b + (v[g] if q else 0.0)
        ll = float((events * eta - trials * np.logaddexp(0.0, eta)).sum())
        return ll - 0.5 * lam * float(v @ v) - 0.5 * float((ridge * b * b).sum()), ll

    current, loglik = objective(beta, u)
    converged = False
    for _ in range(max_iter):
        eta = X @ beta + (u[g] if q else 0.0)
        mu = 1.0 / (1.0 + np.exp(-eta))
        r = events - trials * mu
        blocks = _hessian(X, g, q, trials * mu * (1 - mu), lam, ridge)
        grad_u = np.bincount(g, weights=r, minlength=q) - lam * u if q else np.zeros(0)
        step_beta, step_u = _arrow_solve(blocks, X.T @ r - ridge * beta, grad_u)
        size = 1.0
        while True:
            new_beta, new_u = beta + size * step_beta, u + size * step_u
            value, new_ll = objective(new_beta, new_u)
            if value >= current - 1e-10 or size < 1e-4:
                break
            size /= 2
        gain = value - current
        beta, u, current, loglik = new_beta, new_u, value, new_ll
        if abs(gain) < 1e-8 * (1 + abs(current)):
            converged = True
            break
    eta = X @ beta + (u[g] if q else 0.0)
    mu = 1.0 / (1.0 + np.exp(-eta))
    return _Fit(beta, u, _arrow_variances(_hessian(X, g, q, trials * mu * (1 - mu), lam, ridge)), loglik, converged)


def _hessian(X, g, q, w, lam, ridge):
    """(A, B, d): the fixed block, the fixed × group cross block and the group block's diagonal."""
    A = (X * w[:, None]).T @ X + np.diag(ridge)
    if not q:
        return A, np.zeros((X.shape[1], 0)), np.zeros(0)
    B = np.stack([np.bincount(g, weights=w * X[:, k], minlength=q) for k in range(X.shape[1])])
    return A, B, np.bincount(g, weights=w, minlength=q) + lam


def _arrow_solve(blocks, grad_beta, grad_u):
    A, B, d = blocks
    scaled = B / d if len(d) else B
    schur = A - scaled @ B.T
    step_beta = np.linalg.solve(schur, grad_beta - scaled @ grad_u)
    step_u = (grad_u - B.T @ step_beta) / d if len(d) else np.zeros(0)
    return step_beta, step_u


def _arrow_variances(blocks) -> np.ndarray:
    """The diagonal of the inverse Hessian (the posterior variances) without forming the full inverse."""
    A, B, d = blocks
    scaled = B / d if len(d) else B
    schur_inverse = np.linalg.inv(A - scaled @ B.T)
    var_u = 1 / d + np.einsum("ij,ij->j", scaled, schur_inverse @ scaled) if len(d) else np.zeros(0)
    return np.concatenate([np.diag(schur_inverse), var_u])


def _laplace_evidence(fit: _Fit, X, g, q, trials, lam) -> float:
    """log ∫ L(β, u) N(u; 0, 1/lam) du at β̂ (Laplace): what chooses the pooled factor's SD."""
    eta = X @ fit.beta + fit.u[g]
    mu = 1.0 / (1.0 + np.exp(-eta))
    diag = np.bincount(g, weights=trials * mu * (1 - mu), minlength=q) + lam
    return fit.loglik - 0.5 * lam * float(fit.u @ fit.u) + 0.5 * q * np.log(lam) - 0.5 * float(np.log(diag).sum())


def fit_complaint_model(calls: pd.DataFrame, factors: tuple[str, ...], min_calls: int = 200,
                        confidence: float = 0.95, pooled: tuple[str, ...] = (), nested_in: str | None = None,
                        pooled_sd_min: float = 0.5) -> ModelFit:
    """Logistic regression of "the call drew a complaint" on the factors, the violation indicators and, with
    partial pooling, the `pooled` factor (an agent, nested in `nested_in`, his agency).

    Fixed terms: each categorical factor against its most common level (rare levels pooled into 其他), each
    violation against its absence. The pooled factor's levels are deviations from their parent's fixed effect,
    u ~ N(0, σ²), σ chosen by the Laplace approximation to the marginal likelihood over POOLED_SD_GRID: an agent
    with few calls is pulled towards his agency, so a low-volume agent with two unlucky complaints is not
    flagged, and one agent's excess is his, not his whole agency's. Intervals are from the posterior curvature.

    Every regressor is 0/1 (plus the group), so the calls collapse into covariate patterns and the model is fitted
    on (complained, not complained) counts per pattern — the same estimates as per call, in milliseconds for 1M
    calls. Each term's excess complaints = Σ over its calls of p̂ − p̂(term switched off); shares are of all
    complaints on the modelled calls; a factor's share sums its terms whose interval lies above 1.
    """
    y = calls["complained"].to_numpy(dtype=float)
    pooled = tuple(f for f in pooled if f in calls.columns)
    if len(calls) == 0 or y.sum() == 0 or y.sum() == len(y):  # nothing to explain: no model, no excess
        return ModelFit(terms=pd.DataFrame(columns=TERM_COLUMNS + ["share"]),
                        factors=pd.DataFrame(columns=["factor", "excess", "share"]), n_calls=len(calls),
                        n_complained=int(y.sum()), converged=False,
                        method="no-calls" if len(calls) == 0 else "no-complaints")
    design, meta = _design(calls, tuple(f for f in factors if f not in pooled), min_calls)
    if pooled:
        group, group_meta = _groups(calls, pooled[0], nested_in)
    else:
        group, group_meta = np.zeros(len(calls), dtype=np.int64), []
    q = len(group_meta) if len(group_meta) > 1 else 0
    fixed, g, trials, events = _aggregate(design.to_numpy(dtype=np.uint8), group if q else np.zeros_like(group), y)
    X = np.column_stack([np.ones(len(fixed)), fixed])
    pooled_sd: dict[str, float] = {}
    if q:
        best, previous = None, None
        for sd in [sd for sd in POOLED_SD_GRID if sd >= pooled_sd_min] or [pooled_sd_min]:
            fit = _penalised_logit(X, g, q, trials, events, 1 / sd ** 2, start=previous)
            evidence = _laplace_evidence(fit, X, g, q, trials, 1 / sd ** 2)
            previous = fit
            if best is None or evidence > best[0]:
                best = (evidence, sd, fit)
        _, sd, fit = best
        pooled_sd[pooled[0]] = sd
    else:
        fit = _penalised_logit(X, g, 0, trials, events, 1.0)
    coef = np.concatenate([fit.beta, fit.u])
    se = np.sqrt(np.clip(fit.var, 0, None))
    eta = X @ fit.beta + (fit.u[g] if q else 0.0)
    p_hat = 1 / (1 + np.exp(-eta))
    z = z_value(confidence)
    rows = []
    columns = [(j, info, X[:, j] > 0) for j, info in enumerate(meta, start=1)]
    columns += [(X.shape[1] + k, info, g == k) for k, info in enumerate(group_meta if q else [])]
    for j, info, on in columns:
        p_off = 1 / (1 + np.exp(-(eta[on] - coef[j])))
        excess = float((trials[on] * (p_hat[on] - p_off)).sum())
        p_value = float(2 * scipy_stats.norm.sf(abs(coef[j]) / se[j])) if se[j] > 0 else float("nan")
        width = z * se[j]  # partial pooling is the multiplicity guard for agents: no Bonferroni on top
        rows.append({**info, "coef": float(coef[j]), "odds_ratio": float(np.exp(coef[j])),
                     "or_low": float(np.exp(coef[j] - width)), "or_high": float(np.exp(coef[j] + width)),
                     "p_value": p_value, "calls": int(trials[on].sum()), "complaints": int(events[on].sum()),
                     "excess": excess})
    terms = pd.DataFrame(rows, columns=TERM_COLUMNS)
    total = max(float(y.sum()), 1.0)
    terms["share"] = terms["excess"] / total
    # Only terms whose interval lies above 1 count: against the lowest-rate reference level, the noise of every
    # other level would otherwise add up to a sizeable "excess" for a factor with no effect at all.
    significant = terms["or_low"] > 1
    factor_table = (terms.assign(excess=terms["excess"].where(significant, 0.0).clip(lower=0))
                    .groupby("factor", sort=False)["excess"].sum().reset_index())
    factor_table["share"] = factor_table["excess"] / total
    return ModelFit(terms=terms, factors=factor_table.sort_values("excess", ascending=False).reset_index(drop=True),
                    n_calls=len(calls), n_complained=int(y.sum()), converged=fit.converged,
                    method="penalised-logit", pooled_sd=pooled_sd)
