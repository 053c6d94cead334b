"""dds-backup against a script on the official SDK (huaweicloudsdkdds), side by side, in the same run.

Every number is a median over fresh processes (min-max in brackets) or, for the per-request CPU, one warm
process each; every row compares ours with a baseline measured in the same run. The DDS API is the project's
emulator in a process of its own (so that its CPU counts for neither side), on loopback, AK/SK-signed.

1. fan-out: one request over 500 instances, emulator latency 50 ms, MAX_CONCURRENCY=25, whole process, vs the
   SDK doing the same 500 creates over a 25-thread pool (pool_maxsize 25) and sequentially. Both sides run as
   deployed: our unzipped package and the SDK as ``pip install -t`` leaves it, each in ``python -I -S -B``
   with only its own directory on the path; every sample gets a fresh emulator. Goals: ours within 1.2x of the
   ideal (500 / 25 x 50 ms, plus process start), faster than the SDK pool, CPU at most half the pool's, peak
   RSS no higher.
2. per-request CPU in one warm process (validate, name, sign, call, log, result) vs the SDK's create call,
   with the top of our profile.
3. package: size of the deployment zip (bytecode included) vs the SDK as pip installs it, zipped the same way.

The cold start as users get it is ``bench/coldstart.py``. Usage: ``make bench`` or
``python bench/vs_sdk.py [--runs N] [--against REV]`` (``--against``: the same fan-out with the package of another
revision, before/after in one run). Refuses any endpoint but loopback.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BARE,
    CONCURRENCY,
    DEPLOYED,
    ON_PATH,
    REPORT,
    ROOT,
    SDK_DEPLOYED,
    Emulator,
    deployed_package,
    deployed_package_at,
    fmt,
    measured,
    median,
    sdk_install,
    timer_time,
)
from dds_backup_dev.package import write_zip

FLEET = 500
LATENCY = 0.05

# "Process start" of the ideal, and our start-up cost: the interpreter starting and importing the handler.
START_ONLY = ON_PATH + "EXTRA = {}\nimport handler\n" + REPORT
# The libraries' floor (bench/coldstart.py): what a process pays to import them and define one model.
FLOOR_ONLY = (
    ON_PATH
    + "EXTRA = {}\nimport aiohttp, pydantic, pythonjsonlogger.json\n"
    + ("class One(pydantic.BaseModel):\n    x: int\n")
    + REPORT
)


def _fresh(code: str, where: Path, *args: str) -> dict[str, float]:
    """One sample against an emulator of its own: the emulator looks at every backup it holds on each create,
    so a shared one would slow down with every sample and the later samples, ours or the SDK's, would pay."""
    em = Emulator(LATENCY, FLEET)
    try:
        return measured(code, em.env(), str(where), *args, flags=BARE, cwd=where.parent)
    finally:
        em.close()


def fan_out(code: Path, sdk: Path, runs: int, seq_runs: int, before: Path | None) -> dict[str, list[dict[str, float]]]:
    """Both sides as deployed: our unzipped package, the SDK as pip installs it (with bytecode)."""
    ids = json.dumps([f"{i:032x}in02" for i in range(FLEET)])
    selector = json.dumps({"selector": {"tags": {"fleet": "bench"}}})
    out: dict[str, list[dict[str, float]]] = {"ours": [], "pool": [], "seq": [], "start": [], "floor": []}
    if before is not None:
        out["before"] = []
    for _ in range(runs):
        out["start"].append(_fresh(START_ONLY, code))
        out["floor"].append(_fresh(FLOOR_ONLY, code))
        out["ours"].append(_fresh(DEPLOYED, code, timer_time(), selector))
        if before is not None:
            out["before"].append(_fresh(DEPLOYED, before, timer_time(), selector))
        out["pool"].append(_fresh(SDK_DEPLOYED, sdk, "pool", ids))
    for _ in range(seq_runs):
        out["seq"].append(_fresh(SDK_DEPLOYED, sdk, "seq", ids))
    assert all(r["created"] == FLEET for k in ("ours", "pool", "seq", "before") for r in out.get(k, []))
    return out


def _ours_once(handler: Any, context: Any) -> None:
    event = {
        "version": "v1.0",
        "time": timer_time(),
        "trigger_type": "TIMER",
        "trigger_name": "cpu",
        "user_event": json.dumps({"selector": {"tags": {"fleet": "bench"}}}),
    }
    with open(os.devnull, "w") as sink:
        old, sys.stderr = sys.stderr, sink
        try:
            assert handler.handler(event, context(timeout_s=120))["ok"]
        finally:
            sys.stderr = old


def _sdk_cpu(info: dict[str, str], count: int) -> float:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkdds.v3 import (
        CreateManualBackupOption,
        CreateManualBackupRequest,
        CreateManualBackupRequestBody,
        DdsClient,
    )

    client = (
        DdsClient.new_builder()
        .with_credentials(BasicCredentials(info["ak"], info["sk"], info["project_id"]))
        .with_endpoints([info["endpoint"]])
        .build()
    )
    ids = [f"{i:032x}in02" for i in range(count)]

    def sdk_create(n: int, prefix: str) -> None:
        body = CreateManualBackupRequestBody(
            backup=CreateManualBackupOption(instance_id=ids[n], name=f"{prefix}{n:04d}")
        )
        client.create_manual_backup(CreateManualBackupRequest(body=body))

    sdk_create(0, "warm")
    start = time.process_time()
    for n in range(count):
        sdk_create(n, "sdkcpu")
    return (time.process_time() - start) / count


def _top(profiler: cProfile.Profile, count: int) -> list[str]:
    stats = pstats.Stats(profiler, stream=io.StringIO())
    raw: dict[Any, Any] = stats.__dict__["stats"]  # {(file, line, func): (cc, nc, tottime, cumtime, callers)}
    top = []
    for (file, line, func), (_, _, tottime, _, _) in sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:10]:
        where = file.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        top.append(f"{tottime / count * 1e6:7.1f} us/request  {where}:{line} {func}")
    return top


def per_request_cpu(count: int) -> tuple[float, float, list[str]]:
    """Warm, in this process: our pipeline (profiled) vs the SDK's create call, against a 0-latency emulator."""
    em = Emulator(0.0, count)
    try:
        os.environ.update(em.env())
        os.environ["LOG_LEVEL"] = "INFO"
        import handler
        from dds_backup_dev.context import LocalContext

        _ours_once(handler, LocalContext)  # warm
        start = time.process_time()
        _ours_once(handler, LocalContext)
        ours_cpu = (time.process_time() - start) / count
        # Where it goes: a separate, profiled run (cProfile's overhead must not count in the comparison).
        profiler = cProfile.Profile()
        profiler.enable()
        _ours_once(handler, LocalContext)
        profiler.disable()
        return ours_cpu, _sdk_cpu(em.info, count), _top(profiler, count)
    finally:
        em.close()


def sdk_zip_size(sdk: Path, where: Path) -> int:
    """The SDK as pip installs it (with bytecode), zipped the way our package is."""
    files = {p.relative_to(sdk).as_posix(): p.read_bytes() for p in sorted(sdk.rglob("*")) if p.is_file()}
    return len(write_zip(files, where / "sdk.zip"))


Row = tuple[str, str, str, str, float, str]


def rows(
    fan: dict[str, list[dict[str, float]]], cpu: tuple[float, float, list[str]], pkg: dict[str, float]
) -> list[Row]:
    start = median([r["wall"] for r in fan["start"]])
    ideal = FLEET / CONCURRENCY * LATENCY + start

    def col(key: str, field: str) -> list[float]:
        return [r[field] for r in fan[key]]

    def ratio_of(mine: str, key: str, field: str) -> float:
        return median(col(mine, field)) / median(col(key, field))

    def ratio(key: str, field: str) -> float:
        return ratio_of("ours", key, field)

    def ms(key: str, field: str) -> str:
        return fmt(col(key, field), " ms", 1e3)

    wall = ms("ours", "wall")
    before = []
    if "before" in fan:
        before = [
            (
                "  before: fan-out, wall",
                ms("before", "wall"),
                "SDK 25-thread pool",
                ms("pool", "wall"),
                ratio_of("before", "pool", "wall"),
                "",
            ),
            (
                "  before: fan-out, process CPU",
                ms("before", "cpu"),
                "SDK 25-thread pool",
                ms("pool", "cpu"),
                ratio_of("before", "pool", "cpu"),
                "",
            ),
            (
                "  before: fan-out, peak RSS",
                fmt(col("before", "rss_mb"), " MB"),
                "SDK 25-thread pool",
                fmt(col("pool", "rss_mb"), " MB"),
                ratio_of("before", "pool", "rss_mb"),
                "",
            ),
        ]
    return [
        (f"fan-out {FLEET} x {LATENCY * 1000:.0f} ms, wall", wall, "ideal + our start", f"{ideal * 1e3:8.1f} ms",
         median(col("ours", "wall")) / ideal, "<= 1.20"),
        ("fan-out, wall", wall, "SDK 25-thread pool", ms("pool", "wall"), ratio("pool", "wall"), "< 1.00"),
        ("fan-out, wall", wall, "SDK sequential", ms("seq", "wall"), ratio("seq", "wall"), ""),
        ("fan-out, process CPU", ms("ours", "cpu"), "SDK 25-thread pool", ms("pool", "cpu"),
         ratio("pool", "cpu"), "<= 0.50"),
        ("fan-out, peak RSS", fmt(col("ours", "rss_mb"), " MB"), "SDK 25-thread pool",
         fmt(col("pool", "rss_mb"), " MB"), ratio("pool", "rss_mb"), "<= 1.00"),
        *before,
        ("  our start-up alone, CPU", ms("start", "cpu"), "SDK 25-thread pool",
         ms("pool", "cpu"), ratio_of("start", "pool", "cpu"), ""),
        ("  our start-up alone, peak RSS", fmt(col("start", "rss_mb"), " MB"), "SDK 25-thread pool",
         fmt(col("pool", "rss_mb"), " MB"), ratio_of("start", "pool", "rss_mb"), ""),
        ("  the libraries' floor alone, CPU", ms("floor", "cpu"), "SDK 25-thread pool",
         ms("pool", "cpu"), ratio_of("floor", "pool", "cpu"), ""),
        ("  the libraries' floor, peak RSS", fmt(col("floor", "rss_mb"), " MB"), "SDK 25-thread pool",
         fmt(col("pool", "rss_mb"), " MB"), ratio_of("floor", "pool", "rss_mb"), ""),
        ("CPU per request (warm)", f"{cpu[0] * 1e3:8.2f} ms", "SDK create call", f"{cpu[1] * 1e3:8.2f} ms",
         cpu[0] / cpu[1], ""),
        ("deployment zip (with bytecode)", f"{pkg['zip'] / 2**20:8.1f} MiB", "SDK pip -t, zipped",
         f"{pkg['sdk_zip'] / 2**20:8.1f} MiB", pkg["zip"] / pkg["sdk_zip"], ""),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--seq-runs", type=int, default=2)
    parser.add_argument("--against", help="also run the fan-out with the package of this git revision (before)")
    args = parser.parse_args()

    sdk = sdk_install(bytecode=True)
    with tempfile.TemporaryDirectory() as tmp:
        built, code = deployed_package(Path(tmp))
        before = deployed_package_at(args.against, Path(tmp) / "before") if args.against else None
        fan = fan_out(code, sdk, args.runs, args.seq_runs, before)
        pkg = {"zip": float(built.size), "sdk_zip": float(sdk_zip_size(sdk, Path(tmp)))}
    cpu = per_request_cpu(FLEET)
    print(
        f"dds-backup vs huaweicloudsdkdds {metadata.version('huaweicloudsdkdds')}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, {args.runs} fresh processes per row (SDK sequential: {args.seq_runs}), "
        f"median (min-max); load average {os.getloadavg()[0]:.1f}"
        + (f"; before: {args.against}" if args.against else "")
    )
    print(f"{'measurement':42} {'ours':>26}   {'baseline':20} {'':>26} {'ratio':>6}  goal")
    for label, ours, base_label, base, ratio, goal in rows(fan, cpu, pkg):
        print(f"{label:42} {ours:>26}   {base_label:20} {base:>26} {ratio:6.2f}  {goal}")
    print("\nwhere our CPU goes per request (cProfile, tottime, top 10):")
    for line in cpu[2]:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
