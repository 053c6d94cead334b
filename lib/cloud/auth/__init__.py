"""How API requests are authenticated: AK/SK signing or an IAM token, chosen by ``credentials.resolve_access``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

#: Temporary credentials (an agency's AK/SK and security token) and IAM tokens are valid for at most 24 hours; the
#: log masks each for twice that after its last use, then forgets it (a warm instance's list must not grow).
TEMPORARY_KEEP_S = 48 * 3600.0


@dataclass
class OutgoingRequest:
    """One HTTP request before it is sent; an authenticator adds headers to it."""

    method: str
    host: str  # netloc, with the port when the endpoint has one
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Authenticator(Protocol):
    #: Where the credentials came from, for the log ("agency AK/SK", "environment AK/SK", ...). Never values.
    source: str

    async def apply(self, request: OutgoingRequest) -> None:
        """Add the authentication headers (may fetch a token)."""

    def rejected(self) -> bool:
        """The API refused the credentials. Return True when trying once more with fresh ones can help."""
