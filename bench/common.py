"""What the benchmarks share: the emulator in its own process (loopback only), a fresh interpreter measured
from the outside, the SDK baseline script and its installs, our deployment package, and the formatting of
samples."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from dds_backup_dev.package import Built, build, local_arch

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "{}.{}".format(*sys.version_info[:2])
CONCURRENCY = 25


def tree_at(rev: str, where: Path) -> Path:
    """The files of ``rev`` of this repository, extracted into ``where`` (a before/after in one run)."""
    where.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev], capture_output=True, check=True, cwd=ROOT).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def require_loopback(url: str) -> None:
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to benchmark against {url}: only loopback endpoints are allowed")


class Emulator:
    """``dds-backup emulator`` in its own process, so that its CPU counts for neither side."""

    def __init__(self, latency: float, instances: int, backups_per_instance: int = 0) -> None:
        cmd = [sys.executable, "-m", "dds_backup_dev.cli", "emulator", "--port", "0", "--backup-delay", "0"]
        cmd += ["--latency", str(latency), "--instances", str(instances)]
        cmd += ["--backups-per-instance", str(backups_per_instance)]
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


def measured(
    code: str, env: dict[str, str], *args: str, flags: Sequence[str] = (), cwd: Path = ROOT
) -> dict[str, float]:
    """Run a fresh interpreter; wall time, CPU (user+sys) and peak RSS of that process alone, and, when the
    child stamps ``done`` (time.monotonic(), one clock for every process here), the time from launch until
    its result existed (``answer``): the process's exit, which the platform does not wait for, left out."""
    launched = time.monotonic()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *flags, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{err.decode()[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
    if "done" in result:
        result["answer"] = result["done"] - launched
    return {"wall": wall, **result}


# The child reports its own CPU and peak RSS at exit: RUSAGE_CHILDREN in the parent would mix runs. Peak RSS is
# VmHWM, the high-water mark of the child's own memory: Linux carries the parent's peak over into ru_maxrss
# through fork and exec, so a parent bigger than the child would be measured instead.
REPORT = """
import resource, json
ru = resource.getrusage(resource.RUSAGE_SELF)
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"cpu": ru.ru_utime + ru.ru_stime, "rss_mb": hwm / 1024, **EXTRA}))
"""

# A script on the official SDK: the same creates, sequentially ("seq") or over a 25-thread pool ("pool");
# argv: mode, JSON list of instance ids.
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
EXTRA["done"] = time.monotonic()
"""
    + REPORT
)

# The deployed side of a comparison: a bare interpreter (-I: no PYTHON* variables, no user site; -S: no
# site-packages; -B: no bytecode written, as in a fresh instance) with one directory on its path, given as argv[1].
BARE = ("-I", "-S", "-B")
ON_PATH = "import sys\nsys.path.insert(0, sys.argv.pop(1))\n"

# Our function from the unzipped package, serving one timer event; argv: event time, user_event (a request).
DEPLOYED = (
    ON_PATH
    + """
import json, time
started = time.perf_counter()
import handler
imported = time.perf_counter()
class Context:
    def getRequestID(self): return "bench"
    def getRunningTimeInSeconds(self): return 120
event = {"version": "v1.0", "time": sys.argv[1], "trigger_type": "TIMER", "trigger_name": "bench",
         "user_event": sys.argv[2]}
result = handler.handler(event, Context())
assert result["ok"], result["summary"]
EXTRA = {"import": imported - started, "event": time.perf_counter() - imported,
         "created": result["summary"]["created"], "done": time.monotonic()}
"""
    + REPORT
)
SDK_DEPLOYED = ON_PATH + SDK

_counter = iter(range(10**6))


def timer_time() -> str:
    """A distinct event time per run: each run is a new event, so each makes new backups."""
    n = next(_counter)
    return f"2027-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}+00:00"


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def fmt(xs: list[float], unit: str, scale: float = 1.0) -> str:
    return f"{median(xs) * scale:8.1f}{unit} ({min(xs) * scale:.1f}-{max(xs) * scale:.1f})"


def sdk_install(*, bytecode: bool) -> Path:
    """huaweicloudsdkdds (the version the tests use) and everything it pulls in, installed by ``pip install -t``
    as pip leaves it (with bytecode) or with ``--no-compile``. A set-up step from PyPI, done once and cached in
    .venv/bench; the measurements themselves stay on loopback."""
    version = metadata.version("huaweicloudsdkdds")
    kind = "pip" if bytecode else "no-compile"
    where = ROOT / ".venv" / "bench" / f"huaweicloudsdkdds-{version}-py{PYTHON}-{kind}"
    done = where / ".installed"
    if not done.exists():
        shutil.rmtree(where, ignore_errors=True)
        print(f"set-up: pip install -t {where.relative_to(ROOT)} huaweicloudsdkdds=={version}", file=sys.stderr)
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(where)]
        cmd += [] if bytecode else ["--no-compile"]
        proc = subprocess.run([*cmd, f"huaweicloudsdkdds=={version}"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"set-up failed: pip install -t {where}:\n{proc.stderr[-3000:]}")
        done.touch()
    return where


def deployed_package(where: Path) -> tuple[Built, Path]:
    """The function zip for this Python and architecture, as ``dds-backup package`` builds it (bytecode
    included), unzipped into ``where/code``."""
    wheelhouse = ROOT / ".venv" / "wheelhouse"
    built = build(
        where / "fn.zip", python=PYTHON, arch=local_arch(), wheelhouse=wheelhouse if wheelhouse.exists() else None
    )
    for note in built.notes:
        print(f"package: {note}", file=sys.stderr)
    with zipfile.ZipFile(built.path) as zf:
        zf.extractall(where / "code")
    return built, where / "code"


def deployed_package_at(rev: str, where: Path) -> Path:
    """The function zip of revision ``rev``, built by that revision's own packager (from this tree's wheelhouse)
    and unzipped into ``where/code``: the "before" of a before/after measured in one run."""
    tree = tree_at(rev, where / "tree")
    wheelhouse = ROOT / ".venv" / "wheelhouse"
    script = (
        "import sys; from pathlib import Path\n"
        "from dds_backup_dev.package import build, local_arch\n"
        "house = Path(sys.argv[3])\n"
        "house = house if house.exists() else None\n"
        "build(Path(sys.argv[1]), python=sys.argv[2], arch=local_arch(), wheelhouse=house)\n"
    )
    zip_path = where / "fn.zip"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-c", script, str(zip_path), PYTHON, str(wheelhouse)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"could not build the package of {rev}:\n{proc.stderr[-3000:]}")
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(where / "code")
    return where / "code"
