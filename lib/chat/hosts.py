"""Where a follow-up may be posted: each platform's own hosts, nothing else. A URL that arrived in a request is
only ever contacted when it passes these checks (and the Teams URL comes from the configuration alone).

- Slack: ``https://hooks.slack.com/...`` (``hooks.slack-gov.com`` for GovSlack), the hosts of the
  ``response_url`` of slash commands (docs.slack.dev "Handling user interaction": message responses).
- Mattermost: the ``response_url`` is ``<site URL>/hooks/commands/<id>`` on the operator's own server
  (mattermost server ``app/command.go``): only the servers named in ``MATTERMOST_URL`` qualify.
- Teams: outgoing webhooks "cannot post into channels proactively" (Microsoft Teams docs, "Outgoing webhooks"),
  so follow-ups go to the operator's ``TEAMS_INCOMING_WEBHOOK_URL``, on Microsoft's hosts.

A host is compared whole, never by suffix or substring: Slack's are exact names, Microsoft's are DNS names under
one of its domains, label by label. Before that, a URL is refused when it could be read two ways (by this check
and by the HTTP client): anything but printable ASCII (IDNA, unicode dots, controls the parser would drop),
a backslash, user information (``user@host``), a port other than the platform's.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from lib.config import TEAMS_WEBHOOK_HOSTS, Settings, origin_of
from lib.models import FollowUp

SLACK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
_MATTERMOST_PATH = re.compile(r"/hooks/commands/[A-Za-z0-9]+")
# One or more DNS labels, each ending in a dot: what may stand before Microsoft's domain.
_LABELS = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+")


def target(follow_up: FollowUp, settings: Settings, stand_ins: frozenset[str] = frozenset()) -> str | None:
    """The URL to post to, or None when there is none or it is not on the platform's own hosts (or, on the dev
    side, one of the loopback ``stand_ins`` it handed to the handler: ``Invocation.chat_stand_ins``)."""
    if follow_up.platform == "teams":
        configured = settings.teams_incoming_webhook_url
        url = configured.get_secret_value() if configured is not None else ""
        return url if url and (_teams(url) or origin_of(url) in stand_ins) else None
    url = follow_up.url
    if origin_of(url) in stand_ins:
        return url
    if follow_up.platform == "slack":
        return url if _slack(url) else None
    return url if _mattermost(url, settings.mattermost_url or frozenset()) else None


def host_of(url: str) -> str:
    """For logs: the host alone (a response_url is a capability; its path is not written anywhere), at most 100
    characters of it."""
    try:
        return (urlsplit(url).hostname or "?")[:100]
    except ValueError:
        return "?"


def _https(url: str) -> str | None:
    """The host of an https URL on the default port, else None."""
    parts = _split(url)
    if parts is None or parts.scheme != "https" or parts.port not in (None, 443):
        return None
    return parts.hostname


def _slack(url: str) -> bool:
    return _https(url) in SLACK_HOSTS


def _teams(url: str) -> bool:
    host = _https(url) or ""
    return any(
        _LABELS.fullmatch(host.removesuffix(domain)) is not None
        for domain in TEAMS_WEBHOOK_HOSTS
        if host.endswith(domain)
    )


def _mattermost(url: str, servers: frozenset[str]) -> bool:
    parts = _split(url)
    if parts is None or parts.query or parts.fragment:
        return False
    for server in servers:
        base = _split(server)
        if base is None or (parts.scheme, parts.netloc.lower()) != (base.scheme, base.netloc.lower()):
            continue
        prefix = base.path.rstrip("/")
        if parts.path.startswith(prefix) and _MATTERMOST_PATH.fullmatch(parts.path[len(prefix) :]):
            return True
    return False


def _split(url: str) -> SplitResult | None:
    if not (url.isascii() and url.isprintable()) or " " in url or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a malformed port
    except ValueError:
        return None
    if "@" in parts.netloc or parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts
