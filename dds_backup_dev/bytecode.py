"""Bytecode for the deployment zip, compiled by an interpreter of the target's own version.

FunctionGraph unpacks the zip into a fresh directory for every new instance, so without bytecode in the zip
every cold start compiles every module of the function and its dependencies from source. Bytecode is tied to
the CPython minor version (not to the architecture), so any CPython X.Y at hand compiles it for an X.Y
runtime: this Python when it matches, else ``pythonX.Y`` on PATH or in pyenv's versions, or one named
explicitly. A pyenv shim on PATH may name a version that is not installed: every candidate is run once to ask.

The bytes are deterministic, so reproducible builds stay byte-identical:

* unchecked-hash .pyc: the header holds a hash of the source, never a time; the loader does not compare it
  with the source, which nothing changes in a deployed package;
* a fixed hash seed: set and frozenset constants are written in hash order, which the seed decides;
* one process compiling in a fixed order, optimization level 0 (what the runtime looks for);
* source paths recorded relative to the package root (``lib/pipeline.py``), not the temporary build folder;
  when it loads a .pyc next to its source, the loader puts the real path back for tracebacks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_ASK = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"


def interpreter_version(path: str) -> str | None:
    """``cpython X.Y`` for an interpreter that runs, else None."""
    try:
        proc = subprocess.run([path, "-c", _ASK], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _candidates(python: str) -> list[str]:
    found = []
    if "{}.{}".format(*sys.version_info[:2]) == python:
        found.append(sys.executable)
    on_path = shutil.which(f"python{python}")
    if on_path:
        found.append(on_path)
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found += [str(p) for p in sorted(pyenv.glob(f"versions/*/bin/python{python}"), reverse=True)]
    return found


def find_interpreter(python: str) -> str | None:
    """A CPython ``python`` (X.Y) that runs here, or None."""
    return next((c for c in _candidates(python) if interpreter_version(c) == f"cpython {python}"), None)


def pyc_name(source: str, python: str) -> str:
    """Where CPython X.Y looks for the bytecode of ``source`` (``a/b.py`` -> ``a/__pycache__/b.cpython-XY.pyc``)."""
    folder, _, base = source.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    return f"{prefix}__pycache__/{base.removesuffix('.py')}.cpython-{python.replace('.', '')}.pyc"


def compile_sources(files: dict[str, bytes], python: str, interpreter: str) -> tuple[dict[str, bytes], str]:
    """Compile every ``.py`` of ``files`` with ``interpreter``; returns the .pyc files by name and what the
    compiler said (empty when every file compiled: a file missing from the result did not)."""
    sources = sorted(n for n in files if n.endswith(".py"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}  # no PYTHONPYCACHEPREFIX & co.
    env["PYTHONHASHSEED"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp).resolve()
        for name in sources:
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_bytes(files[name])
        cmd = [interpreter, "-m", "compileall", "-q", "-f", "-o", "0", "--invalidation-mode", "unchecked-hash"]
        cmd += ["-s", str(stage), str(stage)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)  # noqa: S603
        compiled = {}
        for name in sources:
            pyc = stage / pyc_name(name, python)
            if pyc.exists():
                compiled[pyc_name(name, python)] = pyc.read_bytes()
    said = (proc.stdout + proc.stderr).replace(f"{stage}/", "").strip()
    return compiled, said
