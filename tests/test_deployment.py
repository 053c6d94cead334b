"""Deployment: template.yaml validation, the package FunctionGraph runs, and the deployment guide
(the Terraform rendering is in test_terraform.py)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from dds_backup_dev import cli, package
from dds_backup_dev.bytecode import find_interpreter, pyc_name
from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.lock import LockError, for_target, read_lock
from dds_backup_dev.package import Built, PackageError, build, fetch_wheels, left_out, local_arch
from dds_backup_dev.template import ROUTES, TemplateError, check_cron, load
from tests.conftest import ROOT

# The whole module builds and runs packages in processes: not in `make test-fast`.
pytestmark = pytest.mark.servers

WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
LOCAL_PYTHON = "{}.{}".format(*sys.version_info[:2])


def _has_locked_wheels(python: str) -> bool:
    names = [p.name for p in WHEELHOUSE.glob("*.whl")]
    tags = (f"-cp{python.replace('.', '')}-", "-py3-none-", "-abi3-")
    for pin in for_target(python, local_arch()):
        prefix = f"{pin.name.replace('-', '_')}-{pin.version}-"
        if not any(n.startswith(prefix) and any(t in n for t in tags) for n in names):
            return False
    return True


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """The locked runtime dependencies' wheels for this Python and for 3.12. `make` downloads them while
    setting up .venv (so that the tests themselves stay on loopback); a plain `pytest` on a fresh venv gets the
    same set-up step here, once."""
    for python in sorted({LOCAL_PYTHON, "3.12"}):
        if not _has_locked_wheels(python):
            fetch_wheels(python, local_arch(), WHEELHOUSE)
    return WHEELHOUSE


# -- template.yaml -------------------------------------------------------------------------------------------


def test_the_project_template_is_valid() -> None:
    template = load(ROOT / "template.yaml")
    assert template.function.handler == "handler.handler"
    kinds = [t.trigger_type_code for t in template.triggers]
    assert {"TIMER", "SMN", "KAFKA", "DEDICATEDGATEWAY"} <= set(kinds)
    routes = {t.event_data["path"] for t in template.triggers if t.trigger_type_code == "DEDICATEDGATEWAY"}
    assert routes == set(ROUTES) == {"/backups", "/backups/{backup_id}", "/slack", "/teams", "/mattermost"}


@pytest.mark.parametrize(
    ("change", "marker", "fragment"),
    [
        (("function:", "function:\n  colour: blue"), "colour: blue", "colour: unknown field"),
        (("handler: handler.handler", "handler: handler.missing"), "handler: handler.missing", "no top-level function"),
        (("handler: handler.handler", "handler: nowhere.handler"), "handler: nowhere", "nowhere.py does not exist"),
        (("runtime: Python3.12 ", "runtime: Python2.7 "), "runtime: Python2.7", "Python3.10"),
        (
            ("schedule: ${var.backup_schedule}", 'schedule: "0 0 25 * * ?"'),
            "0 0 25 * * ?",
            "hours: '25' is outside 0-23",
        ),
        (
            ("    LOG_LEVEL: INFO", "    LOG_LEVEL: INFO\n    DDS_ENDPIONT: x"),
            "DDS_ENDPIONT: x",
            "unknown variable DDS_ENDPIONT: did you mean DDS_ENDPOINT?",
        ),
        (("    LOG_LEVEL: INFO", "    LOG_LEVEL: INFO\n    OS_PASSWORD: x"), "OS_PASSWORD: x", "is a secret"),
        (("    LOG_LEVEL: INFO", "    LOG_LEVEL: INFO\n    LOG_LEVEL: DEBUG"), "LOG_LEVEL: DEBUG", "written twice"),
        (("max_async_retry_attempts: 3 ", "max_async_retry_attempts: 9 "), "attempts: 9", "less than or equal to 3"),
        (("path: /slack", "path: /slack/extra"), "path: /slack/extra", "the function answers"),
        (("path: /teams", "path: /team"), "path: /team", "/teams, /mattermost"),
    ],
)
def test_bad_templates_name_the_line_and_the_problem(
    tmp_path: Path, change: tuple[str, str], marker: str, fragment: str
) -> None:
    text = (ROOT / "template.yaml").read_text()
    assert change[0] in text
    text = text.replace(change[0], change[1], 1)
    line = next(n for n, content in enumerate(text.splitlines(), 1) if marker in content)
    bad = tmp_path / "template.yaml"
    bad.write_text(text)
    with pytest.raises(TemplateError) as caught:
        load(bad)
    message = str(caught.value)
    assert fragment in message
    assert re.search(rf"template\.yaml:{line}\b", message), message


def test_every_problem_of_a_template_is_named_in_one_run_each_on_its_line(tmp_path: Path) -> None:
    # GIVEN a template with six problems in different places, two of them in one mapping
    text = (ROOT / "template.yaml").read_text()
    changes = [
        ("memory_size: 256 ", "memory_size: 99 "),
        ("    LOG_LEVEL: INFO\n", '    LOG_LEVEL: INFO\n    BOGUS: x\n    OS_PASSWORD: y\n    MAX_CONCURRENCY: "3"\n'),
        ("      name: nightly-backup\n", "      name: 9nightly\n"),
        ("      batch_size: 100", "      batch_size: 5000"),
        ("      path: /slack\n", "      path: /slackx\n"),
    ]
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    bad = tmp_path / "template.yaml"
    bad.write_text(text)
    lines = text.splitlines()

    def line_of(marker: str) -> int:
        return next(n for n, content in enumerate(lines, 1) if marker in content)

    # WHEN it is loaded
    with pytest.raises(TemplateError) as caught:
        load(bad)
    # THEN each problem is reported, in the order of the file, on the line it is on
    reported = str(caught.value).splitlines()
    expected = [
        (line_of("memory_size: 99"), "function.memory_size"),
        (line_of("BOGUS: x"), "function.user_data.BOGUS: unknown variable BOGUS"),
        (line_of("OS_PASSWORD: y"), "function.user_data.OS_PASSWORD: OS_PASSWORD is a secret"),
        (
            line_of('MAX_CONCURRENCY: "10"'),
            "function.user_data.MAX_CONCURRENCY: written twice (first on line "
            + str(line_of('CONCURRENCY: "3"'))
            + ")",
        ),
        (line_of("name: 9nightly"), "triggers.0.event_data.name"),
        (line_of("batch_size: 5000"), "triggers.4.event_data.batch_size"),
        (line_of("path: /slackx"), "triggers.7.event_data.path: the function answers"),
    ]
    assert len(reported) == len(expected), reported
    for (line, start), got in zip(expected, reported, strict=True):
        assert got.startswith(f"template.yaml:{line}: {start}"), got


def test_too_many_variable_characters_are_reported_beside_other_problems(tmp_path: Path) -> None:
    text = (ROOT / "template.yaml").read_text()
    text = text.replace("memory_size: 256 ", "memory_size: 99 ", 1)
    text = text.replace("    LOG_LEVEL: INFO\n", f"    LOG_LEVEL: INFO\n    SLACK_ALLOWED_USERS: {'x' * 4200}\n", 1)
    bad = tmp_path / "template.yaml"
    bad.write_text(text)
    with pytest.raises(TemplateError) as caught:
        load(bad)
    message = str(caught.value)
    assert "function.memory_size" in message
    assert "FunctionGraph allows 4096" in message


def test_the_handler_is_looked_for_next_to_the_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the project's template in a folder without the code, read from a folder without it either
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "template.yaml").write_text((ROOT / "template.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TemplateError, match=r"handler.py does not exist in the code root \(looked in "):
        load(tmp_path / "elsewhere" / "template.yaml")
    # WHEN the code is next to it THEN it is valid
    shutil.copy(ROOT / "handler.py", tmp_path / "elsewhere" / "handler.py")
    assert load(tmp_path / "elsewhere" / "template.yaml").function.handler == "handler.handler"


@pytest.mark.parametrize(
    ("schedule", "ok"),
    [
        ("0 30 12 ? * MON-FRI", True),
        ("CRON_TZ=Europe/Berlin 0 0 12 * * *", True),
        ("0 */15 * * * ?", True),
        ("@every 2h30m", True),
        ("0 0 12 * *", True),  # day-of-week is optional
        ("0 60 12 * * *", False),
        ("0 0 12 32 * *", False),
        ("0 0 12 * 13 *", False),
        ("0 0 12 * * FUNDAY", False),
        ("every day", False),
        ("0 */0 * * * *", False),
    ],
)
def test_cron_expressions(schedule: str, ok: bool) -> None:
    if ok:
        check_cron(schedule)
    else:
        with pytest.raises(ValueError):  # noqa: PT011 - the message is checked through the template tests
            check_cron(schedule)


# -- the package ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_package(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The function package for this Python (so that a child interpreter can run it), built once."""
    out = tmp_path_factory.mktemp("package") / "fn.zip"
    return build(out, python=LOCAL_PYTHON, arch=local_arch(), wheelhouse=wheelhouse)


def _unzip(built: Built, where: Path) -> list[str]:
    with zipfile.ZipFile(built.path) as zf:
        zf.extractall(where)
        return zf.namelist()


def _dist_infos(names: list[str]) -> set[str]:
    return {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}


def test_the_package_runs_a_timer_event_in_a_bare_interpreter(
    local_package: Built, tmp_path: Path, emulator: EmulatorServer
) -> None:
    """The zip is lean and still whole: what it leaves out is never needed, neither by the timer event nor by
    importing any module of ours; every vendored distribution keeps its licence; the versions are the lock's."""
    built = local_package
    code = tmp_path / "code"
    names = _unzip(built, code)
    # Only what the function needs: no tests, no emulator, no dev CLI.
    assert "handler.py" in names and "lib/pipeline.py" in names
    assert not [n for n in names if n.startswith(("tests/", "dds_backup_dev/", "bench/"))]
    # Lean: what the runtime never reads was left out, and said so.
    assert not [n for n in names if left_out(n)]
    for gone in ("aiohttp/_http_parser.pyx", "aiohttp/pytest_plugin.py", "attr/__init__.pyi", "pydantic/py.typed"):
        assert gone in built.left_out and gone not in names
    assert any(n.startswith("multidict/_testcapi.") for n in built.left_out)
    # Licences stay, one or more per distribution; the distributions are exactly the lock's.
    for dist in _dist_infos(names):
        assert [n for n in names if n.startswith(dist + "/") and re.search("LICEN[CS]E|COPYING", n)], dist
        assert f"{dist}/METADATA" in names
    locked = {(p.name, p.version) for p in for_target(LOCAL_PYTHON, local_arch())}
    shipped = [d.removesuffix(".dist-info").split("-") for d in _dist_infos(names)]
    assert {(canonicalize_name(name), version) for name, version in shipped} == locked
    event = json.dumps(json.loads((ROOT / "events/timer.json").read_text()))
    probe = f"""
import sys, json, pkgutil, importlib
sys.path.insert(0, {str(code)!r})
import handler, aiohttp, pydantic
assert handler.__file__.startswith({str(code)!r}) and aiohttp.__file__.startswith({str(code)!r}), sys.path
class Ctx:
    def getRequestID(self): return "pkg-test"
    def getRunningTimeInSeconds(self): return 30
result = handler.handler(json.loads({event!r}), Ctx())
import lib
for info in pkgutil.walk_packages(lib.__path__, "lib."):
    importlib.import_module(info.name)
print(json.dumps(result))
"""
    env = {**emulator.env("aksk"), "PATH": "/usr/bin:/bin"}
    # -I: isolated (no user site, no PYTHON* variables); -S: no site-packages either: only the unzipped package.
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"] is True
    assert result["results"][0]["data"]["outcome"] == "created"
    assert len(emulator.state.backups) == 1


_NO_COMPILE_PROBE = """
import importlib, json, os, pkgutil, sys
import _frozen_importlib_external as external

code = sys.argv[1]
compiled = []
compile_from_source = external.SourceLoader.source_to_code


def counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return compile_from_source(self, data, path, *args, **kwargs)


external.SourceLoader.source_to_code = counting
sys.path.insert(0, code)
import handler


class Ctx:
    def getRequestID(self): return "pyc-test"
    def getRunningTimeInSeconds(self): return 30


result = handler.handler(json.loads(sys.argv[2]), Ctx())
import lib
for info in pkgutil.walk_packages(lib.__path__, "lib."):
    importlib.import_module(info.name)
ours = [m for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").startswith(code)]
sources = [m for m in ours if m.__file__.endswith(".py")]
print(json.dumps({
    "ok": result["ok"],
    "compiled": [p for p in compiled if p.startswith(code)],
    "modules": len(sources),
    "without_pyc": [m.__name__ for m in sources if not (m.__cached__ and os.path.exists(m.__cached__))],
}))
"""


def _no_compile_probe(code: Path, env: dict[str, str]) -> dict[str, Any]:
    event = json.dumps(json.loads((ROOT / "events/timer.json").read_text()))
    # -I -S: only the package on the path; -B: nothing written, whatever the directory allows.
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", _NO_COMPILE_PROBE, str(code), event],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_no_module_of_the_package_is_compiled_at_import(
    local_package: Built, tmp_path: Path, emulator: EmulatorServer
) -> None:
    """The proof is the compiler itself. In a fresh interpreter with only the unzipped package on its path, the
    probe replaces ``SourceLoader.source_to_code``, the one place where the import system compiles a module
    from source (a .pyc that is missing, for another Python or rejected all end there), with a counter; then it
    imports the handler, serves a timer event against the emulator and imports every module of lib. No call may
    name a file of the package, and every module loaded from it must name an existing .pyc. The directory is
    read-only, as on the platform; as root the mode bits do not stop writes, which is why the proof is the
    counter rather than the absence of new files. The same probe on the same files without their
    ``__pycache__`` counts every module: the counter does count."""
    code = tmp_path / "code"
    names = _unzip(local_package, code)
    sources = [n for n in names if n.endswith(".py")]
    assert local_package.interpreter is not None and local_package.compiled == len(sources)
    assert {pyc_name(n, LOCAL_PYTHON) for n in sources} <= set(names)
    bare = tmp_path / "sources-only"
    shutil.copytree(code, bare, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**emulator.env("aksk"), "PATH": "/usr/bin:/bin"}
    subprocess.run(["chmod", "-R", "a-w", str(code)], check=True)
    try:
        packaged = _no_compile_probe(code, env)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(code)], check=True)
    assert packaged["ok"] is True
    assert packaged["compiled"] == [] and packaged["without_pyc"] == []
    assert packaged["modules"] > 100  # aiohttp, pydantic, ours: the check looked at them all
    control = _no_compile_probe(bare, env)
    assert len(control["compiled"]) == control["modules"] == packaged["modules"]


@pytest.mark.parametrize("python", sorted({LOCAL_PYTHON, "3.12"}))
def test_the_package_is_reproducible_with_its_bytecode(wheelhouse: Path, tmp_path: Path, python: str) -> None:
    first = build(tmp_path / "a.zip", python=python, arch="x86_64", wheelhouse=wheelhouse)
    second = build(tmp_path / "b.zip", python=python, arch="x86_64", wheelhouse=wheelhouse)
    assert hashlib.sha256(first.path.read_bytes()).digest() == hashlib.sha256(second.path.read_bytes()).digest()
    with zipfile.ZipFile(first.path) as zf:
        names = zf.namelist()
        dates = {i.date_time for i in zf.infolist()}
    assert dates == {(1980, 1, 1, 0, 0, 0)}
    pycs = {n for n in names if n.endswith(".pyc")}
    if find_interpreter(python):  # always for this Python; for 3.12 where one is installed
        assert first.interpreter and pycs == {pyc_name(n, python) for n in names if n.endswith(".py")}
    else:
        assert first.interpreter is None and not pycs and first.notes
    if python == "3.12":
        binaries = [n for n in names if n.endswith(".so")]
        assert binaries and all("cpython-312-x86_64-linux-gnu" in n for n in binaries), binaries
        assert any(n.startswith("pydantic_core/") for n in binaries)


def test_the_layer_holds_the_dependencies_alone(wheelhouse: Path, tmp_path: Path) -> None:
    layer = build(tmp_path / "layer.zip", python="3.12", arch="x86_64", layer=True, wheelhouse=wheelhouse).path
    names = zipfile.ZipFile(layer).namelist()
    assert "handler.py" not in names and not [n for n in names if n.startswith("lib/")]
    assert any(n.startswith("aiohttp/") for n in names)


def test_a_target_without_wheels_is_refused(wheelhouse: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dds_backup_dev.cli",
            "package",
            "--python",
            "3.12",
            "--arch",
            "arm64",
            "--wheelhouse",
            str(wheelhouse),
            "--output",
            str(tmp_path / "x.zip"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "no wheels for Python 3.12/arm64" in proc.stderr


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def test_a_python_of_the_target_version_is_found_past_a_broken_shim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pyenv shim on PATH names a version that is not the active one: it runs, fails, and is passed over.
    _write(tmp_path / "bin" / "python3.99", "#!/bin/sh\necho 'pyenv: python3.99: command not found' >&2\nexit 127\n")
    real = tmp_path / "pyenv" / "versions" / "3.99.1" / "bin" / "python3.99"
    _write(real, "#!/bin/sh\necho cpython 3.99\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    assert find_interpreter("3.99") == str(real)
    real.unlink()
    assert find_interpreter("3.99") is None
    assert find_interpreter(LOCAL_PYTHON) == sys.executable


def test_without_an_interpreter_the_package_ships_sources_and_says_so(
    wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(package, "find_interpreter", lambda python: None)
    out = tmp_path / "fn.zip"
    args = ["package", "--python", "3.12", "--arch", "x86_64", "--wheelhouse", str(wheelhouse), "--output", str(out)]
    assert cli.main([*args, "--template", str(ROOT / "template.yaml")]) == 0
    printed = capfd.readouterr()
    assert "no CPython 3.12 found" in printed.err and "ships sources only" in printed.err
    assert "left out:" in printed.out and "bytecode:" not in printed.out
    assert not [n for n in zipfile.ZipFile(out).namelist() if n.endswith(".pyc")]


def test_a_python_bin_of_another_version_is_refused(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    other = "3.10" if LOCAL_PYTHON != "3.10" else "3.11"
    args = [
        "package",
        "--python",
        other,
        "--force",
        "--python-bin",
        sys.executable,
        "--output",
        str(tmp_path / "x.zip"),
    ]
    assert cli.main([*args, "--template", str(ROOT / "template.yaml")]) == 2
    assert f"is cpython {LOCAL_PYTHON}, not CPython {other}" in capfd.readouterr().err
    assert not (tmp_path / "x.zip").exists()


def test_a_python_other_than_the_templates_runtime_is_refused_unless_forced(
    wheelhouse: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the template's runtime Python3.12 and a build asked for another (this one, whose wheels are at hand)
    other = LOCAL_PYTHON if LOCAL_PYTHON != "3.12" else "3.10"
    out = tmp_path / "fn.zip"
    args = ["package", "--python", other, "--arch", local_arch(), "--wheelhouse", str(wheelhouse), "--output", str(out)]
    args += ["--template", str(ROOT / "template.yaml")]
    # WHEN it is not forced THEN nothing is built and both versions are named
    assert cli.main(args) == 2
    err = capfd.readouterr().err
    assert f"--python {other} is not the runtime of" in err and "function.runtime: Python3.12" in err
    assert "--force" in err
    assert not out.exists()
    # WHEN it is forced THEN the zip is built for that Python
    if _has_locked_wheels(other):
        assert cli.main([*args, "--force"]) == 0
        assert f"for Python {other}/{local_arch()}" in capfd.readouterr().out
        assert out.exists()


def test_packaging_outside_the_project_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["package"]) == 2
    assert f"no template.yaml in {tmp_path}: run this in the dds-backup project" in capfd.readouterr().err
    # A template without the code next to it cannot be packaged either
    (tmp_path / "template.yaml").write_text((ROOT / "template.yaml").read_text())
    shutil.copy(ROOT / "handler.py", tmp_path / "handler.py")
    assert cli.main(["package", "--output", str(tmp_path / "x.zip")]) == 2
    assert "but not lib/__init__.py, requirements.lock" in capfd.readouterr().err


# -- the lock -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("python", ["3.10", "3.11", "3.12"])
@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_the_lock_pins_every_runtime_requirement_for_every_target(python: str, arch: str) -> None:
    pins = for_target(python, arch)
    names = [p.name for p in pins]
    assert len(names) == len(set(names)), "one version per package and target"
    assert {"aiohttp", "pydantic", "python-json-logger", "pydantic-core"} <= set(names)
    assert all(p.hashes and all(h.startswith("sha256:") for h in p.hashes) for p in pins)
    # Only the targets that need it get it (aiohttp needs async-timeout before 3.11).
    assert ("async-timeout" in names) == (python == "3.10")


def test_a_lock_behind_requirements_txt_is_refused(tmp_path: Path) -> None:
    wanted = tmp_path / "requirements.txt"
    wanted.write_text("aiohttp>=99\npydantic>=2.6,<3\n")
    with pytest.raises(LockError, match=r"out of date: requirements.txt asks for aiohttp>=99.*make lock"):
        for_target("3.12", "x86_64", wanted=wanted)


@pytest.mark.parametrize(
    "line",
    [
        "aiohttp>=3.9 --hash=sha256:00",  # not pinned
        "aiohttp==3.9.5",  # no hashes
    ],
)
def test_a_lock_line_without_pin_or_hashes_is_refused(tmp_path: Path, line: str) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(f"# comment\n{line}\n")
    with pytest.raises(LockError, match="not pinned with == and hashes"):
        read_lock(lock)
    with pytest.raises(PackageError, match="not pinned"):
        fetch_wheels("3.12", "x86_64", tmp_path / "wheels", lock=lock)


# -- the deployment guide ------------------------------------------------------------------------------------


def test_the_deployment_guide_lists_exactly_the_actions_the_client_needs() -> None:
    from lib.dds.client import IAM_ACTIONS, DdsClient

    guide = (ROOT / "docs" / "deployment.md").read_text()
    public = {n for n in vars(DdsClient) if not n.startswith("_") and callable(getattr(DdsClient, n))}
    # Every call path is covered: list_backups and find_backup_by_name go through iter_backups, show_job is
    # documented as having no action of its own.
    assert public - set(IAM_ACTIONS) == {"list_backups", "find_backup_by_name", "show_job"}
    for action in IAM_ACTIONS.values():
        assert f"`{action}`" in guide, action
    assert set(re.findall(r"`(dds:[a-zA-Z:]+)`", guide)) - {"dds:backup:create"} == set(IAM_ACTIONS.values())
    from lib.smn.client import IAM_ACTION as SMN_ACTION

    assert f"`{SMN_ACTION}`" in guide
