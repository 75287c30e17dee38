"""Complaint classification and complaint → call → finding linking, on whole DataFrames.

Frames (one row each; times are naive local times, see callqc.attribution.load_frames):
  calls:      recording_id, call_id, agency, agent_id, account_id, product, delinquency_bucket, started_at
  findings:   recording_id, category, severity, status        (rejected findings are left out by the loader)
  complaints: complaint_id, complaint_no, account_id, received_at, channel, complaint_type, business_type,
              content, agency
A complaint is linked to every call on its account in the `lookback_days` before it was received; it is
*attributed* to the most recent of those calls (the call the customer reacted to), which is what the per-call
complaint rates count, so each complaint is counted once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qc.attribution.config import AttributionConfig

UNCLASSIFIED = "其他"


def _normalise(texts: pd.Series) -> pd.Series:
    """Full-width → half-width (NFKC), case folded, whitespace removed: what keyword counting needs."""
    return (texts.fillna("").map(lambda t: unicodedata.normalize("NFKC", t)).str.casefold()
            .str.replace(r"\s+", "", regex=True))


def classify_complaints(texts: pd.Series, config: AttributionConfig) -> pd.Series:
    """The complaint category of each text: the category with the most keyword hits (config order breaks ties)."""
    normalised = _normalise(texts.astype("string").fillna(""))
    categories = [c for c in config.complaint_categories if c.keywords]
    if not categories or normalised.empty:
        return pd.Series(UNCLASSIFIED, index=texts.index, dtype=object)
    hits = np.zeros((len(normalised), len(categories)), dtype=np.int32)
    for j, category in enumerate(categories):
        keywords = _normalise(pd.Series(category.keywords)).tolist()
        for keyword in keywords:
            if keyword:
                hits[:, j] += normalised.str.count(_escape(keyword)).to_numpy(dtype=np.int32)
    best = hits.argmax(axis=1)
    names = np.array([c.name for c in categories], dtype=object)
    return pd.Series(np.where(hits.max(axis=1) > 0, names[best], UNCLASSIFIED), index=texts.index, dtype=object)


def _escape(keyword: str) -> str:
    import re

    return re.escape(keyword)


@dataclass(frozen=True)
class Links:
    links: pd.DataFrame       # complaint_id, recording_id, days_before, attributed (bool)
    attributed: pd.DataFrame  # complaint_id -> recording_id of its most recent linked call, days_before
    finding_categories: pd.DataFrame  # recording_id, categories (tuple of finding categories on the call)


def link_complaints(calls: pd.DataFrame, findings: pd.DataFrame, complaints: pd.DataFrame,
                    lookback_days: int) -> Links:
    """Join complaints to the account's calls in the look-back window (a vectorised merge, no per-row work)."""
    pairs = complaints[["complaint_id", "account_id", "received_at"]].merge(
        calls[["recording_id", "account_id", "started_at"]], on="account_id", how="inner")
    days_before = (pairs["received_at"] - pairs["started_at"]).dt.total_seconds() / 86400.0
    in_window = (days_before >= 0) & (days_before <= lookback_days)
    links = pd.DataFrame({"complaint_id": pairs["complaint_id"].to_numpy()[in_window.to_numpy()],
                          "recording_id": pairs["recording_id"].to_numpy()[in_window.to_numpy()],
                          "days_before": days_before.to_numpy()[in_window.to_numpy()]})
    links = links.sort_values(["complaint_id", "days_before", "recording_id"], kind="stable")
    links["attributed"] = ~links["complaint_id"].duplicated()
    attributed = links.loc[links["attributed"], ["complaint_id", "recording_id", "days_before"]]
    linked_calls = findings[findings["recording_id"].isin(links["recording_id"].unique())]
    categories = (linked_calls.groupby("recording_id")["category"]
                  .agg(lambda s: tuple(sorted(set(s)))).rename("categories").reset_index())
    return Links(links=links.reset_index(drop=True), attributed=attributed.reset_index(drop=True),
                 finding_categories=categories)


def cross_check(complaints: pd.DataFrame, links: Links, config: AttributionConfig) -> pd.DataFrame:
    """Per complaint category: how many complaints a QC finding on a linked call confirms, how many have no call.

    A complaint nobody's findings confirm points at a violation QC missed (or a complaint about something else).
    """
    categories = links.links.merge(links.finding_categories, on="recording_id", how="left")
    per_complaint = (categories.dropna(subset=["categories"]).groupby("complaint_id")["categories"]
                     .agg(lambda s: set().union(*s)))
    linked_ids = set(links.links["complaint_id"].unique())
    expected = {c.name: set(c.findings) for c in config.complaint_categories}
    rows = []
    for name, group in complaints.groupby("category", sort=False):
        wanted = expected.get(name, set())
        found = group["complaint_id"].map(per_complaint)
        confirmed = found.map(lambda f: bool(wanted & f) if isinstance(f, set) else False)
        linked = group["complaint_id"].isin(linked_ids)
        rows.append({"complaint_category": name, "complaints": len(group), "linked": int(linked.sum()),
                     "no_call_in_window": int((~linked).sum()),
                     "confirmed_by_finding": int(confirmed.sum()) if wanted else None,
                     "confirmed_share": round(float(confirmed.sum()) / max(int(linked.sum()), 1), 3)
                     if wanted else None})
    table = pd.DataFrame(rows, columns=["complaint_category", "complaints", "linked", "no_call_in_window",
                                        "confirmed_by_finding", "confirmed_share"])
    return table.sort_values("complaints", ascending=False, kind="stable").reset_index(drop=True)
