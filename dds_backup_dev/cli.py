"""``dds-backup``: the local CLI (docs/cli.md). ``pip install .`` installs it as a tool; ``make`` into .venv.

One function per subcommand: ``cmd_<name>(args, activity)`` runs it and returns the exit status, ``_add_<name>``
declares its options; ``COMMANDS`` lists them in the order ``--help`` shows. ``activity`` is what the command is
doing now: long waits print it on stderr (``console.Heartbeat``), and ``main`` prints it in one line when the
user presses Ctrl-C (exit 130). A closed stdout (``| head``) ends the command quietly.

Files of the project (template.yaml, events, the code to package) are looked for where the user is
(``project``), never where the tool is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dds_backup_dev import project
from dds_backup_dev.console import Activity, Heartbeat, say, watching
from dds_backup_dev.context import LocalContext
from dds_backup_dev.emulator import EmulatorServer, EmulatorState

_CONFIGURED = ("DDS_ENDPOINT", "HUAWEICLOUD_SDK_AK", "OS_USERNAME")
# FunctionGraph takes at most 6 MB for a synchronous invocation.
MAX_EVENT_BYTES = 6 * 1024 * 1024
#: The function's timeout when no template.yaml says it (the project's template says the same).
DEFAULT_TIMEOUT_S = 300
#: API Gateway gives a backend at most 60 s; ``serve`` plays API Gateway.
APIG_TIMEOUT_S = 60
#: Exit statuses beyond 0/1/2: interrupted (128 + SIGINT), stdout closed (128 + SIGPIPE), as shells report them.
INTERRUPTED = 130
CLOSED_PIPE = 141
SERVE_URL = "http://127.0.0.1:3000"

Command = Callable[[argparse.Namespace, Activity], int]


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("dds-backup")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


# -- shared pieces --------------------------------------------------------------------------------------------


def _fail(command: str, message: str, status: int = 2) -> int:
    say(f"dds-backup {command}: {message}")
    return status


class _Embedded:
    """The DDS emulator this process runs when nothing else is configured (``invoke``, ``serve``, ``check``)."""

    def __init__(self, backup_delay: float, history: Callable[[EmulatorState], None] | None = None) -> None:
        """``history`` seeds the demo instances' backups (the report's demo)."""
        from lib.config import KNOWN_REGIONS

        self.server: EmulatorServer | None = None
        if any(os.environ.get(k) for k in _CONFIGURED):
            return
        region = os.environ.get("REGION", "").strip()
        if region and region not in KNOWN_REGIONS:
            return  # the emulator's DDS_ENDPOINT would make a mistyped region look valid: the function says it
        state = EmulatorState.with_fixture(backup_delay=backup_delay)
        if history is not None:
            history(state)
        self.server = EmulatorServer(state).start()
        os.environ.update(self.server.env())
        seeded = ", 30 days of demo backups" if history is not None else ""
        say(
            f"dds-backup: no DDS_ENDPOINT or credentials configured; using the embedded emulator at "
            f"{self.server.endpoint} (demo instances{seeded}, demo credentials)"
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def _template(command: str, given: str | None) -> Any:
    """The validated template, or None after saying why (every problem, each with its line)."""
    from dds_backup_dev.template import TemplateError, load

    try:
        path = project.template(given)
    except project.NotFound as exc:
        _fail(command, str(exc))
        return None
    try:
        return load(path)
    except TemplateError as exc:
        _fail(command, f"{path} has problems:\n{exc}")
    except OSError as exc:
        _fail(command, f"cannot read {path}: {exc.strerror}")
    return None


def _audit_command(instance_ids: list[str]) -> str:
    """A read-only request that lists an instance's BUILDING backups and its newest completed one."""
    selection: dict[str, Any] = {"instance_ids": instance_ids} if instance_ids else {"selector": {"all": True}}
    request = json.dumps({**selection, "audit": {"max_age_hours": 1}})
    return f"echo '{request}' | dds-backup invoke -"


# -- invoke ----------------------------------------------------------------------------------------------------


class _InvokeWatch:
    """What the handler is doing, read from its log records: progress lines and the line after an interrupt."""

    def __init__(self, activity: Activity, embedded: bool) -> None:
        self.activity = activity
        self.embedded = embedded
        self.calling = False
        self.started: list[tuple[str, str]] = []  # (instance id, backup id)

    def record(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        backup_id = getattr(record, "dds.backup_id", None)
        if message == "invocation started":
            self.calling = True
            self.activity.set("running the handler")
        elif message == "backup created" and backup_id:
            instance = str(getattr(record, "dds.instance_id", ""))
            self.started.append((instance, str(backup_id)))
            self.activity.set(f"backup {backup_id} of instance {instance} is building")
        elif hasattr(record, "retry.delay_s"):
            self.activity.set(f"waiting to try again ({message})")
        elif message == "invocation finished":
            self.activity.set("writing the results")

    def interrupted(self, _: Activity) -> str:
        if self.embedded:
            return "nothing goes on: the embedded emulator stopped with it"
        if self.started:
            ids = ", ".join(backup for _, backup in self.started)
            command = _audit_command(sorted({instance for instance, _ in self.started}))
            return f"backup {ids} goes on in DDS and may still complete; `{command}` shows it"
        if self.calling:
            return (
                "a backup request may have reached DDS, and then its backup may still complete; "
                f"`{_audit_command([])}` lists what is building"
            )
        return "nothing was sent to DDS"


def cmd_invoke(args: argparse.Namespace, activity: Activity) -> int:
    from lib import jsonsafe
    from lib.logs import LOGGER_NAME

    activity.set(f"reading {args.event}")
    try:
        path = "-" if args.event == "-" else str(project.event_file(args.event))
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        event = jsonsafe.loads(text, max_bytes=MAX_EVENT_BYTES)
    except project.NotFound as exc:
        return _fail("invoke", str(exc))
    except OSError as exc:
        return _fail("invoke", f"cannot read {args.event}: {exc.strerror}")
    except (ValueError, UnicodeDecodeError) as exc:
        return _fail("invoke", f"{args.event} is not acceptable JSON: {exc}")
    timeout = args.timeout or _template_timeout()
    embedded = _Embedded(args.backup_delay)
    watch = _InvokeWatch(activity, embedded.server is not None)
    activity.interrupted = watch.interrupted
    activity.set("starting the handler", until=time.time() + timeout)
    # Imported after the environment is set, as the platform imports the handler after setting its own.
    import handler

    context = LocalContext(timeout_s=timeout, project_id=os.environ.get("RUNTIME_PROJECT_ID", ""))
    try:
        with Heartbeat(activity, quiet=args.quiet), watching(LOGGER_NAME, watch.record):
            result = handler.handler(event, context)
    except handler.RetryRequested as exc:
        say(f"dds-backup: the handler asks the platform to retry: {exc}")
        result = exc.result
    finally:
        embedded.stop()
    print(json.dumps(result, indent=2), flush=True)
    for item in result.get("results", []):
        data = item.get("data", {})
        if data.get("wait_ended_early"):
            say(
                f"dds-backup: stopped waiting for backup {data.get('name')} ({data.get('backup_id')}): the time ran "
                "out while it was still BUILDING; it goes on without us (raise --timeout to wait longer)"
            )
    if "statusCode" in result:  # an API Gateway answer
        return 0 if int(result["statusCode"]) < 400 else 1
    return 0 if result.get("ok") else 1


def _template_timeout() -> int:
    from dds_backup_dev.template import declared_timeout

    return declared_timeout(Path(project.TEMPLATE)) or DEFAULT_TIMEOUT_S


def _add_invoke(sub: Any) -> None:
    invoke = _command(sub, "invoke", "run the handler once with a local context", cmd_invoke)
    invoke.add_argument("event", nargs="?", default="-", help="event JSON file, or - for stdin")
    invoke.add_argument(
        "--timeout",
        type=int,
        help=f"the function timeout to simulate, seconds (default: function.timeout of ./template.yaml, else "
        f"{DEFAULT_TIMEOUT_S})",
    )
    invoke.add_argument(
        "--backup-delay", type=float, default=2.0, help="embedded emulator: seconds until a backup completes"
    )
    _quiet_option(invoke)


# -- emulator ---------------------------------------------------------------------------------------------------


def cmd_emulator(args: argparse.Namespace, activity: Activity) -> int:
    import signal

    state = EmulatorState.with_fixture(backup_delay=args.backup_delay, latency=args.latency, rate_limit=args.rate_limit)
    synthetic = state.add_synthetic_instances(args.instances)
    if args.backups_per_instance:
        from dds_backup_dev.emulator.history import synthetic_history

        synthetic_history(state, synthetic, args.backups_per_instance)
    try:
        server = EmulatorServer(state, host=args.host, port=args.port).start()
    except (OSError, ValueError) as exc:
        return _fail("emulator", str(exc))
    # Before the first line: whoever reads it may stop the emulator at once.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(json.dumps(server.info()), flush=True)
    say(f"dds-backup emulator: listening on {server.endpoint}; Ctrl-C stops it")
    activity.set(f"serving {server.endpoint}")
    activity.interrupted = lambda _: "its instances and backups are gone with it"
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


def _add_emulator(sub: Any) -> None:
    emulator = _command(sub, "emulator", "run the DDS API emulator alone", cmd_emulator)
    emulator.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    emulator.add_argument("--port", type=int, default=8950, help="port to listen on (0: any free port)")
    emulator.add_argument("--backup-delay", type=float, default=2.0, help="seconds until a backup completes")
    emulator.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    emulator.add_argument(
        "--instances", type=int, default=0, help="also seed N instances bench-0000.. tagged fleet=bench"
    )
    emulator.add_argument(
        "--backups-per-instance",
        type=int,
        default=0,
        metavar="N",
        help="and N backups of each of them over the last 30 days, by a mix of makers (for the fleet report)",
    )
    emulator.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        help="DDS calls a second per project before 429 DBS.280443 (default: no limit)",
    )


# -- serve ------------------------------------------------------------------------------------------------------


def _route_lines(url: str, made: dict[str, str]) -> list[str]:
    from dds_backup_dev.serve import route_auth

    lines = [f"dds-backup serve: listening on {url} (API Gateway played locally); each route checks:"]
    for auth in route_auth(os.environ.get):
        checked = f"{auth.variable}: {auth.scheme}" if auth.variable else auth.scheme
        lines.append(f"  {', '.join(auth.routes):42}  {checked}")
    if made:
        lines.append(
            f"dds-backup serve: {', '.join(made)} {'was' if len(made) == 1 else 'were'} not set, so this run made "
            f"{'one' if len(made) == 1 else 'them'} (shown once). To sign with `dds-backup send` in another shell, "
            "or to keep them for the next run:"
        )
        lines.append("export " + " ".join(f"{k}={v}" for k, v in made.items()))
    return lines


def _secrets_to_make() -> dict[str, str]:
    """A fresh secret for every route whose variable is not set, so that every route can be tried at once."""
    from dds_backup_dev.secret_rules import new_secret
    from dds_backup_dev.serve import route_auth

    return {
        auth.variable: new_secret(auth.variable)
        for auth in route_auth(os.environ.get)
        if auth.variable and not os.environ.get(auth.variable)
    }


def _serve_preflight(stand_ins: frozenset[str]) -> str | None:
    """What would make every request fail (an invalid configuration, a weak secret: the message names the
    variable, never its value), else None, after a line for each route that runs without its own check."""
    from lib.config import ConfigError, load_settings
    from lib.http.app import route_checks

    try:
        settings = load_settings(os.environ.get, stand_ins)
    except ConfigError as exc:
        return str(exc)
    trusted = [r for r in route_checks() if r.trusts_gateway(settings)]
    for trust in dict.fromkeys(r.trust for r in trusted):
        paths = ", ".join(f"{r.method} {r.path}" for r in trusted if r.trust == trust)
        say(f"dds-backup serve: {trust}=gateway: {paths} run without their own check (API Gateway's auth is trusted)")
    return None


class _ServeWatch:
    """The backups started by the requests in flight (read from the log), for the line after an interrupt."""

    def __init__(self) -> None:
        self.by_request: dict[str, list[str]] = {}

    def record(self, record: logging.LogRecord) -> None:
        backup_id = getattr(record, "dds.backup_id", None)
        if record.getMessage() == "backup created" and backup_id:
            self.by_request.setdefault(str(getattr(record, "faas.invocation_id", "")), []).append(str(backup_id))


def cmd_serve(args: argparse.Namespace, activity: Activity) -> int:
    import asyncio

    from dds_backup_dev.serve import serve
    from lib.logs import LOGGER_NAME
    from lib.runtime import loopback_origin

    stand_ins: set[str] = set()
    for origin in args.fake_chat_origin or []:
        try:
            stand_ins.add(loopback_origin(origin))
        except ValueError as exc:
            return _fail("serve", f"--fake-chat-origin {origin}: {exc}")
    made = _secrets_to_make()
    os.environ.update(made)
    embedded = _Embedded(args.backup_delay)
    if (problem := _serve_preflight(frozenset(stand_ins))) is not None:
        embedded.stop()
        return _fail("serve", problem)
    watch = _ServeWatch()

    def ready(url: str) -> None:
        from dds_backup_dev.serve import route_auth

        routes = {route: a.variable for a in route_auth(os.environ.get) for route in a.routes}
        print(json.dumps({"url": url, "routes": routes}), flush=True)
        for line in _route_lines(url, made):
            say(line)
        say("dds-backup serve: Ctrl-C stops it")
        activity.set(f"serving {url}")

    def interrupted(in_flight: int) -> None:
        started = [b for ids in watch.by_request.values() for b in ids]
        if in_flight == 0:
            said = "no request was in flight, so nothing goes on"
        elif embedded.server is not None:
            said = f"{in_flight} request(s) were in flight; nothing goes on: the embedded emulator stopped with it"
        elif started:
            said = (
                f"{in_flight} request(s) were in flight: backup {', '.join(started)} goes on in DDS and may still "
                f"complete; `dds-backup send apig-status --backup-id {started[-1]} --to <this URL>` shows it"
            )
        else:
            said = f"{in_flight} request(s) were in flight: a backup one asked for may still be made in DDS"
        activity.interrupted = lambda _: said
        say(activity.interrupt_line())
        if in_flight:  # their handlers would run on to their end: the user asked to stop now
            sys.stdout.flush()
            os._exit(INTERRUPTED)

    try:
        with watching(LOGGER_NAME, watch.record):
            stopped = asyncio.run(
                serve(
                    args.host,
                    args.port,
                    args.timeout,
                    args.read_timeout,
                    stand_ins=frozenset(stand_ins),
                    on_ready=ready,
                    on_interrupt=interrupted,
                )
            )
    except OSError as exc:
        return _fail("serve", str(exc))
    finally:
        embedded.stop()
    return INTERRUPTED if stopped else 0


def _add_serve(sub: Any) -> None:
    serve = _command(
        sub,
        "serve",
        "play API Gateway locally: HTTP requests -> APIG events -> handler; makes the route secrets that are not set",
        cmd_serve,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (0: any free port)")
    serve.add_argument(
        "--timeout", type=int, default=APIG_TIMEOUT_S, help="the function timeout to simulate per request, seconds"
    )
    serve.add_argument(
        "--read-timeout",
        type=float,
        default=10.0,
        help="seconds a client gets for its request line and headers, and again for its body (then 408)",
    )
    serve.add_argument(
        "--backup-delay", type=float, default=2.0, help="embedded emulator: seconds until a backup completes"
    )
    serve.add_argument(
        "--fake-chat-origin",
        action="append",
        metavar="http://127.0.0.1:PORT",
        help="a local stand-in for Slack/Teams/Mattermost that may receive follow-ups (loopback only; for tests; "
        "default: none)",
    )


# -- send -------------------------------------------------------------------------------------------------------


def _send_again(args: argparse.Namespace, msg_id: str) -> str:
    """The command that sends the same delivery again: the same id is the same backup, never a second one."""
    import shlex

    words = ["dds-backup", "send", args.kind, "--to", args.to, "--id", msg_id]
    if args.request is not None:
        words += ["--request", args.request]
    if args.text is not None:
        words += ["--text", args.text]
    return " ".join(shlex.quote(w) for w in words)


def cmd_send(args: argparse.Namespace, activity: Activity) -> int:
    import uuid

    from dds_backup_dev import events
    from dds_backup_dev.send import SendError, curl, send, target

    msg_id = args.id or (f"msg_{uuid.uuid4().hex}" if args.kind != "teams" else str(int(time.time() * 1000)))
    try:
        sample = events.http_sample(
            args.kind, request=args.request, text=args.text, backup_id=args.backup_id or "", msg_id=msg_id
        )
        url = target(args.to, sample)
    except (events.UsageError, ValueError) as exc:
        return _fail("send", str(exc))
    if args.curl:
        print(curl(sample, args.to), flush=True)
        say("dds-backup send: signed now; Standard Webhooks and Slack accept a signature for 5 minutes")
        return 0
    activity.set(f"waiting for the answer of {sample.method} {url}", until=time.time() + args.timeout)
    if sample.method == "GET":
        activity.interrupted = lambda _: "it only asked; nothing was changed"
    else:
        activity.interrupted = lambda _: (
            "the request may have arrived, and then its backup may still be made; "
            f"`{_send_again(args, msg_id)}` shows it without making a second one"
        )
    try:
        with Heartbeat(activity, quiet=args.quiet):
            answer = send(sample, args.to, timeout=args.timeout)
    except SendError as exc:
        return _fail("send", str(exc), 1)
    location = answer.headers.get("Location")
    say(
        f"dds-backup send: {sample.method} {url} -> HTTP {answer.status} {answer.reason}"
        + (f", Location: {location}" if location else "")
    )
    print(answer.shown(), flush=True)
    return 0 if answer.status < 400 else 1


def _add_send(sub: Any) -> None:
    from dds_backup_dev.events import DEFAULT_TEXT, HTTP_KINDS

    send = _command(
        sub,
        "send",
        "sign and send a sample request (as generate-event makes it) to a running serve or a deployed route",
        cmd_send,
    )
    send.add_argument("kind", choices=HTTP_KINDS, help="which sender to play")
    send.add_argument("--to", default=SERVE_URL, help="the base URL: dds-backup serve's, or the API's")
    what = send.add_mutually_exclusive_group()
    what.add_argument("--request", help="apig: the backup request JSON (default: one for a demo instance)")
    what.add_argument("--text", help=f"slack, teams, mattermost: the command's text (default: {DEFAULT_TEXT!r})")
    send.add_argument("--backup-id", help="apig-status: the backup to ask about (required there)")
    send.add_argument(
        "--id",
        help="the delivery's id (webhook-id, trigger_id, ...); the same id again is the same backup "
        "(default: a new one)",
    )
    send.add_argument("--curl", action="store_true", help="print the equivalent curl command instead of sending")
    send.add_argument("--timeout", type=float, default=APIG_TIMEOUT_S + 5, help="seconds to wait for the answer")
    _quiet_option(send)


# -- generate-event, secret ----------------------------------------------------------------------------------------


def cmd_generate_event(args: argparse.Namespace, activity: Activity) -> int:
    from dds_backup_dev import events

    try:
        event = events.generate(args.kind, request=args.request, text=args.text, backup_id=args.backup_id or "")
    except events.UsageError as exc:
        return _fail("generate-event", str(exc))
    print(json.dumps(event, indent=2), flush=True)
    return 0


def _add_generate_event(sub: Any) -> None:
    from dds_backup_dev.events import DEFAULT_TEXT, KINDS

    summary = "print a sample event (checked, and signed with the configured secret)"
    gen = _command(sub, "generate-event", summary, cmd_generate_event)
    gen.add_argument("kind", choices=KINDS, help="which trigger's event")
    gen.add_argument("--request", help="the backup request JSON (default: one for a demo instance)")
    gen.add_argument("--text", help=f"chat kinds: the command's text (default: {DEFAULT_TEXT!r})")
    gen.add_argument("--backup-id", help="apig-status: the backup to ask about (required there)")


def _secret_size(text: str) -> int:
    size = int(text)
    if not 24 <= size <= 64:
        raise argparse.ArgumentTypeError("a Standard Webhooks secret holds 24 to 64 bytes")
    return size


def cmd_secret(args: argparse.Namespace, activity: Activity) -> int:
    from dds_backup_dev.secret_rules import KINDS, new_secret

    print(new_secret(KINDS[args.kind], args.bytes), flush=True)
    return 0


def _add_secret(sub: Any) -> None:
    from dds_backup_dev.secret_rules import KINDS

    secret = _command(sub, "secret", "print a new random secret in the shape its variable takes", cmd_secret)
    secret.add_argument(
        "kind",
        nargs="?",
        default="webhook",
        choices=list(KINDS),
        help="webhook: a whsec_ WEBHOOK_SECRET; slack, teams, mattermost: a stand-in for the value the platform shows",
    )
    secret.add_argument("--bytes", type=_secret_size, default=32, help="webhook: 24-64 random bytes")


# -- package, wheels ----------------------------------------------------------------------------------------------


def cmd_package(args: argparse.Namespace, activity: Activity) -> int:
    from dds_backup_dev.package import PackageError, build, local_arch

    template = _template("package", args.template)
    if template is None:
        return 2
    wanted = template.function.python_version
    if args.python and args.python != wanted and not args.force:
        return _fail(
            "package",
            f"--python {args.python} is not the runtime of {args.template or project.TEMPLATE} "
            f"(function.runtime: {template.function.runtime}): a zip for Python {args.python} would not import on "
            f"that function. Change runtime in the template, or give --force to build for {args.python} anyway",
        )
    python = args.python or wanted
    arch = args.arch or ("x86_64" if not args.python else local_arch())
    default = "dds-backup-layer.zip" if args.layer else template.function.code_filename
    out = Path(args.output or Path("dist") / default)
    try:
        root = project.code_root(project.template(args.template))
    except project.NotFound as exc:
        return _fail("package", str(exc))
    activity.set(f"building {out} for Python {python}/{arch} (fetching the locked wheels, compiling)")
    activity.interrupted = lambda _: f"{out} may be missing or incomplete: run the command again"
    try:
        with Heartbeat(activity, quiet=args.quiet):
            built = build(
                out,
                python=python,
                arch=arch,
                layer=args.layer,
                wheelhouse=Path(args.wheelhouse) if args.wheelhouse else None,
                python_bin=args.python_bin,
                root=root,
            )
    except PackageError as exc:
        return _fail("package", str(exc))
    for note in built.notes:
        say(f"dds-backup package: {note}")
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


def _add_package(sub: Any) -> None:
    summary = "build dist/dds-backup.zip (handler, lib, vendored dependencies) from the project here"
    package = _command(sub, "package", summary, cmd_package)
    package.add_argument("--python", help="target CPython X.Y (default: the template's runtime)")
    package.add_argument(
        "--force", action="store_true", help="build for a --python other than the template's runtime all the same"
    )
    package.add_argument(
        "--arch", choices=["x86_64", "arm64"], help="target architecture (default: x86_64; with --python, this one's)"
    )
    package.add_argument("--layer", action="store_true", help="the dependencies alone, as a FunctionGraph dependency")
    package.add_argument("--wheelhouse", help="build offline from wheels in this folder (default: PyPI)")
    package.add_argument(
        "--python-bin",
        help="the CPython X.Y that compiles the bytecode (default: this Python if it is X.Y, else pythonX.Y on "
        "PATH or in pyenv; with none, the zip ships sources only)",
    )
    package.add_argument("--template", help="the template, next to the code (default: ./template.yaml)")
    package.add_argument("--output", help="zip path (default: dist/<code_filename>, or dist/dds-backup-layer.zip)")
    _quiet_option(package)


def cmd_wheels(args: argparse.Namespace, activity: Activity) -> int:
    from dds_backup_dev.package import PackageError, fetch_wheels, local_arch

    lock = Path(project.LOCK)
    if not lock.is_file():
        return _fail("wheels", f"no {project.LOCK} in {project.here()}: run this in the dds-backup project")
    activity.set(f"downloading the locked wheels into {args.dest}")
    activity.interrupted = lambda _: f"{args.dest} may hold some of them: run the command again"
    try:
        with Heartbeat(activity, quiet=args.quiet):
            for python in args.python:
                fetch_wheels(python, args.arch or local_arch(), Path(args.dest), lock=lock)
    except PackageError as exc:
        return _fail("wheels", str(exc))
    return 0


def _add_wheels(sub: Any) -> None:
    wheels = _command(sub, "wheels", "download the locked runtime dependencies' wheels into a wheelhouse", cmd_wheels)
    wheels.add_argument("--python", action="append", required=True, help="CPython X.Y; repeat for several")
    wheels.add_argument("--arch", choices=["x86_64", "arm64"], help="target architecture (default: this machine's)")
    wheels.add_argument("--dest", required=True, help="the wheelhouse folder")
    _quiet_option(wheels)


# -- check ------------------------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, activity: Activity) -> int:
    import asyncio
    import io

    from dds_backup_dev.check import report, run
    from lib import logs
    from lib.runtime import Invocation

    template = None
    if args.template:
        template = _template("check", args.template)
        if template is None:
            return 2
    embedded = _Embedded(backup_delay=2.0)
    # The checklist is the output: what the checks log (trouble only) waits until it is printed, then follows.
    log = io.StringIO()
    logs.configure("WARNING", stream=log)
    context = LocalContext(timeout_s=args.timeout, project_id=os.environ.get("RUNTIME_PROJECT_ID", ""))
    activity.set("reading the configuration", until=time.time() + args.timeout)
    activity.interrupted = lambda _: "the check only reads: nothing was changed"
    try:
        with Heartbeat(activity, quiet=args.quiet):
            checks = asyncio.run(run(Invocation.from_context(context, time.monotonic()), template, activity.set))
    finally:
        embedded.stop()
        logs.configure("WARNING")
    result = report(checks)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for check in checks:
            print(check.line())
        failed = sum(c.status == "fail" for c in checks)
        warned = sum(c.status == "warn" for c in checks)
        verdict = f"{failed} check(s) failed" if failed else "all good"
        print(f"dds-backup check: {verdict}" + (f", {warned} warning(s)" if warned else ""), flush=True)
    if log.getvalue():
        sys.stderr.write(log.getvalue())
    return 0 if result["ok"] else 1


def _add_check(sub: Any) -> None:
    check = _command(
        sub,
        "check",
        "read-only preflight: credentials, DDS, requests, topics, secrets (with the configuration)",
        cmd_check,
    )
    check.add_argument(
        "--template", help="also resolve every timer's request and check the timeout (default: no template)"
    )
    check.add_argument("--json", action="store_true", help="the checks as one JSON document")
    check.add_argument("--timeout", type=int, default=60, help="seconds the whole check may take")
    _quiet_option(check)


# -- report -----------------------------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace, activity: Activity) -> int:
    from dds_backup_dev.emulator.history import demo_history
    from dds_backup_dev.report.command import run

    activity.set("reading the fleet")
    return run(args, lambda: _Embedded(backup_delay=2.0, history=demo_history).server)


def _add_report(sub: Any) -> None:
    from dds_backup_dev.report.command import add_parser

    add_parser(sub)
    sub.choices["report"].set_defaults(func=cmd_report)


# -- render -----------------------------------------------------------------------------------------------------


def cmd_render(args: argparse.Namespace, activity: Activity) -> int:
    from dds_backup_dev.terraform import CLOUD_NAMES, build
    from dds_backup_dev.terraform.tfvars import example

    template = _template("render", args.template)
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
    if not Path(args.package).is_file():
        say(f"dds-backup render: {args.package} does not exist yet (looked in {project.here()}): `dds-backup package`")
    return 0


def _add_render(sub: Any) -> None:
    render = _command(sub, "render", "render deployment code from template.yaml", cmd_render)
    render.add_argument("format", choices=["terraform"], help="what to render")
    render.add_argument("--cloud", choices=["otc", "huaweicloud"], required=True, help="whose provider")
    render.add_argument("--template", help="the template (default: ./template.yaml)")
    render.add_argument("--package", default="dist/dds-backup.zip", help="the zip the function is deployed from")
    render.add_argument(
        "--output", help="default: dist/terraform/<cloud>/main.tf.json (terraform.tfvars.example goes next to it)"
    )


# -- the parser -------------------------------------------------------------------------------------------------


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default in its help: argparse's own ``(default: X)``, unless the help already says it or
    there is nothing to show (a flag, a required option)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        nothing = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "default" in text or action.required or nothing:
            return text
        return super()._get_help_string(action)


def _command(sub: Any, name: str, summary: str, run: Command) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=summary, formatter_class=_Help)
    parser.set_defaults(func=run)
    return parser


def _quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress lines on stderr during long waits (default: shown)"
    )


COMMANDS = (
    _add_invoke,
    _add_serve,
    _add_send,
    _add_generate_event,
    _add_secret,
    _add_check,
    _add_report,
    _add_package,
    _add_wheels,
    _add_render,
    _add_emulator,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dds-backup", description="Local tools for the dds-backup function.", formatter_class=_Help
    )
    parser.add_argument("--version", action="version", version=f"dds-backup {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def _quiet_stdout() -> None:
    """After a closed pipe: nothing more reaches the reader, and the interpreter's final flush must not fail."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    activity = Activity(args.command)
    run: Command = args.func
    try:
        return run(args, activity)
    except KeyboardInterrupt:
        say(activity.interrupt_line())
        return INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say to anyone
        _quiet_stdout()
        return CLOSED_PIPE


if __name__ == "__main__":
    sys.exit(main())
