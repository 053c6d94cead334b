"""SDK-HMAC-SHA256 request signing, byte for byte as huaweicloudsdkcore's ``Signer``
(``huaweicloudsdkcore/signer/signer.py``).

Pure functions, no I/O. The wire query string must be exactly ``canonical_query(...)``: the caller sends it
unchanged (yarl would re-encode it otherwise), and sends exactly the body bytes that were hashed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

QueryValue = str | int | bool


def _encode(s: str) -> str:
    return quote(s, safe="~")


@functools.lru_cache(maxsize=256)  # a fan-out signs the same few paths hundreds of times
def canonical_uri(path: str) -> str:
    uri = "/".join(_encode(seg) for seg in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Sequence[tuple[str, QueryValue]]) -> str:
    """Sorted ``k=v`` pairs, RFC 3986 encoded (space is ``%20``, ``:`` is ``%3A``). Also the wire query."""
    out = []
    for key, value in sorted(pairs):
        text = str(value).lower() if isinstance(value, bool) else str(value)
        out.append(f"{_encode(key)}={_encode(text)}")
    return "&".join(out)


def sdk_date(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime(DATE_FORMAT)


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    # The SDK skips names containing "_" (some proxies drop them).
    return sorted(k.lower() for k in headers if "_" not in k)


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, names: list[str]
) -> str:
    lowered = {k.lower(): str(v).strip() for k, v in headers.items()}
    canonical_headers = "".join(f"{n}:{lowered[n]}\n" for n in names)
    payload_hash = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), canonical_uri(path), query, canonical_headers, ";".join(names), payload_hash])


def string_to_sign(canonical: str, date: str) -> str:
    return f"{ALGORITHM}\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def signature(sk: str, to_sign: str) -> str:
    return hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Signed:
    headers: dict[str, str]  # the input headers plus Host, X-Sdk-Date and Authorization
    wire_uri: str  # path + "?" + canonical query, as it must go on the wire


def sign(
    *,
    ak: str,
    sk: str,
    method: str,
    host: str,
    path: str,
    query: Sequence[tuple[str, QueryValue]] = (),
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    date: str | None = None,
) -> Signed:
    """Sign one request. ``headers`` should already hold X-Security-Token / X-Project-Id: they are signed."""
    out = dict(headers or {})
    if not any(k.lower() == "x-sdk-date" for k in out):
        out["X-Sdk-Date"] = date or sdk_date()
    if not any(k.lower() == "host" for k in out):
        out["Host"] = host
    the_date = next(v for k, v in out.items() if k.lower() == "x-sdk-date")
    qs = canonical_query(query)
    names = signed_header_names(out)
    canonical = canonical_request(method, path, qs, out, body, names)
    sig = signature(sk, string_to_sign(canonical, the_date))
    out["Authorization"] = f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(names)}, Signature={sig}"
    return Signed(headers=out, wire_uri=f"{path}?{qs}" if qs else path)
