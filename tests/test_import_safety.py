"""The deployed function must use its own ``lib`` even when a different ``lib`` is on the path first, or was
imported first (Huawei's Python guide warns about packages named like common modules)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The whole module imports in fresh interpreters: not in `make test-fast`.
pytestmark = pytest.mark.servers

PROBE = """
import sys
sys.path.insert(0, {decoy!r})
{preimport}
sys.path.append({root!r})
import handler
import lib, lib.pipeline
print(lib.__file__)
print(hasattr(lib, "DECOY"))
"""


def run_probe(tmp_path: Path, preimport: bool) -> list[str]:
    decoy = tmp_path / "decoy"
    (decoy / "lib").mkdir(parents=True)
    (decoy / "lib" / "__init__.py").write_text("DECOY = True\n")
    code = PROBE.format(decoy=str(decoy), root=str(ROOT), preimport="import lib" if preimport else "")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_a_decoy_lib_earlier_on_the_path_is_not_used(tmp_path: Path) -> None:
    lib_file, decoy = run_probe(tmp_path, preimport=False)
    assert lib_file == str(ROOT / "lib" / "__init__.py")
    assert json.loads(decoy.lower()) is False


def test_a_decoy_lib_imported_before_the_handler_is_replaced(tmp_path: Path) -> None:
    lib_file, decoy = run_probe(tmp_path, preimport=True)
    assert lib_file == str(ROOT / "lib" / "__init__.py")
    assert json.loads(decoy.lower()) is False
