"""The server side of SDK-HMAC-SHA256 (what API Gateway does with a signed request): read the Authorization
header and recompute the signature over what arrived on the wire, with the function's own signer
(``lib/cloud/auth/signer.py``). The deployed function only signs; this lives on the dev side, for the emulator."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from lib.cloud.auth.signer import ALGORITHM, canonical_request, signature, string_to_sign


@dataclass(frozen=True)
class ParsedAuthorization:
    ak: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization | None:
    """Parse ``SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...``; None when malformed."""
    prefix = ALGORITHM + " "
    if not value.startswith(prefix):
        return None
    parts: dict[str, str] = {}
    for item in value[len(prefix) :].split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            return None
        parts[key] = val
    try:
        return ParsedAuthorization(parts["Access"], parts["SignedHeaders"].split(";"), parts["Signature"])
    except KeyError:
        return None


def verify(
    *,
    sk: str,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    auth: ParsedAuthorization,
) -> bool:
    """Server side: recompute the signature over what arrived on the wire (the emulator uses this)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if any(n not in lowered for n in auth.signed_headers) or "x-sdk-date" not in auth.signed_headers:
        return False
    canonical = canonical_request(method, path, raw_query, lowered, body, auth.signed_headers)
    expected = signature(sk, string_to_sign(canonical, lowered["x-sdk-date"]))
    return hmac.compare_digest(expected, auth.signature)
