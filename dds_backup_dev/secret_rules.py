"""What a well-formed webhook secret looks like: one rule per secret, used by ``dds-backup check`` and by the
Terraform variables' validation, so that both refuse the same values.

Each pattern is written in the regular-expression subset that Python and Terraform (RE2) read alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SecretRule:
    key: str  # the function's variable
    variable: str  # the Terraform variable that carries it
    pattern: str
    shape: str  # what a good value looks like, in the words of the sender's documentation
    fix: str
    base64_from: int | None = None  # where a base64 part starts; its length must then be a multiple of 4

    def problem(self, value: str) -> str | None:
        """None when the value is well formed; else what is wrong, never the value itself."""
        if not re.fullmatch(self.pattern, value):
            return f"{self.key} is not {self.shape}"
        if self.base64_from is not None and len(value[self.base64_from :]) % 4:
            return f"{self.key} is not {self.shape}: the base64 part is cut short (its length is not a multiple of 4)"
        return None

    def condition(self, expr: str) -> str:
        """The same rule as an HCL condition on ``expr`` (an empty value passes: the secret is optional)."""
        checks = [f'can(regex("{self.pattern}", {expr}))']
        if self.base64_from is not None:
            checks.append(f"(length({expr}) - {self.base64_from}) % 4 == 0")
        return f'{expr} == "" || ({" && ".join(checks)})'


# Standard Webhooks: "whsec_" + base64 of the key; 32 base64 characters are 24 bytes.
WEBHOOK = SecretRule(
    "WEBHOOK_SECRET",
    "webhook_secret",
    r"^whsec_[A-Za-z0-9+/]{32,}={0,2}$",
    "whsec_ followed by base64 of at least 24 bytes",
    'generate one with: echo "whsec_$(openssl rand -base64 32)", and give the same value to the sender',
    base64_from=len("whsec_"),
)
# Slack's signing secret is a string of letters and digits; a token (xoxb-...) or a client secret is not it.
SLACK = SecretRule(
    "SLACK_SIGNING_SECRET",
    "slack_signing_secret",
    r"^[A-Za-z0-9]{20,}$",
    "a Slack signing secret (letters and digits, no spaces or dashes)",
    "copy api.slack.com/apps -> your app -> Basic Information -> App Credentials -> Signing Secret",
)
# Teams shows a base64 security token when the outgoing webhook is created; 22 characters are 16 bytes.
TEAMS = SecretRule(
    "TEAMS_WEBHOOK_TOKEN",
    "teams_webhook_token",
    r"^[A-Za-z0-9+/]{22,}={0,2}$",
    "the base64 security token Teams shows when the outgoing webhook is created",
    "create the outgoing webhook again in Teams (the token is shown once) and copy the whole token",
    base64_from=0,
)
MATTERMOST = SecretRule(
    "MATTERMOST_TOKEN",
    "mattermost_token",
    r"^[a-z0-9]{26}$",
    "a Mattermost slash command token (26 lower-case letters and digits)",
    "copy Integrations -> Slash Commands -> your command -> Token",
)
RULES = (WEBHOOK, SLACK, TEAMS, MATTERMOST)
