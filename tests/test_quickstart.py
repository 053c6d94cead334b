"""The README's quick start and tour, run as written: every shell block from "Quick start" to "Where to go next",
in one shell, in the repository. Left out: `make test` (this is it), and what needs the package index; the
`pip install` of the tour takes its packages from the local wheelhouse (`--no-index`), which make fills."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lib.config import CONFIG_KEYS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"


def quick_start_commands() -> list[str]:
    part = README[README.index("## Quick start") : README.index("## Where to go next")]
    blocks = re.findall(r"```sh\n(.*?)```", part, re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def _needs_the_index(make_target: str) -> bool:
    """Whether `make <target>` would build .venv first (which downloads from the package index)."""
    env = {**os.environ, "PYTHON": sys.executable}
    dry = subprocess.run(["make", "-n", make_target], capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    return "pip install" in dry.stdout or dry.returncode != 0


def as_run_here(line: str) -> str | None:
    """The line as this test runs it, or None when it is left out."""
    command = line.split("#", 1)[0].strip()
    if command.startswith("make test"):
        return None
    if command.startswith("make ") and _needs_the_index(command.split()[1]):
        return None
    if "pip install" in command:
        # The packages from make's wheelhouse, never from the index.
        return command.replace("pip install", f"pip install --no-index --find-links {WHEELHOUSE}", 1)
    return command


def test_the_readme_names_the_two_commands_and_the_tour() -> None:
    commands = quick_start_commands()
    assert commands[:2] == [
        "make demo   # builds .venv (a few minutes the first time), then backs up a demo instance from a timer event",
        "make test   # lint, type check and the whole test suite",
    ]
    joined = "\n".join(commands)
    for needed in (
        "dds-backup invoke events/timer.json",
        "dds-backup serve &",
        "dds-backup send apig",
        "dds-backup send slack",
        "pip install",
        'cd "$(mktemp -d)"',
    ):
        assert needed in joined


@pytest.mark.skipif(not list(WHEELHOUSE.glob("setuptools-*.whl")), reason="make's wheelhouse is not filled")
@pytest.mark.servers
def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    script = "\n".join(c for c in map(as_run_here, quick_start_commands()) if c is not None)
    # GIVEN a user's shell: no configuration of the function, a home of its own, python3 the Python of the suite
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_KEYS and not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    env.update(
        HOME=str(tmp_path / "home"), PATH=f"{bin_dir}:{env['PATH']}", PYTHON=sys.executable, TMPDIR=str(tmp_path)
    )
    (tmp_path / "home").mkdir()
    # WHEN the commands run in one shell, stopping at the first that fails
    left = [p for p in (ROOT / "build", ROOT / "dds_backup.egg-info") if not p.exists()]
    try:
        proc = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=600,
            check=False,
        )
    finally:  # what `pip install .` builds in the clone (ignored by git), when it was not there before
        for path in left:
            shutil.rmtree(path, ignore_errors=True)
    # THEN each of them worked: a backup from the timer, the webhook, the chat command and the installed tool
    assert proc.returncode == 0, f"{script}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    out = proc.stdout
    assert re.search(r"^dds-backup \d+\.\d+\.\d+$", out, re.MULTILINE)
    assert out.count('"outcome": "created"') >= 3, out  # the timer, `send apig`, the installed tool's timer
    assert "Backup started" in out, out  # the Slack command's reply
    assert "-> HTTP 202 Accepted" in proc.stderr and "/slack -> HTTP 200 OK" in proc.stderr
    assert (tmp_path / "home" / ".dds-backup" / "bin" / "dds-backup").exists()
