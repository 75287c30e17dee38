"""Attribution end to end on 1M calls + 20k complaints: generate, link, classify, rate, model, warn, forecast,
render HTML + Excel. Target: under 30 s on the 2-core CI machine.

Also prints the hotspot-forecast backtest of every candidate (naive, mean of 4 weeks, EWMA, Poisson regression)
and which one the report ships.

Peer in the same run: linking done per complaint in Python (a dict of each account's calls, one loop per
complaint — what per-row ORM code does at best), against the vectorised merge `link_complaints` uses.

    python bench/attribution_bench.py [--calls 1000000] [--complaints 20000] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from datetime import timedelta

from qc.attribution import Frames, analyse
from qc.attribution.config import load_attribution_config
from qc.attribution.linking import link_complaints
from qc.attribution.synthetic import PopulationSpec, generate_population
from qc.reports import render_report


def link_per_complaint(calls, complaints, lookback_days: int) -> int:
    by_account = defaultdict(list)
    for recording_id, account, started in zip(calls["recording_id"], calls["account_id"], calls["started_at"]):
        by_account[account].append((started, recording_id))
    window = timedelta(days=lookback_days)
    links = 0
    for account, received in zip(complaints["account_id"], complaints["received_at"]):
        for started, _recording in by_account.get(account, ()):
            if received - window <= started <= received:
                links += 1
    return links


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    config = load_attribution_config()

    t0 = time.perf_counter()
    population = generate_population(PopulationSpec(n_calls=args.calls, n_agents=max(200, args.calls // 250),
                                                    target_complaints=args.complaints))
    t1 = time.perf_counter()
    frames = Frames(population.calls, population.findings, population.complaints.drop(columns=["cause"]))
    result = analyse(frames, population.spec.start, population.end - timedelta(days=1), config)
    t2 = time.perf_counter()
    out = args.out or tempfile.mkdtemp(prefix="attribution-bench-")
    paths = render_report(result, out)
    t3 = time.perf_counter()

    vector_start = time.perf_counter()
    vector_links = len(link_complaints(frames.calls, frames.findings, frames.complaints, config.lookback_days).links)
    vector_s = time.perf_counter() - vector_start
    loop_start = time.perf_counter()
    loop_links = link_per_complaint(frames.calls, frames.complaints, config.lookback_days)
    loop_s = time.perf_counter() - loop_start
    assert loop_links == vector_links, (loop_links, vector_links)

    print(f"population: {len(population.calls):,} calls, {len(population.findings):,} findings, "
          f"{len(population.complaints):,} complaints, {population.calls['agent_id'].nunique():,} agents")
    print(f"generate           {t1 - t0:7.2f} s")
    print(f"analyse            {t2 - t1:7.2f} s   (link, classify, rates, RR, logistic model, warnings, forecast)")
    print(f"render html+xlsx   {t3 - t2:7.2f} s   -> {paths.html.name}, {paths.xlsx.name}")
    print(f"end to end         {t3 - t0:7.2f} s   (target < 30 s)")
    print(f"linking: vectorised {vector_s:.2f} s vs per-complaint loop {loop_s:.2f} s "
          f"({vector_links:,} links) -> {loop_s / vector_s:.1f}x")
    if result.backtest is not None:
        b = result.backtest
        print(f"forecast backtest ({b.weeks} weeks x {b.cells} cells, rolling origin; business lines and agencies):")
        for row in b.scores.itertuples(index=False):
            print(f"  {row.method:8s} WAPE {row.wape:.3f} ({row.wape / max(b.naive_wape, 1e-12):.2f}x naive)  "
                  f"MAE {row.mae:7.2f}  90% interval coverage {row.coverage:.2f}"
                  + ("   <- shipped" if row.method == b.chosen else ""))
        print(f"  rule: ship the best candidate beating naive by >= 10% WAPE with coverage 0.85-0.95; else naive "
              f"with empirical intervals -> {b.chosen}")
    rr = result.violations.set_index("category")
    for category, planted in (("threat", population.spec.rr_threat),
                              ("third_party_disclosure", population.spec.rr_third_party)):
        row = rr.loc[category]
        print(f"RR {category}: {row['rr']:.2f} [{row['rr_low']:.2f}, {row['rr_high']:.2f}] planted {planted}")
    print("root causes:", ", ".join(f"[{c.level_label}] {c.label} (OR {c.odds_ratio:.2f})" for c in result.root_causes[:5]))
    print("warnings:", ", ".join(f"{w.value}@{w.week_start}" for w in result.warnings) or "none")


if __name__ == "__main__":
    main()
