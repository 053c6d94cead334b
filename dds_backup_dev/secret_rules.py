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
    A whsec_ secret's base64 must decode: its length is never one more than a multiple of four."""
    plain = f'can(regex("{_hcl(rule.pattern)}", {expr}))'
    if rule.whsec is None:
        return f'{expr} == "" || {plain}'
    prefixed = f'can(regex("{_hcl(rule.whsec)}", {expr})) && (length(replace({expr}, "=", "")) - 6) % 4 != 1'
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
    """A fresh random value of the shape the variable ``key`` takes (its rule above accepts it): a ``whsec_``
    secret of ``size`` bytes, a Slack signing secret (32 hex digits, as Slack shows one), a Teams token
    (base64), a Mattermost token (26 lower-case letters and digits)."""
    if key == WEBHOOK.key:
        return "whsec_" + base64.b64encode(secrets.token_bytes(size)).decode()
    if key == SLACK.key:
        return secrets.token_hex(16)
    if key == TEAMS.key:
        return base64.b64encode(secrets.token_bytes(32)).decode()
    if key == MATTERMOST.key:
        return "".join(secrets.choice(_MATTERMOST_ALPHABET) for _ in range(26))
    raise ValueError(f"no secret of {key} is made here")
