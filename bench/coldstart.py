"""Cold start as users get it: the deployed package against a script on the official SDK, in the same run.

Every sample is a fresh interpreter, ``python -I -S -B``, with one directory on its path and nothing else
(-I: no PYTHON* variables, no user site; -S: no site-packages; -B: no bytecode written, so each sample pays
what a new FunctionGraph instance pays, which unpacks the zip into a fresh directory):

* ours: the zip ``dds-backup package`` builds for this Python (bytecode included), unzipped into a read-only
  directory, serving one timer event (one create) against the emulator; and, to show what the bytecode buys,
  the same files without their ``__pycache__``;
* the SDK script of ``bench/common.py`` making the same create call, its packages installed by
  ``pip install -t`` (a) with ``--no-compile``, no bytecode, as a zip of sources would deploy it, and (b) as
  pip leaves it, with bytecode.

Also, from the same directory: the import of the handler against ``import aiohttp, pydantic,
pythonjsonlogger.json`` (minimum over the runs), and where the handler's import time goes
(``python -X importtime``, self time per top-level package, one run).

The cold start is timed from the launch of the process until the result exists (the handler returned, the
SDK's call came back): what an invocation on a new instance waits for. The whole process, with the
interpreter's exit (which the platform does not wait for, and which costs more the more modules are loaded),
is shown beside it. Goals: cold start <= 0.5x the SDK without bytecode and <= 1.0x the SDK as pip installs
it; import <= 1.25x.
The emulator runs in its own process on loopback; any other endpoint is refused. The SDK installs are a
set-up step (PyPI, once, cached in .venv/bench). Usage: ``make bench`` or ``python bench/coldstart.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BARE,
    DEPLOYED,
    ON_PATH,
    SDK_DEPLOYED,
    Emulator,
    deployed_package,
    fmt,
    measured,
    median,
    sdk_install,
    timer_time,
)
from dds_backup_dev.package import Built

INSTANCE = "a89dab5e39394eccbdb77b19d57b0180in02"
SDK_ARGS = ["seq", json.dumps([INSTANCE])]

IMPORT = ON_PATH + "import time\nt = time.perf_counter()\nexec(sys.argv[1])\nprint(time.perf_counter() - t)\n"
HANDLER = "import handler"
LIBS = "import aiohttp, pydantic, pythonjsonlogger.json"


def cold_starts(
    code: Path, sources: Path, sdk_plain: Path, sdk_pip: Path, runs: int
) -> dict[str, list[dict[str, float]]]:
    """Whole processes, the kinds interleaved so that machine noise hits them alike."""
    em = Emulator(0.0, 0)
    try:
        env = em.env()
        kinds = {
            "ours": (DEPLOYED, code),
            "sources": (DEPLOYED, sources),
            "sdk_plain": (SDK_DEPLOYED, sdk_plain),
            "sdk_pip": (SDK_DEPLOYED, sdk_pip),
        }
        out: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
        for n in range(runs + 1):  # the first round warms the file cache and is not counted
            for kind, (script, where) in kinds.items():
                # Each of ours is a new timer event (a new backup), as the SDK's runs are new names.
                args = SDK_ARGS if kind.startswith("sdk") else [timer_time(), json.dumps({"instance_id": INSTANCE})]
                sample = measured(script, env, str(where), *args, flags=BARE, cwd=code.parent)
                if n:
                    out[kind].append(sample)
        return out
    finally:
        em.close()


def imports(code: Path, runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {HANDLER: [], LIBS: []}
    for _ in range(runs):
        for statement in out:
            cmd = [sys.executable, *BARE, "-c", IMPORT, str(code), statement]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=code.parent)
            out[statement].append(float(proc.stdout))
    return out


def import_profile(code: Path, statement: str) -> tuple[dict[str, float], dict[str, float]]:
    """Self time (s) per top-level package and per module of one import, from ``python -X importtime``; what is
    not in the package directory is the standard library."""
    cmd = [sys.executable, *BARE, "-X", "importtime", "-c", IMPORT, str(code), statement]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=code.parent)
    shipped = {p.name.removesuffix(".py") for p in code.iterdir()} | {"handler"}
    groups: dict[str, float] = defaultdict(float)
    modules: dict[str, float] = {}
    for match in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)", proc.stderr):
        top = match[2].split(".")[0]
        groups[top if top in shipped else "(standard library)"] += int(match[1]) / 1e6
        modules[match[2]] = int(match[1]) / 1e6
    return dict(groups), modules


def report(built: Built, cold: dict[str, list[dict[str, float]]], imp: dict[str, list[float]], runs: int) -> None:
    def col(kind: str, field: str = "wall") -> list[float]:
        return [sample[field] for sample in cold[kind]]

    print(
        f"deployed cold start, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {runs} fresh processes per "
        "row, median (min-max); python -I -S -B with one directory on the path"
    )
    print(f"package: {built.size / 2**20:.1f} MiB zip, {built.entries} files, {built.compiled} .pyc; left out "
          f"{len(built.left_out)} files, {sum(built.left_out.values()) / 1024:.0f} KiB")  # fmt: skip
    print(f"{'measurement':30} {'ours':>24}   {'baseline':22} {'':>24} {'ratio':>6}  goal")
    for field, what in (("answer", "cold start, launch to result"), ("wall", "whole process, with its exit")):
        for kind, label, goal in (
            ("sdk_plain", "SDK, pip --no-compile", "<= 0.50"),
            ("sdk_pip", "SDK as pip installs", "<= 1.00"),
        ):
            ours, base = col("ours", field), col(kind, field)
            ratio = median(ours) / median(base)
            goal = goal if field == "answer" else ""
            print(
                f"{what:30} {fmt(ours, ' ms', 1e3):>24}   {label:22} {fmt(base, ' ms', 1e3):>24} {ratio:6.2f}  {goal}"
            )
        if field == "answer":
            print(f"{'  of which import of handler':30} {fmt(col('ours', 'import'), ' ms', 1e3):>24}")
            print(f"{'  of which the timer event':30} {fmt(col('ours', 'event'), ' ms', 1e3):>24}")
            sources, ratio = col("sources", field), median(col("ours", field)) / median(col("sources", field))
            print(f"{what:30} {fmt(col('ours', field), ' ms', 1e3):>24}   {'same zip, sources only':22} "
                  f"{fmt(sources, ' ms', 1e3):>24} {ratio:6.2f}")  # fmt: skip
    h, libs = min(imp[HANDLER]), min(imp[LIBS])
    print(f"{'import of the handler (min)':30} {h * 1e3:21.1f} ms   {'aiohttp+pydantic+pjl':22} "
          f"{libs * 1e3:21.1f} ms {h / libs:6.2f}  <= 1.25")  # fmt: skip


def profile(code: Path) -> None:
    (ours, modules), (libs, _) = import_profile(code, HANDLER), import_profile(code, LIBS)
    print(f"\nwhere the import time goes (python -X importtime, self time, one run each): {HANDLER!r} vs {LIBS!r}")
    for group in sorted(ours, key=lambda g: -ours[g])[:12]:
        print(f"  {group:24} {ours[group] * 1e3:7.1f} ms {libs.get(group, 0.0) * 1e3:9.1f} ms")
    print(f"  {'total':24} {sum(ours.values()) * 1e3:7.1f} ms {sum(libs.values()) * 1e3:9.1f} ms")
    print(f"\nthe modules with the most self time in {HANDLER!r}:")
    for name in sorted(modules, key=lambda m: -modules[m])[:12]:
        print(f"  {modules[name] * 1e3:7.1f} ms  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    sdk_plain, sdk_pip = sdk_install(bytecode=False), sdk_install(bytecode=True)
    with tempfile.TemporaryDirectory() as tmp:
        built, code = deployed_package(Path(tmp))
        sources = Path(tmp) / "sources"  # what the zip gave before it carried bytecode
        shutil.copytree(code, sources, ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run(["chmod", "-R", "a-w", str(code), str(sources)], check=True)
        try:
            cold = cold_starts(code, sources, sdk_plain, sdk_pip, args.runs)
            imp = imports(code, args.runs)
            report(built, cold, imp, args.runs)
            profile(code)
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(code), str(sources)], check=True)
    # -B held: the SDK without bytecode stayed without (as root, read-only modes would not have stopped it).
    assert not list(sdk_plain.rglob("*.pyc")), "the SDK install without bytecode gained some"
    return 0


if __name__ == "__main__":
    sys.exit(main())
