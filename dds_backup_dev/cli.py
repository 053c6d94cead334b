"""``dds-backup``: the local CLI (CONTRACT.md section 7). Installed into the project's virtualenv by make."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from typing import Any

from dds_backup_dev.context import LocalContext
from dds_backup_dev.emulator import EmulatorServer, EmulatorState

_CONFIGURED = ("DDS_ENDPOINT", "HUAWEICLOUD_SDK_AK", "OS_USERNAME")


def _read_event(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
    return json.loads(text)


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
    except ValueError as exc:
        print(f"dds-backup invoke: {args.event} is not JSON: {exc}", file=sys.stderr)
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
    if "statusCode" in result:  # an API Gateway answer
        return 0 if int(result["statusCode"]) < 400 else 1
    return 0 if result.get("ok") else 1


def cmd_emulator(args: argparse.Namespace) -> int:
    state = EmulatorState.with_fixture(backup_delay=args.backup_delay, latency=args.latency)
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

    emulator = _embedded_emulator_if_unconfigured(args.backup_delay)
    for var, route in (("WEBHOOK_SECRET", "/backups"), ("SLACK_SIGNING_SECRET", "/slack")):
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
    emulator.set_defaults(func=cmd_emulator)
    serve = sub.add_parser("serve", help="play API Gateway locally: HTTP requests -> APIG events -> handler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--timeout", type=int, default=60, help="the function timeout to simulate, seconds")
    serve.add_argument("--backup-delay", type=float, default=2.0, help="embedded emulator: seconds until complete")
    serve.set_defaults(func=cmd_serve)

    gen = sub.add_parser("generate-event", help="print a sample event, signed with the configured secret")
    gen.add_argument("kind", choices=["apig", "apig-status", "slack", "timer", "direct", "smn", "kafka", "rocketmq"])
    gen.add_argument("--request", help="backup request JSON (default: a request for a demo instance)")
    gen.add_argument("--text", default="orders-prod before the release", help="slack: the command text")
    gen.add_argument("--backup-id", default="", help="apig-status: the backup to ask about")
    gen.set_defaults(func=cmd_generate_event)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
