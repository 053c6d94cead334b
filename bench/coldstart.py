"""Cold start: what our own code adds on top of the three runtime libraries.

Each sample is a fresh Python process (as a FunctionGraph cold start is). Two measurements, each against a
baseline measured in the same run, interleaved so that machine noise hits both alike:

* import: ``import handler`` vs importing what it uses of aiohttp, pydantic and python-json-logger (in-process);
* cold invocation: a process that imports the handler and serves one timer event against the emulator (over
  loopback HTTP, AK/SK signed), vs a process that only imports the three libraries (whole-process wall time).

Target (issue 2): our code adds at most 30% to the libraries' import time, i.e. ratio <= 1.30.
Usage: ``make bench`` or ``python bench/coldstart.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dds_backup_dev.emulator import EmulatorServer, EmulatorState  # noqa: E402

# What the handler uses of each library. ``import pydantic`` alone is lazy (pydantic 2 loads BaseModel on first
# access), so it would leave pydantic's real import cost on our side of the ratio.
LIBS = "import aiohttp; from pydantic import BaseModel; from pythonjsonlogger.json import JsonFormatter"

CHILD_LIBS = f"""
import time, json
t0 = time.perf_counter()
{LIBS}
print(json.dumps({{"import_s": time.perf_counter() - t0}}))
"""

CHILD_HANDLER = """
import time, json, sys
t0 = time.perf_counter()
import handler
t1 = time.perf_counter()
from dds_backup_dev.context import LocalContext
event = json.load(open("events/timer.json"))
result = handler.handler(event, LocalContext(timeout_s=30))
assert result["ok"], result
print(json.dumps({"import_s": t1 - t0, "invoke_s": time.perf_counter() - t1}))
"""


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to benchmark against {url}: only loopback endpoints are allowed")


def run_child(code: str, env: dict[str, str]) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=120
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr[-2000:]}")
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def fmt(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.1f} ms ({min(samples) * 1000:.1f}-{max(samples) * 1000:.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    with EmulatorServer(EmulatorState.with_fixture(backup_delay=0.0)) as emulator:
        require_loopback(emulator.endpoint)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "HUAWEICLOUD_", "DDS_", "IAM_"))}
        env.update(emulator.env("aksk"))
        env["PYTHONPATH"] = str(ROOT)
        env["PYTHONDONTWRITEBYTECODE"] = "0"
        # Warm the bytecode caches once, as a deployed zip would have them.
        run_child(CHILD_LIBS, env)
        run_child(CHILD_HANDLER, env)
        emulator.state.backups.clear()

        lib_import, lib_wall, our_import, our_wall, our_invoke = [], [], [], [], []
        for _ in range(args.runs):
            wall, out = run_child(CHILD_LIBS, env)
            lib_import.append(out["import_s"])
            lib_wall.append(wall)
            emulator.state.backups.clear()  # each run is a fresh backup, not an "exists"
            wall, out = run_child(CHILD_HANDLER, env)
            our_import.append(out["import_s"])
            our_invoke.append(out["invoke_s"])
            our_wall.append(wall)

    import_ratio = statistics.median(our_import) / statistics.median(lib_import)
    wall_ratio = statistics.median(our_wall) / statistics.median(lib_wall)
    print(f"cold start, {args.runs} fresh processes each, median (min-max); Python {sys.version.split()[0]}")
    print(f"{'measurement':44} {'ours':>28} {'baseline':>28} {'ratio':>6}")
    rows = [
        ("import: handler vs aiohttp+pydantic+pjl", our_import, lib_import, import_ratio),
        ("process: import+1 timer event vs import libs", our_wall, lib_wall, wall_ratio),
    ]
    for label, ours, base, ratio in rows:
        print(f"{label:44} {fmt(ours):>28} {fmt(base):>28} {ratio:6.2f}")
    print(f"{'  of which the invocation itself':44} {fmt(our_invoke):>28}")
    verdict = "met" if import_ratio <= 1.30 else "NOT met"
    print(f"goal: import ratio <= 1.30 -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
