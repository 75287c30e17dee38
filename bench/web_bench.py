"""Load benchmark of the review web app: 10k flagged calls in SQLite, concurrent requests on loopback.

Starts `callqc serve` (one uvicorn process, as deployed) on a free 127.0.0.1 port over a fresh SQLite database
filled with synthetic flagged calls, signs in as a reviewer and drives the queue page (first page, deep pages,
filters) and call pages with a bounded number of concurrent requests and a time limit. Prints p50/p95 latency
per page and the ratio against the sign-in form, a page that renders a template without touching the database
(the framework's own floor in the same run).

    python bench/web_bench.py [--calls 10000] [--requests 300] [--concurrency 1,4] [--max-seconds 180]

The load average is printed with each table: on a shared machine other processes' CPU use shows up as latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from callqc import db  # noqa: E402
from callqc.settings import load_settings  # noqa: E402
from callqc.web.auth import add_user  # noqa: E402
from tests.web_synthetic import RULES, add_synthetic_calls  # noqa: E402

PASSWORD = "bench password 1"


@dataclass(frozen=True)
class Result:
    name: str
    latencies_s: list[float]
    errors: int

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_database(work_dir: Path, calls: int) -> tuple[str, range]:
    url = f"sqlite:///{work_dir / 'bench.db'}"
    db.upgrade(url)
    settings = load_settings(environ={"CALLQC_WORK_DIR": str(work_dir)})
    engine = db.make_engine(url)
    factory = db.session_factory(engine)
    started = time.perf_counter()
    with db.session_scope(factory) as session:
        synthetic = add_synthetic_calls(session, settings, calls, seed=11)
        add_user(session, settings, "bench", PASSWORD, "reviewer")
    print(f"database: {calls} flagged calls, {synthetic.findings} findings, {synthetic.segments} segments "
          f"written in {time.perf_counter() - started:.1f} s")
    engine.dispose()
    return url, synthetic.recording_ids


def queue_paths(rng: random.Random, count: int, pages: int) -> list[str]:
    """First pages, deep pages and filtered pages, as reviewers use them."""
    agencies = ["hengxin", "lianzhong", "qiming", "acme-recovery"]
    choices = [
        lambda: "/queue",
        lambda: f"/queue?page={rng.randint(2, pages)}",
        lambda: f"/queue?agency={rng.choice(agencies)}&status=pending",
        lambda: f"/queue?category={rng.choice(RULES)[1]}",
        lambda: f"/queue?rule={rng.choice(RULES)[0]}&page=2",
        lambda: f"/queue?date_from=2026-10-{rng.randint(1, 20):02d}&date_to=2026-10-{rng.randint(21, 30):02d}",
        lambda: f"/queue?agent={rng.choice(['HE', 'LI', 'QI', 'AC'])}-{rng.randint(100, 139)}",
    ]
    return [rng.choice(choices)() for _ in range(count)]


async def drive(client: httpx.AsyncClient, name: str, paths: list[str], concurrency: int,
                deadline: float) -> Result:
    semaphore = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    errors = 0

    async def one(path: str) -> None:
        nonlocal errors
        async with semaphore:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            try:
                response = await client.get(path)
                if response.status_code != 200:
                    errors += 1
                    return
            except httpx.HTTPError:
                errors += 1
                return
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one(path) for path in paths))
    return Result(name, latencies, errors)


async def run_load(base_url: str, recording_ids: range, requests: int, concurrency: int,
                   max_seconds: float) -> list[Result]:
    rng = random.Random(5)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as reviewer, \
            httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as anonymous:
        form = await reviewer.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        signed_in = await reviewer.post("/login", data={"username": "bench", "password": PASSWORD,
                                                        "csrf_token": token})
        assert signed_in.status_code == 303, signed_in.text
        first = await reviewer.get("/queue")
        total = int(re.search(r'id="total">(\d+)<', first.text).group(1))
        print(f"queue shows {total} flagged calls")
        for warm in ("/queue", f"/calls/{recording_ids[0]}"):
            await reviewer.get(warm)
        await anonymous.get("/login")
        deadline = time.monotonic() + max_seconds
        return [
            await drive(anonymous, "sign-in form (peer)", ["/login"] * requests, concurrency, deadline),
            await drive(reviewer, "queue page", queue_paths(rng, requests, max(2, total // 50)), concurrency,
                        deadline),
            await drive(reviewer, "call page", [f"/calls/{rng.choice(recording_ids)}" for _ in range(requests)],
                        concurrency, deadline),
        ]


def report(results: list[Result], concurrency: int, load_before: float, load_after: float) -> None:
    peer = results[0]
    print(f"\nconcurrency {concurrency}, latency measured by the client on loopback; "
          f"{os.cpu_count()} CPUs, 1-min load average {load_before:.1f} before, {load_after:.1f} after")
    print(f"{'page':<22}{'n':>6}{'err':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'mean ms':>9}{'p50/peer':>10}")
    for result in results:
        if not result.latencies_s:
            print(f"{result.name:<22} no completed requests ({result.errors} errors)")
            continue
        p50, p95 = result.percentile(0.5) * 1000, result.percentile(0.95) * 1000
        mean = statistics.fmean(result.latencies_s) * 1000
        ratio = p50 / (peer.percentile(0.5) * 1000)
        print(f"{result.name:<22}{len(result.latencies_s):>6}{result.errors:>5}{p50:>9.1f}{p95:>9.1f}"
              f"{max(result.latencies_s) * 1000:>9.1f}{mean:>9.1f}{ratio:>10.2f}")
    queue = results[1]
    if queue.latencies_s:
        p95 = queue.percentile(0.95) * 1000
        print(f"\nqueue page p95 {p95:.1f} ms — target < 200 ms: {'met' if p95 < 200 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="requests per page kind")
    parser.add_argument("--concurrency", default="1,4", help="comma-separated levels, each run in turn")
    parser.add_argument("--max-seconds", type=float, default=180, help="stop sending after this long")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="callqc-web-bench-") as tmp:
        work_dir = Path(tmp)
        url, recording_ids = build_database(work_dir, args.calls)
        port = _free_port()
        env = {**os.environ, "CALLQC_DATABASE__URL": url, "CALLQC_WORK_DIR": str(work_dir)}
        env.pop("CALLQC_ADMIN_PASSWORD", None)
        server_log = (work_dir / "server.log").open("w")
        server = subprocess.Popen([sys.executable, "-m", "callqc.cli", "serve", "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, cwd=REPO_ROOT,
                                  stdout=subprocess.DEVNULL, stderr=server_log)
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base_url}/login", timeout=2)
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("server did not start: " + (work_dir / "server.log").read_text())
                    time.sleep(0.2)
            runs = []
            for level in [int(v) for v in args.concurrency.split(",")]:
                load_before = os.getloadavg()[0]
                results = asyncio.run(run_load(base_url, recording_ids, args.requests, level, args.max_seconds))
                runs.append((level, results, load_before, os.getloadavg()[0]))
        finally:
            server.terminate()
            server.wait(timeout=10)
            server_log.close()
    for level, results, load_before, load_after in runs:
        report(results, level, load_before, load_after)


if __name__ == "__main__":
    main()
