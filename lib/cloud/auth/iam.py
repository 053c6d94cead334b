"""IAM token authentication: a token from the agency (context.getToken()), or one obtained by password.

Password tokens are valid 24 h and IAM asks clients to cache them, so they are kept in this module across
warm invocations of the same function instance, keyed by everything that identifies them, and dropped a
while before ``expires_at`` or as soon as an API rejects them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp

from lib import logs
from lib.cloud.auth import TEMPORARY_KEEP_S, OutgoingRequest
from lib.cloud.errors import ApiError, CloudError, TransportError, error_fields
from lib.codes import ErrorCode
from lib.runtime import Deadline

# Refresh this long before expiry, so that a token never expires in the middle of an invocation.
REFRESH_MARGIN = timedelta(minutes=15)


@dataclass(frozen=True)
class IamToken:
    value: str
    expires_at: datetime
    project_id: str | None
    catalog: list[dict[str, Any]]

    def fresh(self, now: datetime) -> bool:
        return now + REFRESH_MARGIN < self.expires_at

    def endpoint_for(self, service_type: str, region: str | None) -> str | None:
        """The public URL of a service in the token's catalog (e.g. ``ddsv3`` on OTC Swiss)."""
        for service in self.catalog:
            if service.get("type") != service_type:
                continue
            for ep in service.get("endpoints", []):
                if ep.get("interface", "public") == "public" and (region is None or ep.get("region") in (region, None)):
                    url = str(ep.get("url", ""))
                    return url.split("/v3", 1)[0] if url else None
        return None


@dataclass(frozen=True)
class PasswordIdentity:
    iam_endpoint: str  # base URL without /v3
    username: str
    password: str
    domain: str
    project_name: str | None
    project_id: str | None

    @property
    def cache_key(self) -> tuple[str, ...]:
        # The password is part of the key (a rotated password must not reuse the old token), but only as a keyed
        # digest: the cache, which outlives the invocation, never holds the password itself.
        return (
            self.iam_endpoint,
            self.domain,
            self.username,
            hmac.new(_CACHE_SALT, self.password.encode(), hashlib.sha256).hexdigest(),
            self.project_id or "",
            self.project_name or "",
        )


_TOKENS: dict[tuple[str, ...], IamToken] = {}
#: This process's own key for the passwords' digests in the cache keys (a digest nobody can test guesses against).
_CACHE_SALT = secrets.token_bytes(32)


def clear_cache() -> None:
    _TOKENS.clear()


def _parse_time(text: str) -> datetime:
    # IAM answers e.g. "2026-11-28T06:44:59.123000Z".
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _password_request(who: PasswordIdentity) -> dict[str, Any]:
    scope: dict[str, Any] = (
        {"project": {"id": who.project_id}} if who.project_id else {"project": {"name": who.project_name}}
    )
    user = {"name": who.username, "password": who.password, "domain": {"name": who.domain}}
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}, "scope": scope}}


def _refusal(status: int, text: str, request_id: str | None) -> CloudError:
    code, message = error_fields(_json_or_none(text))
    if status in (400, 401, 403, 404):
        # Wrong user, password, domain or project: nothing a retry will change.
        return CloudError(
            ErrorCode.IAM_AUTH_FAILED,
            f"IAM refused the password token request (HTTP {status}"
            + (f", {code}" if code else "")
            + "): check OS_USERNAME, OS_PASSWORD, OS_USER_DOMAIN_NAME and OS_PROJECT_NAME/PROJECT_ID",
            http_status=status,
            request_id=request_id,
        )
    return ApiError.from_response(status, code, message, request_id)


async def fetch_password_token(
    session: aiohttp.ClientSession, who: PasswordIdentity, deadline: Deadline, timeout: float
) -> IamToken:
    if deadline.expired:  # aiohttp reads a total of 0 as "no timeout"
        raise CloudError(ErrorCode.DEADLINE_EXCEEDED, "the invocation ran out of time")
    try:
        async with session.post(
            f"{who.iam_endpoint}/v3/auth/tokens",
            data=json.dumps(_password_request(who)).encode(),
            headers={"Content-Type": "application/json;charset=utf8"},
            timeout=aiohttp.ClientTimeout(total=deadline.bound(timeout)),
        ) as resp:
            text = await resp.text()
            if resp.status != 201:
                raise _refusal(resp.status, text, resp.headers.get("X-Request-Id"))
            token = resp.headers.get("X-Subject-Token")
            data = json.loads(text)["token"]
            expires_at = _parse_time(data["expires_at"])
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise TransportError(
            ErrorCode.IAM_UNREACHABLE,
            f"could not reach IAM at {who.iam_endpoint} ({type(exc).__name__}); check IAM_ENDPOINT or REGION",
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TransportError(ErrorCode.IAM_BAD_RESPONSE, "IAM answered 201 with an unreadable body") from None
    if not token:
        raise TransportError(ErrorCode.IAM_BAD_RESPONSE, "IAM answered without an X-Subject-Token header")
    return IamToken(
        value=token,
        expires_at=expires_at,
        project_id=(data.get("project") or {}).get("id"),
        catalog=list(data.get("catalog") or []),
    )


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class PasswordTokenAuth:
    source = "IAM password token (OS_USERNAME)"

    def __init__(
        self, session: aiohttp.ClientSession, who: PasswordIdentity, deadline: Deadline, timeout: float
    ) -> None:
        self._session = session
        self._who = who
        self._deadline = deadline
        self._timeout = timeout
        self._lock = asyncio.Lock()
        # Once chosen, a token serves the whole invocation; the refresh margin is about later invocations.
        self._current: IamToken | None = None

    async def token(self) -> IamToken:
        async with self._lock:  # concurrent requests share one fetch
            if self._current is not None:
                return self._current
            cached = _TOKENS.get(self._who.cache_key)
            if cached is None or not cached.fresh(datetime.now(timezone.utc)):
                cached = await fetch_password_token(self._session, self._who, self._deadline, self._timeout)
                _TOKENS[self._who.cache_key] = cached
            # On every invocation that uses it, a cached one too: the redactor forgets values after a while.
            logs.register_secrets([cached.value], keep_s=TEMPORARY_KEEP_S)
            self._current = cached
            return cached

    async def apply(self, request: OutgoingRequest) -> None:
        request.headers["X-Auth-Token"] = (await self.token()).value

    def rejected(self) -> bool:
        # Drop the cached token; the client tries once more with a fresh one (once per request).
        _TOKENS.pop(self._who.cache_key, None)
        self._current = None
        return True


class StaticTokenAuth:
    """The agency's token from context.getToken(); the platform refreshes it, so a rejection is final."""

    def __init__(self, token: str, source: str) -> None:
        self._token = token
        self.source = source

    async def apply(self, request: OutgoingRequest) -> None:
        request.headers["X-Auth-Token"] = self._token

    def rejected(self) -> bool:
        return False
