"""Throughput and per-request latency with and without injected faults, in one run.

The handler runs in this process against the emulator on loopback (AK/SK signed, MAX_CONCURRENCY=10); events
are Kafka batches of 10 requests, each for its own instance. The faulty run spoils 30% of all DDS calls
(500, 503, 429, connection reset, slow past the client timeout, applied-but-answer-lost) and re-invokes the
events the handler asks to retry, as FunctionGraph would. Per-request latency is the result's duration_ms
(resolve + create, retries included). Usage: ``make bench`` or ``python bench/faults.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import handler  # noqa: E402
from dds_backup_dev.context import LocalContext  # noqa: E402
from dds_backup_dev.emulator import EmulatorServer, EmulatorState  # noqa: E402
from dds_backup_dev.emulator.state import Chaos  # noqa: E402

PER_EVENT = 10


def require_loopback(url: str) -> None:
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to benchmark against {url}: only loopback endpoints are allowed")


def run(requests: int, chaos: Chaos | None) -> dict[str, Any]:
    state = EmulatorState.with_fixture(backup_delay=0.0)
    template = next(iter(state.instances.values()))
    for i in range(requests):
        inst = dict(template, id=f"{i:032x}in02", name=f"bench-{i:04d}", tags=[], status="normal", actions=[])
        state.instances[inst["id"]] = inst
    state.chaos = chaos
    latencies: list[float] = []
    invocations = 0
    failed = 0
    with EmulatorServer(state) as emulator:
        require_loopback(emulator.endpoint)
        os.environ.update(emulator.env("aksk"))
        os.environ.update(LOG_LEVEL="ERROR", REQUEST_TIMEOUT_SECONDS="0.5", MAX_CONCURRENCY="10")
        started = time.perf_counter()
        for n in range(0, requests, PER_EVENT):
            messages = [json.dumps({"instance_id": f"{i:032x}in02"}) for i in range(n, min(n + PER_EVENT, requests))]
            event = {"trigger_type": "KAFKA", "event_time": 1795762800 + n, "records": [{"messages": messages}]}
            for _ in range(4):  # the first delivery and up to 3 platform retries
                invocations += 1
                try:
                    result = handler.handler(event, LocalContext(timeout_s=60))
                    break
                except handler.RetryRequested as exc:
                    result = exc.result
            for r in result["results"]:
                latencies.append(r["data"]["duration_ms"])
                failed += r["data"]["outcome"] == "failed"
        elapsed = time.perf_counter() - started
        http = len(state.requests)
    latencies.sort()
    return {
        "throughput": requests / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "invocations": invocations,
        "http": http,
        "failed": failed,
        "faults": sum(chaos.injected.values()) if chaos else 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rate", type=float, default=0.3)
    args = parser.parse_args()
    clean = run(args.requests, None)
    faulty = run(args.requests, Chaos(rate=args.rate, slow_delay=1.0, retry_after="0", seed=7))
    print(f"faults: {args.requests} backup requests, Kafka batches of {PER_EVENT}, MAX_CONCURRENCY=10, loopback")
    print(f"{'':28} {'no faults':>12} {f'{args.rate:.0%} faults':>12} {'ratio':>7}")
    for key, label, unit in (
        ("throughput", "throughput (requests/s)", ""),
        ("p50", "p50 latency", " ms"),
        ("p99", "p99 latency", " ms"),
    ):
        a, b = clean[key], faulty[key]
        print(f"{label:28} {a:>10.1f}{unit:3} {b:>9.1f}{unit:3} {b / a if a else float('nan'):7.2f}")
    for key, label in (
        ("invocations", "invocations (incl. retries)"),
        ("http", "HTTP requests"),
        ("faults", "faults injected"),
        ("failed", "requests failed at the end"),
    ):
        print(f"{label:28} {clean[key]:>12} {faulty[key]:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
