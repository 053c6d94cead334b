"""``dds-backup``: the local CLI (README: "Local CLI and emulator"). Installed into the project's virtualenv by make."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from dds_backup_dev.context import LocalContext
from dds_backup_dev.emulator import EmulatorServer, EmulatorState
from lib import jsonsafe

_CONFIGURED = ("DDS_ENDPOINT", "HUAWEICLOUD_SDK_AK", "OS_USERNAME")


# FunctionGraph takes at most 6 MB for a synchronous invocation.
MAX_EVENT_BYTES = 6 * 1024 * 1024


def _read_event(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
    return jsonsafe.loads(text, max_bytes=MAX_EVENT_BYTES)


def _embedded_emulator_if_unconfigured(backup_delay: float) -> EmulatorServer | None:
    if any(os.environ.get(k) for k in _CONFIGURED):
        return None
    emulator = EmulatorServer(EmulatorState.with_fixture(backup_delay=backup_delay)).start()
    os.environ.update(emulator.env())
    print(
        f"dds-backup: no DDS_ENDPOINT or credentials configured; using the embedded emulator at "
        f"{emulator.endpoint} (demo instances, demo credentials)",
        file=sys.stderr,
    )
    return emulator


def cmd_invoke(args: argparse.Namespace) -> int:
    try:
        event = _read_event(args.event)
    except OSError as exc:
        print(f"dds-backup invoke: cannot read {args.event}: {exc.strerror}", file=sys.stderr)
        return 2
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"dds-backup invoke: {args.event} is not acceptable JSON: {exc}", file=sys.stderr)
        return 2
    emulator = _embedded_emulator_if_unconfigured(args.backup_delay)
    # Imported after the environment is set, as the platform imports the handler after setting its own.
    import handler

    context = LocalContext(timeout_s=args.timeout, project_id=os.environ.get("RUNTIME_PROJECT_ID", ""))
    try:
        result = handler.handler(event, context)
    except handler.RetryRequested as exc:
        print(f"dds-backup: the handler asks the platform to retry: {exc}", file=sys.stderr)
        result = exc.result
    finally:
        if emulator is not None:
            emulator.stop()
    print(json.dumps(result, indent=2))
    for event in result.get("results", []):
        data = event.get("data", {})
        if data.get("wait_ended_early"):
            print(
                f"dds-backup: stopped waiting for backup {data.get('name')} ({data.get('backup_id')}): the time ran "
                "out while it was still BUILDING; it goes on without us (raise --timeout to wait longer)",
                file=sys.stderr,
            )
    if "statusCode" in result:  # an API Gateway answer
        return 0 if int(result["statusCode"]) < 400 else 1
    return 0 if result.get("ok") else 1


def cmd_emulator(args: argparse.Namespace) -> int:
    state = EmulatorState.with_fixture(backup_delay=args.backup_delay, latency=args.latency, rate_limit=args.rate_limit)
    state.add_synthetic_instances(args.instances)
    try:
        server = EmulatorServer(state, host=args.host, port=args.port).start()
    except (OSError, ValueError) as exc:
        print(f"dds-backup emulator: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(server.info()), flush=True)
    print(f"dds-backup emulator: listening on {server.endpoint}; Ctrl-C stops it", file=sys.stderr)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from dds_backup_dev.serve import serve
    from lib.config import allow_test_origin

    for origin in args.fake_chat_origin or []:
        try:
            allow_test_origin(origin)
        except ValueError as exc:
            print(f"dds-backup serve: --fake-chat-origin {origin}: {exc}", file=sys.stderr)
            return 2
    emulator = _embedded_emulator_if_unconfigured(args.backup_delay)
    secrets = (
        ("WEBHOOK_SECRET", "/backups"),
        ("SLACK_SIGNING_SECRET", "/slack"),
        ("TEAMS_WEBHOOK_TOKEN", "/teams"),
        ("MATTERMOST_TOKEN", "/mattermost"),
    )
    for var, route in secrets:
        if not os.environ.get(var) and os.environ.get("WEBHOOK_AUTH", "").lower() != "gateway":
            print(f"dds-backup serve: {var} is not set: {route} will answer 401 to everything", file=sys.stderr)
    try:
        asyncio.run(serve(args.host, args.port, args.timeout))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"dds-backup serve: {exc}", file=sys.stderr)
        return 2
    finally:
        if emulator is not None:
            emulator.stop()
    return 0


def cmd_generate_event(args: argparse.Namespace) -> int:
    from dds_backup_dev import events

    try:
        event = events.generate(args.kind, request=args.request, text=args.text, backup_id=args.backup_id)
    except events.UsageError as exc:
        print(f"dds-backup generate-event: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(event, indent=2))
    return 0


def cmd_secret(args: argparse.Namespace) -> int:
    """A new Standard Webhooks secret for WEBHOOK_SECRET: "whsec_" + base64 of random bytes."""
    print("whsec_" + base64.b64encode(secrets.token_bytes(args.bytes)).decode())
    return 0


def _template(path: str) -> Any:
    from dds_backup_dev.template import TemplateError, load

    try:
        return load(Path(path))
    except (TemplateError, OSError) as exc:
        print(f"dds-backup: {exc}", file=sys.stderr)
        return None


def cmd_package(args: argparse.Namespace) -> int:
    from dds_backup_dev.package import PackageError, build, local_arch

    template = _template(args.template)
    if template is None:
        return 2
    python = args.python or template.function.python_version
    arch = args.arch or ("x86_64" if not args.python else local_arch())
    default = "dds-backup-layer.zip" if args.layer else template.function.code_filename
    out = Path(args.output or Path("dist") / default)
    try:
        built = build(
            out,
            python=python,
            arch=arch,
            layer=args.layer,
            wheelhouse=Path(args.wheelhouse) if args.wheelhouse else None,
            python_bin=args.python_bin,
        )
    except PackageError as exc:
        print(f"dds-backup package: {exc}", file=sys.stderr)
        return 2
    for note in built.notes:
        print(f"dds-backup package: {note}", file=sys.stderr)
    kind = "dependency layer" if args.layer else "function package"
    print(
        f"{built.path}: {kind} for Python {python}/{arch}, {built.entries} files, {built.size} bytes "
        f"({built.size / 1024 / 1024:.1f} MiB)"
    )
    dropped = sum(built.left_out.values())
    print(
        f"  left out: {len(built.left_out)} files, {dropped} bytes ({dropped / 1024:.0f} KiB) the runtime never "
        "reads (extension sources and headers, type stubs, the dependencies' tests, RECORD)"
    )
    if built.interpreter:
        print(f"  bytecode: {built.compiled} modules compiled by {built.interpreter} (unchecked-hash .pyc)")
    return 0


def cmd_wheels(args: argparse.Namespace) -> int:
    from dds_backup_dev.package import PackageError, fetch_wheels, local_arch

    try:
        for python in args.python:
            fetch_wheels(python, args.arch or local_arch(), Path(args.dest))
    except PackageError as exc:
        print(f"dds-backup wheels: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from dds_backup_dev.check import report, run
    from lib import logs
    from lib.runtime import Invocation

    template = None
    if args.template:
        template = _template(args.template)
        if template is None:
            return 2
    emulator = _embedded_emulator_if_unconfigured(backup_delay=2.0)
    logs.configure("WARNING")  # the checklist is the output; only trouble goes to the log on stderr
    context = LocalContext(timeout_s=60, project_id=os.environ.get("RUNTIME_PROJECT_ID", ""))
    try:
        checks = asyncio.run(run(Invocation.from_context(context, time.monotonic()), template))
    finally:
        if emulator is not None:
            emulator.stop()
    result = report(checks)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for check in checks:
            print(check.line())
        failed = sum(c.status == "fail" for c in checks)
        print(f"dds-backup check: {'all good' if not failed else f'{failed} check(s) failed'}")
    return 0 if result["ok"] else 1


def cmd_render(args: argparse.Namespace) -> int:
    from dds_backup_dev.terraform import CLOUD_NAMES, build
    from dds_backup_dev.terraform.tfvars import example

    template = _template(args.template)
    if template is None:
        return 2
    out = Path(args.output or Path("dist") / "terraform" / args.cloud / "main.tf.json")
    # Relative to the module's folder, where terraform runs.
    package = os.path.relpath(Path(args.package).resolve(), out.parent.resolve())
    deployment = build(template, args.cloud, package=package)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(deployment.doc, indent=2) + "\n")
    tfvars = out.parent / "terraform.tfvars.example"
    tfvars.write_text(example(deployment.variables, CLOUD_NAMES[args.cloud]))
    count = sum(len(v) for v in deployment.doc["resource"].values())
    print(f"{out}: {count} resources for the {args.cloud} provider, each created only when its variables ask for it")
    print(f"{tfvars}: the variables; a timer-only deployment sets region and default_request")
    return 0


def _secret_size(text: str) -> int:
    size = int(text)
    if not 24 <= size <= 64:
        raise argparse.ArgumentTypeError("a Standard Webhooks secret holds 24 to 64 bytes")
    return size


def _add_packaging(sub: Any) -> None:
    package = sub.add_parser("package", help="build dist/dds-backup.zip (handler, lib, vendored dependencies)")
    package.add_argument("--python", help="target CPython X.Y (default: the template's runtime)")
    package.add_argument("--arch", choices=["x86_64", "arm64"], help="target architecture (default x86_64)")
    package.add_argument("--layer", action="store_true", help="the dependencies alone, as a FunctionGraph dependency")
    package.add_argument("--wheelhouse", help="build offline from wheels in this folder (default: PyPI)")
    package.add_argument(
        "--python-bin",
        help="the CPython X.Y that compiles the bytecode (default: this Python if it is X.Y, else pythonX.Y on "
        "PATH or in pyenv; with none, the zip ships sources only)",
    )
    package.add_argument("--template", default="template.yaml")
    package.add_argument("--output", help="zip path (default dist/<code_filename>)")
    package.set_defaults(func=cmd_package)

    wheels = sub.add_parser("wheels", help="download the locked runtime dependencies' wheels into a wheelhouse")
    wheels.add_argument("--python", action="append", required=True, help="CPython X.Y; repeat for several")
    wheels.add_argument("--arch", choices=["x86_64", "arm64"])
    wheels.add_argument("--dest", required=True)
    wheels.set_defaults(func=cmd_wheels)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dds-backup", description="Local tools for the dds-backup function.")
    sub = parser.add_subparsers(dest="command", required=True)

    invoke = sub.add_parser("invoke", help="run the handler once with a local context")
    invoke.add_argument("event", nargs="?", default="-", help="event JSON file, or - for stdin (default)")
    invoke.add_argument("--timeout", type=int, default=60, help="the function timeout to simulate, seconds")
    invoke.add_argument(
        "--backup-delay", type=float, default=2.0, help="embedded emulator: seconds until a backup completes"
    )
    invoke.set_defaults(func=cmd_invoke)

    emulator = sub.add_parser("emulator", help="run the DDS API emulator alone")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8950)
    emulator.add_argument("--backup-delay", type=float, default=2.0, help="seconds until a backup completes")
    emulator.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    emulator.add_argument(
        "--instances", type=int, default=0, help="also seed N instances bench-0000.. tagged fleet=bench"
    )
    emulator.add_argument(
        "--rate-limit", type=float, default=None, help="DDS calls a second per project before 429 DBS.280443"
    )
    emulator.set_defaults(func=cmd_emulator)
    serve = sub.add_parser("serve", help="play API Gateway locally: HTTP requests -> APIG events -> handler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--timeout", type=int, default=60, help="the function timeout to simulate, seconds")
    serve.add_argument("--backup-delay", type=float, default=2.0, help="embedded emulator: seconds until complete")
    serve.add_argument(
        "--fake-chat-origin",
        action="append",
        metavar="http://127.0.0.1:PORT",
        help="a local stand-in for Slack/Teams/Mattermost that may receive follow-ups (loopback only; for tests)",
    )
    serve.set_defaults(func=cmd_serve)

    gen = sub.add_parser("generate-event", help="print a sample event, signed with the configured secret")
    kinds = ["apig", "apig-status", "slack", "teams", "mattermost", "timer", "direct", "smn", "kafka", "rocketmq"]
    gen.add_argument("kind", choices=kinds)
    gen.add_argument("--request", help="backup request JSON (default: a request for a demo instance)")
    gen.add_argument("--text", default="orders-prod before the release", help="chat kinds: the command text")
    gen.add_argument("--backup-id", default="", help="apig-status: the backup to ask about")
    gen.set_defaults(func=cmd_generate_event)

    secret = sub.add_parser("secret", help="print a new whsec_ secret for WEBHOOK_SECRET (random, 32 bytes)")
    secret.add_argument("--bytes", type=_secret_size, default=32, help="24-64 random bytes (default 32)")
    secret.set_defaults(func=cmd_secret)

    _add_packaging(sub)

    _add_check(sub)
    _add_render(sub)
    return parser


def _add_render(sub: Any) -> None:
    render = sub.add_parser("render", help="render deployment code from template.yaml")
    render.add_argument("format", choices=["terraform"])
    render.add_argument("--cloud", choices=["otc", "huaweicloud"], required=True)
    render.add_argument("--template", default="template.yaml")
    render.add_argument("--package", default="dist/dds-backup.zip", help="the zip the function is deployed from")
    render.add_argument(
        "--output", help="default dist/terraform/<cloud>/main.tf.json (terraform.tfvars.example goes next to it)"
    )
    render.set_defaults(func=cmd_render)


def _add_check(sub: Any) -> None:
    check = sub.add_parser(
        "check", help="read-only preflight: credentials, DDS, requests, topics, secrets (with the configuration)"
    )
    check.add_argument("--template", help="also resolve every timer's request and check the timeout (template.yaml)")
    check.add_argument("--json", action="store_true", help="the checks as one JSON document")
    check.set_defaults(func=cmd_check)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
