"""At the platform's ceiling: one timer event for N instances against an API that allows R calls a second.

The emulator throttles each tenant with a token bucket of R calls a second (bursts of up to a second's worth) and
answers 429 ``DBS.280443`` beyond it, as DDS does; every answer takes 50 ms. It runs in this process, the function
in a fresh one (the handler from this tree, MAX_CONCURRENCY at its default, a 120 s timeout), on loopback.

Per row: backups created and failed, the share of DDS calls that were throttled, and the invocation's wall time
against the floor, the least time R calls a second allow for the calls that were accepted (calls / R). Goals: 0
failed, at most 15% throttled, wall at most 1.3x the floor + 1 s. ``--against REV`` runs the same rows with the
handler of another revision (extracted with ``git archive``), for a before/after in one run.

Usage: ``make bench`` or ``python bench/ceiling.py [--runs N] [--against REV]``. Refuses any endpoint but loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, require_loopback, tree_at
from dds_backup_dev.emulator import EmulatorServer, EmulatorState

LATENCY = 0.05
#: (instances, calls a second the API allows)
CASES = ((300, 40.0), (100, 10.0))
TIMEOUT_S = 120

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import handler
from dds_backup_dev.context import LocalContext
event = {"version": "v1.0", "time": sys.argv[2], "trigger_type": "TIMER", "trigger_name": "ceiling",
         "user_event": json.dumps({"selector": {"tags": {"fleet": "bench"}}})}
started = time.perf_counter()
try:
    result = handler.handler(event, LocalContext(timeout_s=int(sys.argv[3])))
except handler.RetryRequested as exc:
    result = exc.result
print(json.dumps({"wall": time.perf_counter() - started, "summary": result["summary"]}))
"""


def one(tree: Path, instances: int, rate: float, n: int) -> dict[str, Any]:
    state = EmulatorState.with_fixture(backup_delay=0.0, latency=LATENCY, rate_limit=rate)
    state.add_synthetic_instances(instances)
    with EmulatorServer(state) as emulator:
        require_loopback(emulator.endpoint)
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "HUAWEICLOUD_", "DDS_", "IAM_"))}
        env = {**keep, **emulator.env("aksk"), "LOG_LEVEL": "ERROR", "PYTHONPATH": str(tree)}
        when = f"2027-02-01T{n // 60 % 24:02d}:{n % 60:02d}:00+00:00"
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(tree), when, str(TIMEOUT_S)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tree,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"benchmark child failed:\n{proc.stderr[-3000:]}")
        out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        dds = [r for r in state.requests if r.path.startswith("/v3/") and not r.path.startswith("/v3/auth/")]
    throttled = sum(r.status == 429 for r in dds)
    accepted = len(dds) - throttled
    summary = out["summary"]
    return {
        "created": summary["created"] + summary["exists"],
        "failed": summary["failed"],
        "calls": len(dds),
        "throttled": throttled / len(dds) if dds else 0.0,
        "wall": out["wall"],
        "floor": accepted / rate,
    }


def report(label: str, rows: dict[tuple[int, float], list[dict[str, Any]]]) -> None:
    print(f"{label}")
    print(
        f"  {'instances @ calls/s':22} {'created':>8} {'failed':>7} {'calls':>6} {'throttled':>10} {'wall':>8}"
        f" {'floor':>7} {'wall/floor':>10}  goal: 0 failed, <= 15% throttled, wall <= 1.3x floor + 1 s"
    )
    for (instances, rate), samples in rows.items():

        def med(key: str, samples: list[dict[str, Any]] = samples) -> float:
            return float(statistics.median(s[key] for s in samples))

        wall, floor = med("wall"), med("floor")
        met = max(s["failed"] for s in samples) == 0 and med("throttled") <= 0.15 and wall <= 1.3 * floor + 1.0
        print(
            f"  {f'{instances} @ {rate:g}':22} {med('created'):8.0f} {med('failed'):7.0f} {med('calls'):6.0f}"
            f" {med('throttled'):10.1%} {wall:7.2f}s {floor:6.2f}s {wall / floor:10.2f}  {'met' if met else 'NOT met'}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", help="also run the handler of this git revision (before/after)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": ROOT}
        if args.against:
            trees = {f"before ({args.against})": tree_at(args.against, Path(tmp) / "before"), **trees}
        results: dict[str, dict[tuple[int, float], list[dict[str, Any]]]] = {t: {c: [] for c in CASES} for t in trees}
        n = 0
        for _ in range(args.runs):  # the trees interleaved, so that machine noise hits them alike
            for case in CASES:
                for label, tree in trees.items():
                    n += 1
                    results[label][case].append(one(tree, *case, n))
    print(
        f"at the ceiling: one timer event, {LATENCY * 1000:.0f} ms per answer, MAX_CONCURRENCY default, "
        f"{args.runs} runs per row, median; load average {os.getloadavg()[0]:.1f}"
    )
    for label, rows in results.items():
        report(label, rows)
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - started:.0f} s)")
    sys.exit(code)
