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
