"""``requirements.lock``: the exact runtime dependencies the package vendors, with the hashes of their files.

``make lock`` writes it with uv (``uv pip compile --universal --generate-hashes``) from the ranges in
``requirements.txt``: one file for every target (CPython 3.10-3.12, x86_64 and aarch64), where a package whose
version differs between targets carries an environment marker. ``dds-backup package`` and ``dds-backup wheels``
take from it only what applies to their target and let pip check every file against its hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
REQUIREMENTS = ROOT / "requirements.txt"
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64", "amd64": "x86_64"}


class LockError(Exception):
    pass


@dataclass(frozen=True)
class Pin:
    name: str  # canonical (PEP 503)
    version: str
    hashes: tuple[str, ...]
    marker: Marker | None

    def line(self) -> str:
        """The pin as a pip requirement line, markers already decided."""
        return f"{self.name}=={self.version} " + " ".join(f"--hash={h}" for h in self.hashes)


def target_environment(python: str, arch: str) -> dict[str, str]:
    """Marker variables of a FunctionGraph runtime: CPython on Linux. The runtime's patch release is not
    known here; the lock writes version bounds as whole minor versions (``python_full_version < '3.11'``),
    for which X.Y.0 decides the same way."""
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": MACHINES[arch],
    }


def read_lock(path: Path = LOCK) -> list[Pin]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise LockError(f"cannot read {path.name}: {exc.strerror}; `make lock` writes it") from exc
    pins = []
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *hashes = re.split(r"\s+--hash=", line)
        try:
            req = Requirement(spec)
        except InvalidRequirement as exc:
            raise LockError(f"{path.name}: {line[:80]!r} is not a requirement: {exc}") from exc
        pinned = [s.version for s in req.specifier if s.operator == "=="]
        if len(req.specifier) != 1 or not pinned or not hashes:
            raise LockError(f"{path.name}: {spec} is not pinned with == and hashes; run `make lock`")
        pins.append(Pin(canonicalize_name(req.name), pinned[0], tuple(hashes), req.marker))
    return pins


def requirements(path: Path = REQUIREMENTS) -> list[Requirement]:
    lines = (raw.split("#", 1)[0].strip() for raw in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def for_target(python: str, arch: str, lock: Path = LOCK, wanted: Path | None = None) -> list[Pin]:
    """The pins that apply to the target, after checking that they still satisfy ``requirements.txt`` (by default
    the one beside the lock): a lock left behind by an edited range would otherwise build yesterday's versions
    without a word."""
    wanted = wanted or lock.parent / REQUIREMENTS.name
    env = target_environment(python, arch)
    pins = [p for p in read_lock(lock) if p.marker is None or p.marker.evaluate(env)]
    by_name = {p.name: p for p in pins}
    for req in requirements(wanted):
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        pin = by_name.get(canonicalize_name(req.name))
        if pin is None or not req.specifier.contains(pin.version, prereleases=True):
            has = f"{pin.name}=={pin.version}" if pin else "nothing"
            raise LockError(
                f"{lock.name} is out of date: {wanted.name} asks for {req}, the lock has {has} "
                f"for Python {python}/{arch}; run `make lock`"
            )
    return pins
