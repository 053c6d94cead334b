"""lib/chat/hosts.py: a follow-up goes to the platform's own hosts and nowhere else, however the URL is dressed up.

Each platform's allowed hosts against host confusion: look-alike registrable domains, the allowed host as a label of
another domain, ``user@host``, ports, trailing dots, IDNA and unicode dots, IP literals, and what two URL parsers
could read apart. A host check weakened to a suffix or a substring match fails these tests."""

from __future__ import annotations

import pytest
from yarl import URL

from lib.chat import hosts
from lib.config import TEAMS_WEBHOOK_HOSTS, Settings, load_settings
from lib.models import FollowUp

MATTERMOST = "https://chat.example.com"
SETTINGS = load_settings({"MATTERMOST_URL": f"{MATTERMOST},https://mm.example.org/team"}.get)


def target(platform: str, url: str, settings: Settings = SETTINGS) -> str | None:
    return hosts.target(FollowUp(platform=platform, url=url), settings)


def teams_target(url: str) -> str | None:
    settings = SETTINGS.model_copy(update={"teams_incoming_webhook_url": _Secret(url)})
    return target("teams", "", settings)


class _Secret:
    """Stands in for the SecretStr of a configured URL (the configuration's own rule is tested elsewhere): the
    host check itself must refuse what the configuration might let through."""

    def __init__(self, value: str) -> None:
        self.value = value

    def get_secret_value(self) -> str:
        return self.value


# What two parsers could read apart, or a client could resolve elsewhere: refused on every platform.
IDEOGRAPHIC_DOT, FULLWIDTH_DOT, CYRILLIC_A, CYRILLIC_O = "\u3002", "\uff0e", "\u0430", "\u043e"


def confusions(host: str, path: str, lookalikes: bool = True) -> list[str]:
    """URLs that name ``host`` but must not reach it (or reach another host). ``lookalikes``: also the names that
    only resemble it (for a host under a domain, those may be other hosts of the same owner)."""
    label, _, rest = host.partition(".")
    ideographic, fullwidth, cyrillic = (
        host.replace(".", IDEOGRAPHIC_DOT),
        host.replace(".", FULLWIDTH_DOT),
        host.replace("a", CYRILLIC_A).replace("o", CYRILLIC_O),
    )
    similar = [
        f"https://evil-{host}{path}",  # a look-alike that ends like it (suffix without a dot)
        f"https://{label}-{rest}{path}",  # a look-alike registrable domain
    ]
    return [
        *(similar if lookalikes else []),
        f"https://{host}.evil.example{path}",  # the allowed host as labels of another domain (substring)
        f"https://{host}evil.example{path}",
        f"https://{label}.{rest}.{path.strip('/')}",  # no path: the path's words as labels
        f"https://user@{host}{path}",  # user information: the host is right, the URL is not
        f"https://{host}@evil.example{path}",  # the allowed host as user information
        f"https://{host}:x@evil.example{path}",
        f"https://evil.example#@{host}{path}",  # the fragment hides the "@"
        f"https://evil.example\\@{host}{path}",  # a backslash, which browsers read as a slash
        f"https://evil.example?@{host}{path}",
        f"https://{host}:8443{path}",  # another port
        f"https://{host}:0{path}",
        f"https://{host}:99999{path}",  # no port at all
        f"http://{host}{path}",  # not https
        f"https://{host}.{path}",  # a trailing dot
        f"https://{host}..{path}",
        f"https://{ideographic}{path}",  # unicode dots (IDNA maps them to ".")
        f"https://{fullwidth}{path}",
        f"https://{host}{IDEOGRAPHIC_DOT}evil.example{path}",  # IDNA: read as {host}.evil.example
        f"https://evil.example{IDEOGRAPHIC_DOT}{host}{path}",
        f"https://{cyrillic}{path}",  # Cyrillic letters that look Latin
        f"https://{host}\t.evil.example{path}",  # a tab, which urlsplit drops
        f"https://{host}\n{path}",
        f"https://{host} {path}",
        f"https://52.1.2.3{path}",  # IP literals
        f"https://[::1]{path}",
        f"https://[::ffff:34.1.2.3]{path}",
        f"https://{host}%2eevil.example{path}",
        f"//{host}{path}",  # no scheme
        f"https:{host}{path}",
        "",
    ]


SLACK_PATH = "/commands/T0001/1234/abcdef"


@pytest.mark.parametrize("host", sorted(hosts.SLACK_HOSTS))
def test_slack_and_govslack_response_urls_on_their_own_hosts_are_used(host: str) -> None:
    for url in (
        f"https://{host}{SLACK_PATH}",
        f"https://{host}:443{SLACK_PATH}",
        f"https://{host.upper()}{SLACK_PATH}",
    ):
        assert target("slack", url) == url


@pytest.mark.parametrize("host", sorted(hosts.SLACK_HOSTS))
def test_slack_and_govslack_host_confusions_are_refused(host: str) -> None:
    for url in confusions(host, SLACK_PATH):
        assert target("slack", url) is None, url


@pytest.mark.parametrize(
    "url",
    [
        "https://xhooks.slack.com/commands/1",  # a suffix match would take these
        "https://api.hooks.slack.com/commands/1",
        "https://hooks.slack.com.evil.example/commands/1",  # a substring match would take these
        "https://evil.example/hooks.slack.com/commands/1",
        "https://evil.example/?u=https://hooks.slack.com/",
        "https://slack.com/commands/1",
        "https://hooks.slack-gov.com.example/commands/1",
        "https://hooks.slack.co/commands/1",
    ],
)
def test_a_slack_host_is_matched_whole(url: str) -> None:
    assert target("slack", url) is None
    assert target("mattermost", url) is None  # and no platform takes another's


TEAMS_PATH = "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=s3cr3t"


@pytest.mark.parametrize("domain", TEAMS_WEBHOOK_HOSTS)
def test_teams_workflow_urls_under_microsofts_domains_are_used(domain: str) -> None:
    for host in (f"prod-12.westeurope.{domain}", f"default7a1b.2c.{domain}", f"x.{domain}"):
        url = f"https://{host}{TEAMS_PATH}"
        assert teams_target(url) == url


@pytest.mark.parametrize("domain", TEAMS_WEBHOOK_HOSTS)
def test_teams_host_confusions_are_refused(domain: str) -> None:
    host = f"prod-12.westeurope.{domain}"
    for url in [
        *confusions(domain, TEAMS_PATH),
        *confusions(host, TEAMS_PATH, lookalikes=False),
        f"https://{domain}{TEAMS_PATH}",  # the domain itself is no workflow host
        f"https://evil{domain}{TEAMS_PATH}",  # a suffix match would take these
        f"https://evil-{domain}{TEAMS_PATH}",
        f"https://.{domain}{TEAMS_PATH}",  # an empty label
        f"https://a..b.{domain}{TEAMS_PATH}",
        f"https://-x.{domain}{TEAMS_PATH}",  # labels start and end with a letter or digit
        f"https://x_y.{domain}{TEAMS_PATH}",
        f"https://x.{domain}.evil.example{TEAMS_PATH}",  # a substring match would take these
        f"https://evil.example/{domain}{TEAMS_PATH}",
    ]:
        assert teams_target(url) is None, url


def test_without_a_configured_workflow_url_teams_posts_nowhere() -> None:
    assert target("teams", "https://prod-12.westeurope.logic.azure.com/workflows/x") is None


MM_PATH = "/hooks/commands/k3y4abc"


@pytest.mark.parametrize(
    ("server", "host"), [(MATTERMOST, "chat.example.com"), ("https://mm.example.org/team", "mm.example.org")]
)
def test_mattermost_response_urls_on_a_configured_server_are_used(server: str, host: str) -> None:
    url = f"{server}{MM_PATH}"
    assert target("mattermost", url) == url
    assert target("mattermost", url.replace(host, host.upper())) is not None


@pytest.mark.parametrize("host", ["chat.example.com"])
def test_mattermost_host_confusions_are_refused(host: str) -> None:
    for url in [
        *confusions(host, MM_PATH),
        f"https://{host}{MM_PATH}/../../x",  # only /hooks/commands/<id>
        f"https://{host}/hooks/commands/",
        f"https://{host}{MM_PATH}?next=https://evil.example",
        f"https://{host}{MM_PATH}#x",
        f"https://mm.example.org{MM_PATH}",  # that server's commands live under /team
        f"https://mm.example.org/teamevil{MM_PATH}",
        f"https://mm.example.org/other/team{MM_PATH}",
        f"https://chat.example.co{MM_PATH}",
        f"https://example.com{MM_PATH}",
        f"https://sub.{host}{MM_PATH}",
    ]:
        assert target("mattermost", url) is None, url


def test_without_mattermost_url_no_response_url_is_used() -> None:
    bare = load_settings(lambda _: None)
    assert target("mattermost", f"{MATTERMOST}{MM_PATH}", bare) is None


@pytest.mark.parametrize(
    "url",
    [
        f"https://hooks.slack.com{SLACK_PATH}",
        f"https://HOOKS.slack.com:443{SLACK_PATH}",
        f"https://prod-12.westeurope.logic.azure.com{TEAMS_PATH}",
        f"{MATTERMOST}{MM_PATH}",
    ],
)
def test_what_passes_is_read_alike_by_the_http_client(url: str) -> None:
    # The client (aiohttp, through yarl) must connect to the host the check saw, on the port it saw.
    parsed = URL(url)
    assert parsed.host == url.split("//")[1].split("/")[0].split(":")[0].lower()
    assert parsed.port == 443 and parsed.user is None and parsed.scheme == "https"
