"""dds-backup against a script on the official SDK (huaweicloudsdkdds), side by side, in the same run.

Every number is a median over fresh processes (min-max in brackets) or, for the per-request CPU, one warm
process each; every row compares ours with a baseline measured in the same run. The DDS API is the project's
emulator in a process of its own (so that its CPU counts for neither side), on loopback, AK/SK-signed.

1. cold start: a fresh process serving one timer event vs a fresh process importing huaweicloudsdkdds and
   making the same create call. Goal: ours <= 0.8x.
2. fan-out: one request over 500 instances, emulator latency 50 ms, MAX_CONCURRENCY=25, whole process, vs the
   SDK doing the same 500 creates over a 25-thread pool (pool_maxsize 25) and sequentially. Goals: ours within
   1.2x of the ideal (500 / 25 x 50 ms, plus process start), faster than the SDK pool, CPU at most half the
   pool's, peak RSS no higher.
3. per-request CPU in one warm process (validate, name, sign, call, log, result) vs the SDK's create call,
   with the top of our profile.
4. package: size of the deployment zip, and import time of the packaged handler vs importing the SDK.

Usage: ``make bench`` or ``python bench/vs_sdk.py [--runs N]``. Refuses any endpoint but loopback.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FLEET = 500
LATENCY = 0.05
CONCURRENCY = 25


def require_loopback(url: str) -> None:
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to benchmark against {url}: only loopback endpoints are allowed")


class Emulator:
    """``dds-backup emulator`` in its own process."""

    def __init__(self, latency: float, instances: int) -> None:
        cmd = [sys.executable, "-m", "dds_backup_dev.cli", "emulator", "--port", "0", "--backup-delay", "0"]
        cmd += ["--latency", str(latency), "--instances", str(instances)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        self.info: dict[str, str] = json.loads(self.proc.stdout.readline())
        require_loopback(self.info["endpoint"])

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "HUAWEICLOUD_", "DDS_", "IAM_"))}
        return {
            **keep,
            "PYTHONPATH": str(ROOT),
            "DDS_ENDPOINT": self.info["endpoint"],
            "PROJECT_ID": self.info["project_id"],
            "HUAWEICLOUD_SDK_AK": self.info["ak"],
            "HUAWEICLOUD_SDK_SK": self.info["sk"],
            "MAX_CONCURRENCY": str(CONCURRENCY),
        }

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def measured(code: str, env: dict[str, str], *args: str) -> dict[str, float]:
    """Run a fresh interpreter; wall time, CPU (user+sys) and peak RSS of that process alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT
    )
    out, err = proc.communicate()  # reaps the child; its rusage comes from the children's accounting below
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{err.decode()[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
    return {"wall": wall, **result}


# The child reports its own CPU and peak RSS (resource, at exit): RUSAGE_CHILDREN in the parent would mix runs.
REPORT = """
import resource, json, time
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024, **EXTRA}))
"""

OURS = (
    """
import json, os, sys, time
EXTRA = {}
import handler
from dds_backup_dev.context import LocalContext
event = {"version": "v1.0", "time": sys.argv[1], "trigger_type": "TIMER", "trigger_name": "bench",
         "user_event": json.dumps(json.loads(sys.argv[2]))}
result = handler.handler(event, LocalContext(timeout_s=120))
assert result["ok"], result["summary"]
EXTRA["created"] = result["summary"]["created"]
"""
    + REPORT
)

SDK = (
    """
import json, sys, time, uuid
from concurrent.futures import ThreadPoolExecutor
EXTRA = {}
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdds.v3 import (CreateManualBackupOption, CreateManualBackupRequest,
                                  CreateManualBackupRequestBody, DdsClient)
import os
config = HttpConfig.get_default_config()
config.pool_maxsize = 25
config.pool_connections = 25
client = (DdsClient.new_builder().with_http_config(config)
          .with_credentials(BasicCredentials(os.environ["HUAWEICLOUD_SDK_AK"], os.environ["HUAWEICLOUD_SDK_SK"],
                                             os.environ["PROJECT_ID"]))
          .with_endpoints([os.environ["DDS_ENDPOINT"]]).build())
prefix = "sdk" + uuid.uuid4().hex[:12]
ids = json.loads(sys.argv[2])
def create(n):
    body = CreateManualBackupRequestBody(backup=CreateManualBackupOption(instance_id=ids[n], name=f"{prefix}{n:04d}"))
    return client.create_manual_backup(CreateManualBackupRequest(body=body))
if sys.argv[1] == "pool":
    with ThreadPoolExecutor(25) as pool:
        done = list(pool.map(create, range(len(ids))))
else:
    done = [create(n) for n in range(len(ids))]
EXTRA["created"] = len(done)
"""
    + REPORT
)

# "Process start" of the ideal: our interpreter starting and importing the handler, nothing served.
START_ONLY = "EXTRA = {}\nimport handler\n" + REPORT


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def fmt(xs: list[float], unit: str, scale: float = 1.0) -> str:
    return f"{median(xs) * scale:8.1f}{unit} ({min(xs) * scale:.1f}-{max(xs) * scale:.1f})"


_counter = iter(range(10**6))


def timer_time() -> str:
    """A distinct event time per run: each run is a new event, so each makes new backups."""
    n = next(_counter)
    return f"2027-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}+00:00"


def cold_start(runs: int) -> dict[str, list[float]]:
    em = Emulator(0.0, 0)
    try:
        env = em.env()
        instance = '"a89dab5e39394eccbdb77b19d57b0180in02"'
        ours, sdk = [], []
        measured(OURS, env, timer_time(), '{"instance_id": ' + instance + "}")  # warm the bytecode caches
        measured(SDK, env, "seq", f"[{instance}]")
        for _ in range(runs):
            ours.append(measured(OURS, env, timer_time(), '{"instance_id": ' + instance + "}")["wall"])
            sdk.append(measured(SDK, env, "seq", f"[{instance}]")["wall"])
        return {"ours": ours, "sdk": sdk}
    finally:
        em.close()


def fan_out(runs: int, seq_runs: int) -> dict[str, list[dict[str, float]]]:
    em = Emulator(LATENCY, FLEET)
    try:
        env = em.env()
        ids = json.dumps([f"{i:032x}in02" for i in range(FLEET)])
        selector = json.dumps({"selector": {"tags": {"fleet": "bench"}}})
        out: dict[str, list[dict[str, float]]] = {"ours": [], "pool": [], "seq": [], "start": []}
        for _ in range(runs):
            out["start"].append(measured(START_ONLY, env))
            out["ours"].append(measured(OURS, env, timer_time(), selector))
            out["pool"].append(measured(SDK, env, "pool", ids))
        for _ in range(seq_runs):
            out["seq"].append(measured(SDK, env, "seq", ids))
        assert all(r["created"] == FLEET for k in ("ours", "pool", "seq") for r in out[k])
        return out
    finally:
        em.close()


def per_request_cpu(count: int) -> tuple[float, float, list[str]]:
    """Warm, in this process: our pipeline (profiled) vs the SDK's create call, against a 0-latency emulator."""
    em = Emulator(0.0, count)
    try:
        os.environ.update(em.env())
        os.environ["LOG_LEVEL"] = "INFO"
        from huaweicloudsdkcore.auth.credentials import BasicCredentials
        from huaweicloudsdkdds.v3 import (
            CreateManualBackupOption,
            CreateManualBackupRequest,
            CreateManualBackupRequestBody,
            DdsClient,
        )

        import handler
        from dds_backup_dev.context import LocalContext

        def ours_once() -> None:
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
                    assert handler.handler(event, LocalContext(timeout_s=120))["ok"]
                finally:
                    sys.stderr = old

        ours_once()  # warm
        start = time.process_time()
        ours_once()
        ours_cpu = (time.process_time() - start) / count
        # Where it goes: a separate, profiled run (cProfile's overhead must not count in the comparison).
        profiler = cProfile.Profile()
        profiler.enable()
        ours_once()
        profiler.disable()

        client = (
            DdsClient.new_builder()
            .with_credentials(BasicCredentials(em.info["ak"], em.info["sk"], em.info["project_id"]))
            .with_endpoints([em.info["endpoint"]])
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
        sdk_cpu = (time.process_time() - start) / count

        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        raw: dict[Any, Any] = stats.__dict__["stats"]  # {(file, line, func): (cc, nc, tottime, cumtime, callers)}
        top = []
        for (file, line, func), (_, _, tottime, _, _) in sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[
            :10
        ]:
            where = file.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            top.append(f"{tottime / count * 1e6:7.1f} us/request  {where}:{line} {func}")
        return ours_cpu, sdk_cpu, top
    finally:
        em.close()


def package() -> dict[str, float]:
    from dds_backup_dev.package import build, local_arch

    wheelhouse = ROOT / ".venv" / "wheelhouse"
    python = "{}.{}".format(*sys.version_info[:2])
    with tempfile.TemporaryDirectory() as tmp:
        built = build(
            Path(tmp) / "fn.zip",
            python=python,
            arch=local_arch(),
            wheelhouse=wheelhouse if wheelhouse.exists() else None,
        )
        zip_path, size = built.path, built.size
        code = Path(tmp) / "code"
        zipfile.ZipFile(zip_path).extractall(code)
        probe = (
            f"import sys, time; sys.path.insert(0, {str(code)!r}); t = time.perf_counter(); import handler; "
            "print(time.perf_counter() - t)"
        )
        sdk_probe = "import time; t = time.perf_counter(); import huaweicloudsdkdds.v3; print(time.perf_counter() - t)"
        ours, sdk = [], []
        for _ in range(6):
            ours.append(
                float(
                    subprocess.run(
                        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True
                    ).stdout
                )
            )
            sdk.append(
                float(
                    subprocess.run([sys.executable, "-c", sdk_probe], capture_output=True, text=True, check=True).stdout
                )
            )
    return {"zip": size, "ours_import": median(ours[1:]), "sdk_import": median(sdk[1:]), "sdk_size": sdk_footprint()}


def sdk_footprint() -> float:
    """Installed size of huaweicloudsdkdds and everything it pulls in (what a script on the SDK ships)."""
    seen: set[str] = set()
    todo = ["huaweicloudsdkdds"]
    total = 0
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total += sum((f.size or 0) for f in dist.files or [])
        for req in dist.requires or []:
            if "extra ==" not in req:
                todo.append(
                    req.split(";")[0].split("[")[0].split("(")[0].strip().split(" ")[0].rstrip("<>=!~0123456789.,")
                )
    return float(total)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seq-runs", type=int, default=2)
    args = parser.parse_args()

    cold = cold_start(args.runs)
    fan = fan_out(args.runs, args.seq_runs)
    ours_cpu, sdk_cpu, top = per_request_cpu(FLEET)
    pkg = package()

    start = median([r["wall"] for r in fan["start"]])
    ideal = FLEET / CONCURRENCY * LATENCY + start

    def col(key: str, field: str) -> list[float]:
        return [r[field] for r in fan[key]]

    rows = [
        (
            "cold start: 1 timer event, fresh process",
            fmt(cold["ours"], " s"),
            "SDK script",
            fmt(cold["sdk"], " s"),
            median(cold["ours"]) / median(cold["sdk"]),
            "<= 0.80",
        ),
        (
            f"fan-out {FLEET} x {LATENCY * 1000:.0f} ms, wall",
            fmt(col("ours", "wall"), " s"),
            "ideal + our start",
            f"{ideal:8.2f} s",
            median(col("ours", "wall")) / ideal,
            "<= 1.20",
        ),
        (
            "fan-out, wall",
            fmt(col("ours", "wall"), " s"),
            "SDK 25-thread pool",
            fmt(col("pool", "wall"), " s"),
            median(col("ours", "wall")) / median(col("pool", "wall")),
            "< 1.00",
        ),
        (
            "fan-out, wall",
            fmt(col("ours", "wall"), " s"),
            "SDK sequential",
            fmt(col("seq", "wall"), " s"),
            median(col("ours", "wall")) / median(col("seq", "wall")),
            "",
        ),
        (
            "fan-out, process CPU",
            fmt(col("ours", "cpu"), " s"),
            "SDK 25-thread pool",
            fmt(col("pool", "cpu"), " s"),
            median(col("ours", "cpu")) / median(col("pool", "cpu")),
            "<= 0.50",
        ),
        (
            "fan-out, peak RSS",
            fmt(col("ours", "rss_mb"), " MB"),
            "SDK 25-thread pool",
            fmt(col("pool", "rss_mb"), " MB"),
            median(col("ours", "rss_mb")) / median(col("pool", "rss_mb")),
            "<= 1.00",
        ),
        (
            "CPU per request (warm)",
            f"{ours_cpu * 1e3:8.2f} ms",
            "SDK create call",
            f"{sdk_cpu * 1e3:8.2f} ms",
            ours_cpu / sdk_cpu,
            "",
        ),
        (
            "import time, packaged handler",
            f"{pkg['ours_import'] * 1e3:8.1f} ms",
            "import huaweicloudsdkdds",
            f"{pkg['sdk_import'] * 1e3:8.1f} ms",
            pkg["ours_import"] / pkg["sdk_import"],
            "",
        ),
        (
            "deployment size",
            f"{pkg['zip'] / 2**20:8.1f} MiB zip",
            "SDK installed",
            f"{pkg['sdk_size'] / 2**20:8.1f} MiB",
            pkg["zip"] / pkg["sdk_size"],
            "",
        ),
    ]
    print(
        f"dds-backup vs huaweicloudsdkdds, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"{args.runs} fresh processes per row (SDK sequential: {args.seq_runs}), median (min-max)"
    )
    print(f"{'measurement':42} {'ours':>26}   {'baseline':20} {'':>26} {'ratio':>6}  goal")
    for label, ours, base_label, base, ratio, goal in rows:
        print(f"{label:42} {ours:>26}   {base_label:20} {base:>26} {ratio:6.2f}  {goal}")
    print("\nwhere our CPU goes per request (cProfile, tottime, top 10):")
    for line in top:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
