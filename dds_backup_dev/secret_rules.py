"""The function's secret rules (``lib/config.py``: ``SECRET_RULES``) as Terraform sees them: each secret's
variable name, and its rule as an HCL condition, so that ``terraform plan`` refuses what the function would
refuse at start. ``dds-backup check`` uses the rules themselves."""

from __future__ import annotations

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
