"""``dds-backup package``: the deployment zip FunctionGraph runs, built reproducibly.

The zip holds ``handler.py``, ``lib/`` and the runtime dependencies pinned in ``requirements.lock``, unpacked from
manylinux wheels for the target CPython version and architecture (FunctionGraph runs Linux; the machine that
builds may not match it). Nothing from ``tests/``, ``dds_backup_dev/`` or ``bench/`` goes in. The same inputs
give the same bytes: entries are sorted, timestamps fixed, permissions normalised.

Every module it ships is also there as bytecode for the target Python (see ``bytecode``), when an interpreter
of that version is at hand; what the runtime never reads is left out (``left_out``).

Wheels come from PyPI through pip (``fetch_wheels``), or from a local wheelhouse for offline builds; ``make``
prepares ``.venv/wheelhouse`` so that the tests never leave the machine.

glibc: only ``manylinux2014`` (= ``manylinux_2_17``) wheels are accepted, the widest-compatible tag; a
dependency that publishes only newer manylinux wheels makes the build fail rather than the import on the
platform.
"""

from __future__ import annotations

import io
import platform
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from dds_backup_dev.bytecode import compile_sources, find_interpreter, interpreter_version, pyc_name
from dds_backup_dev.lock import LOCK, MACHINES, LockError, for_target

ROOT = Path(__file__).resolve().parent.parent
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
ARCHES = MACHINES


class PackageError(Exception):
    pass


def local_arch() -> str:
    return ARCHES.get(platform.machine().lower(), "x86_64")


def platforms(arch: str) -> list[str]:
    machine = ARCHES[arch]
    return [f"manylinux2014_{machine}", f"manylinux_2_17_{machine}"]


def fetch_wheels(python: str, arch: str, dest: Path, wheelhouse: Path | None = None, lock: Path = LOCK) -> list[Path]:
    """Download (or, with a wheelhouse, pick offline) the locked runtime dependencies' wheels for the target;
    pip checks each file against the lock's hashes."""
    try:
        pins = for_target(python, arch, lock)
    except LockError as exc:
        raise PackageError(str(exc)) from exc
    dest.mkdir(parents=True, exist_ok=True)
    nodot = python.replace(".", "")
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"]
    cmd += ["--python-version", python, "--implementation", "cp", "--abi", f"cp{nodot}", "--abi", "abi3"]
    cmd += ["--abi", "none"]
    for tag in platforms(arch):
        cmd += ["--platform", tag]
    if wheelhouse is not None:
        cmd += ["--no-index", "--find-links", str(wheelhouse)]
    with tempfile.TemporaryDirectory() as tmp:
        # Markers are decided here for the target (pip would decide them for the Python running it), so pip
        # gets plain pins and no dependency resolution of its own.
        pinned = Path(tmp) / "pinned.txt"
        pinned.write_text("".join(pin.line() + "\n" for pin in pins))
        cmd += ["--no-deps", "--require-hashes", "-r", str(pinned), "-d", str(dest)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - our own pip
    if proc.returncode != 0:
        where = f"the wheelhouse {wheelhouse}" if wheelhouse else "PyPI"
        raise PackageError(f"no wheels for Python {python}/{arch} from {where}:\n{proc.stderr.strip()[-1500:]}")
    return sorted(dest.glob("*.whl"))


def _code_files(root: Path) -> dict[str, bytes]:
    files = {"handler.py": (root / "handler.py").read_bytes()}
    for path in sorted((root / "lib").rglob("*.py")):
        files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


# What the runtime never reads is left out: sources and headers of compiled extensions, type stubs and their
# markers, the dependencies' own tests, test plugins and test helper extensions, and the installers' file list
# (RECORD, which would no longer match the files). Licences and the rest of the metadata always stay.
_LEFT_OUT_SUFFIXES = (".pyx", ".pxd", ".pxi", ".c", ".h", ".cpp", ".hpp", ".pyi")
_TEST_DIRS = frozenset({"tests", "test"})
_TEST_FILES = re.compile(r"(test_\w*|\w*_test|conftest|pytest_plugin)\.py|_test\w*\.(cpython-|abi3)\S*\.so")
_LICENCE = re.compile(r"LICEN[CS]E|COPYING|NOTICE|AUTHORS", re.IGNORECASE)


def left_out(name: str) -> bool:
    """Whether a file of a dependency's wheel stays out of the zip."""
    parts = name.split("/")
    base = parts[-1]
    if any(_LICENCE.search(part) for part in parts):
        return False
    if parts[0].endswith(".dist-info"):
        return parts[1:] == ["RECORD"]
    if base.endswith(_LEFT_OUT_SUFFIXES) or base == "py.typed":
        return True
    return bool(_TEST_FILES.fullmatch(base)) or not _TEST_DIRS.isdisjoint(parts[:-1])


def _wheel_files(wheels: list[Path]) -> tuple[dict[str, bytes], dict[str, int]]:
    """The files the zip takes from the wheels, and those it leaves out (name -> size)."""
    files: dict[str, bytes] = {}
    dropped: dict[str, int] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                name = info.filename
                if info.is_dir() or "__pycache__/" in name or name.endswith(".pyc"):
                    continue
                if left_out(name):
                    dropped[name] = info.file_size
                    continue
                data = zf.read(info)
                if name in files and files[name] != data:
                    raise PackageError(f"{wheel.name} and another wheel both ship {name}")
                files[name] = data
    return files, dropped


def write_zip(files: dict[str, bytes], out: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 if not name.endswith(".so") else 0o100755) << 16
            info.create_system = 3  # unix, whatever the building machine is
            zf.writestr(info, files[name], compresslevel=9)
    data = buffer.getvalue()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return data


@dataclass(frozen=True)
class Built:
    path: Path
    size: int  # bytes of the zip
    entries: int
    left_out: dict[str, int]  # files of the wheels the runtime never reads -> their size
    interpreter: str | None  # what compiled the bytecode; None: the zip ships sources only
    compiled: int  # .pyc files in the zip
    notes: tuple[str, ...]  # what the user should know about this build


def target_interpreter(python: str, python_bin: str | None) -> str | None:
    """The interpreter that compiles the bytecode: the one named (which must be CPython ``python``), else one
    found here, else None."""
    if python_bin is None:
        return find_interpreter(python)
    found = interpreter_version(python_bin)
    if found != f"cpython {python}":
        raise PackageError(f"--python-bin {python_bin} is {found or 'not a Python that runs'}, not CPython {python}")
    return python_bin


def _bytecode(files: dict[str, bytes], python: str, interpreter: str | None) -> tuple[dict[str, bytes], list[str]]:
    if interpreter is None:
        return {}, [
            f"no CPython {python} found (this Python, python{python} on PATH, pyenv's versions; or name one with "
            "--python-bin): the zip ships sources only, which every cold start then compiles"
        ]
    compiled, said = compile_sources(files, python, interpreter)
    missing = [n for n in sorted(files) if n.endswith(".py") and pyc_name(n, python) not in compiled]
    ours = [n for n in missing if n == "handler.py" or n.startswith("lib/")]
    if ours:
        raise PackageError(f"{ours[0]} does not compile on Python {python}:\n{said[-1500:]}")
    if missing:
        return compiled, [
            f"{len(missing)} modules of the dependencies do not compile on Python {python} and "
            f"ship as source only: {', '.join(missing[:5])}"
        ]
    return compiled, []


def build(
    out: Path,
    *,
    python: str,
    arch: str,
    layer: bool = False,
    wheelhouse: Path | None = None,
    python_bin: str | None = None,
    root: Path = ROOT,
) -> Built:
    """Build the function zip (or, with ``layer``, the dependencies alone) from the project in ``root`` (its
    ``handler.py``, ``lib/`` and ``requirements.lock``), with bytecode for ``python`` when an interpreter of that
    version is at hand (``python_bin``, else one found here)."""
    if arch not in ARCHES:
        raise PackageError(f"unknown architecture {arch!r}: use x86_64 or arm64")
    interpreter = target_interpreter(python, python_bin)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = fetch_wheels(python, arch, Path(tmp), wheelhouse, lock=root / LOCK.name)
        files, dropped = _wheel_files(wheels)
    if not layer:
        code = _code_files(root)
        clash = sorted(n for n in code if n in files)
        if clash:
            raise PackageError(f"a dependency ships {clash[0]}, which would shadow our own code")
        files.update(code)
    compiled, notes = _bytecode(files, python, interpreter)
    files.update(compiled)
    data = write_zip(files, out)
    return Built(out, len(data), len(files), dropped, interpreter, len(compiled), tuple(notes))
