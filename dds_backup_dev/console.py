"""What the CLI tells its user on stderr besides the JSON log: progress during long waits, and one line when
the user interrupts it.

stderr is shared with the function's JSON log lines, so every line written here is plain text that never starts
with ``{``: a person reads both, a script keeps the lines that start with ``{``. ``--quiet`` silences the
progress lines (never the line after an interrupt).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

#: A wait this long gets its first progress line, and then one at least this often.
FIRST_AFTER_S = 3.0
EVERY_S = 10.0


def duration(seconds: float) -> str:
    """``7 s``, ``2 min 05 s``, ``1 h 02 min``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def clock(epoch: float) -> str:
    """A wall-clock time in the machine's zone, as the user reads their own clock."""
    return datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


@dataclass
class Activity:
    """What a command is doing now: the progress lines and the line after an interrupt both say it.

    ``until`` is when the wait ends at the latest (epoch seconds), when known. ``interrupted`` makes the line
    written after Ctrl-C: what was interrupted and what it leaves behind.
    """

    command: str
    doing: str = "starting"
    until: float | None = None
    started: float = field(default_factory=time.monotonic)
    interrupted: Callable[[Activity], str] | None = None

    def set(self, doing: str, until: float | None = None) -> None:
        self.doing = doing
        if until is not None:
            self.until = until

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def progress_line(self) -> str:
        line = f"dds-backup {self.command}: {self.doing}: {duration(self.elapsed())} so far"
        if self.until is not None:
            line += f", until {clock(self.until)} at the latest"
        return line

    def interrupt_line(self) -> str:
        said = self.interrupted(self) if self.interrupted is not None else "nothing was changed"
        return f"dds-backup {self.command}: interrupted while {self.doing} ({duration(self.elapsed())}); {said}"


class Heartbeat:
    """A thread that prints ``activity.progress_line()`` once the wait passes ``first`` seconds, then every
    ``every`` seconds, until stopped."""

    def __init__(
        self,
        activity: Activity,
        *,
        quiet: bool = False,
        stream: TextIO | None = None,
        first: float = FIRST_AFTER_S,
        every: float = EVERY_S,
    ) -> None:
        self.activity = activity
        self.quiet = quiet
        self.stream = stream
        self.first = first
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dds-backup-progress", daemon=True)

    def _run(self) -> None:
        pause = self.first
        while not self._stop.wait(pause):
            say(self.activity.progress_line(), self.stream)
            pause = self.every

    def __enter__(self) -> Heartbeat:
        if not self.quiet:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


_write_lock = threading.Lock()


def say(line: str, stream: TextIO | None = None) -> None:
    """One plain line on stderr (never a JSON line: see the module's docstring)."""
    assert not line.startswith("{")
    target = stream if stream is not None else sys.stderr
    with _write_lock:
        try:
            target.write(line + "\n")
            target.flush()
        except (BrokenPipeError, ValueError):  # stderr closed or gone: nobody is listening
            pass


class LogWatch(logging.Handler):
    """Reads the function's log records as they happen (in this process), so that progress lines and the line
    after an interrupt can say what the handler is doing: which backups it started, which wait it is in. Each
    record comes with the fields bound where it was logged (instance, invocation), as the JSON lines have them."""

    def __init__(self, on_record: Callable[[logging.LogRecord], None]) -> None:
        super().__init__(logging.DEBUG)
        self._on_record = on_record

    def emit(self, record: logging.LogRecord) -> None:
        from lib.logs import context_fields

        try:
            for key, value in context_fields().items():
                if not hasattr(record, key):
                    setattr(record, key, value)
            self._on_record(record)
        except Exception:  # watching must never break the handler
            self.handleError(record)


@contextmanager
def watching(logger_name: str, on_record: Callable[[logging.LogRecord], None]) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    watch = LogWatch(on_record)
    # First among the handlers: what a JSON line says has happened is known here before the line is out.
    logger.handlers.insert(0, watch)
    try:
        yield
    finally:
        logger.removeHandler(watch)
