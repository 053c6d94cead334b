"""``dds-backup send``: one signed sample request to a running ``dds-backup serve`` or a deployed route, or the
curl command that sends it.

The sample is ``generate-event``'s (``events.http_sample``): the same body, signed with the same configured
secret, so that what ``send`` shows is what the function answers a real sender.
"""

from __future__ import annotations

import json
import shlex
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from dds_backup_dev.events import HttpSample

#: A ``serve`` started a moment ago may not listen yet: a refused connection to loopback is tried again this long.
STARTING_SERVER_S = 10.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SendError(Exception):
    """Nothing answered; the message says what happened."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    def shown(self) -> str:
        """The body as a person reads it: indented JSON, or the text as it came."""
        text = self.body.decode("utf-8", "replace")
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text


def target(to: str, sample: HttpSample) -> str:
    """The route's URL under ``--to`` (a base URL: scheme, host and port, maybe a path prefix)."""
    parts = urlsplit(to)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--to {to}: give the base URL, e.g. http://127.0.0.1:3000 or https://<api host>")
    return to.rstrip("/") + sample.path


def _refused(exc: urllib.error.URLError) -> bool:
    return isinstance(exc.reason, ConnectionRefusedError)


def send(sample: HttpSample, to: str, *, timeout: float) -> Answer:
    url = target(to, sample)
    data = sample.body if sample.method != "GET" else None
    request = urllib.request.Request(url, data=data, headers=sample.headers, method=sample.method)  # noqa: S310
    local = urlsplit(url).hostname in _LOOPBACK
    give_up = time.monotonic() + STARTING_SERVER_S
    while True:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - http(s) only, checked in target()
                return Answer(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, dict(exc.headers), exc.read())
        except urllib.error.URLError as exc:
            if local and _refused(exc) and time.monotonic() < give_up:
                time.sleep(0.2)
                continue
            raise SendError(f"no answer from {url}: {exc.reason}") from None
        except TimeoutError:
            raise SendError(f"no answer from {url} within {timeout:g} s") from None
        except OSError as exc:
            raise SendError(f"no answer from {url}: {exc}") from None


def curl(sample: HttpSample, to: str) -> str:
    """The same request as a curl command (signed now: the signature's timestamp ages like any other)."""
    words = ["curl", "-sS", "-X", sample.method, target(to, sample)]
    for name, value in sample.headers.items():
        words += ["-H", f"{name}: {value}"]
    if sample.method != "GET":
        words += ["--data-binary", sample.body.decode()]
    return " ".join(shlex.quote(w) for w in words)
