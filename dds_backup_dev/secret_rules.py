"""The function's secret rules (``lib/config.py``: ``SECRET_RULES``) as Terraform sees them: each secret's
variable name, and its rule as an HCL condition, so that ``terraform plan`` refuses what the function would
refuse at start. ``dds-backup check`` uses the rules themselves."""

from __future__ import annotations

import base64
import secrets
import string

from lib.config import (
    MATTERMOST_TOKEN_RULE,
    SECRET_RULES,
    SLACK_SECRET_RULE,
    TEAMS_INCOMING_URL_RULE,
    TEAMS_TOKEN_RULE,
    WEBHOOK_SECRET_RULE,
    SecretRule,
)

WEBHOOK = WEBHOOK_SECRET_RULE
SLACK = SLACK_SECRET_RULE
TEAMS = TEAMS_TOKEN_RULE
MATTERMOST = MATTERMOST_TOKEN_RULE
TEAMS_FOLLOW_UPS = TEAMS_INCOMING_URL_RULE
RULES = SECRET_RULES


def variable(rule: SecretRule) -> str:
    """The Terraform variable that carries the secret (``WEBHOOK_SECRET`` -> ``webhook_secret``)."""
    return rule.key.lower()


def condition(rule: SecretRule, expr: str) -> str:
    """The rule on ``expr`` in HCL; an empty value passes (every secret is optional until its route is on).

    A whsec_ secret is decoded as the function decodes it (``standard_webhooks_key``): its base64 never one
    character more than a multiple of four, padding only as much as the length needs, no bits left over (the
    re-encoded key is the same text); its key's byte values are counted on the key read as ISO-8859-1 text, one
    character per byte (a carriage return is counted on its own: Terraform would read it and a line feed after it
    as one character)."""
    plain = f'can(regex("{_hcl(rule.pattern)}", {expr}))'
    if rule.distinct:
        plain = f'({plain} && length(distinct(split("", {expr}))) >= {rule.distinct})'
    if rule.whsec is None:
        return f'{expr} == "" || {plain}'
    encoded = f'trimprefix({expr}, "whsec_")'
    bare = f'replace({encoded}, "=", "")'
    padded = f'"${{{bare}}}${{substr("==", 0, (4 - length({bare}) % 4) % 4)}}"'
    key = f'textdecodebase64({padded}, "ISO-8859-1")'
    decoded = (
        f'textencodebase64({key}, "ISO-8859-1") == {padded}'
        f' && length(distinct(split("", replace({key}, "\\r", "\\u0100")))) >= {rule.distinct}'
    )
    prefixed = (
        f'can(regex("{_hcl(rule.whsec)}", {expr})) && length({bare}) % 4 != 1'
        f" && ({encoded} == {bare} || length({encoded}) % 4 == 0) && try({decoded}, false)"
    )
    return f'{expr} == "" || (startswith({expr}, "whsec_") ? ({prefixed}) : {plain})'


def _hcl(pattern: str) -> str:
    """A pattern inside an HCL string literal: backslashes and quotes escaped."""
    return pattern.replace("\\", "\\\\").replace('"', '\\"')


#: ``dds-backup secret KIND`` and ``serve``: the variable each kind of secret goes to.
KINDS = {
    "webhook": WEBHOOK.key,
    "slack": SLACK.key,
    "teams": TEAMS.key,
    "mattermost": MATTERMOST.key,
}
_MATTERMOST_ALPHABET = string.ascii_lowercase + string.digits


def new_secret(key: str, size: int = 32) -> str:
    """A fresh random value of the shape the variable ``key`` takes, that its rule accepts: a ``whsec_`` secret
    of ``size`` bytes, a Slack signing secret (32 hex digits, as Slack shows one), a Teams token (base64), a
    Mattermost token (26 lower-case letters and digits). Drawn again in the (about 1e-20) case that the rule
    would refuse it as too regular."""
    rule = next((r for r in RULES if r.key == key), None)
    if rule is None:
        raise ValueError(f"no secret of {key} is made here")
    while rule.problem(made := _draw(key, size)) is not None:
        pass
    return made


def _draw(key: str, size: int) -> str:
    if key == WEBHOOK.key:
        return "whsec_" + base64.b64encode(secrets.token_bytes(size)).decode()
    if key == SLACK.key:
        return secrets.token_hex(16)
    if key == TEAMS.key:
        return base64.b64encode(secrets.token_bytes(32)).decode()
    if key == MATTERMOST.key:
        return "".join(secrets.choice(_MATTERMOST_ALPHABET) for _ in range(26))
    raise ValueError(f"no secret of {key} is made here")
