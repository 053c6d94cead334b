"""Configuration: one pydantic model, read through getUserData() then os.environ.

Read at the start of every invocation (values are cheap to read and may change between deployments);
anything malformed stops the invocation with a message naming the variable, before any DDS call.
"""

from __future__ import annotations

import base64
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lib import jsonsafe
from lib.models import BackupRequest, Retention, describe_field_errors, field_errors
from lib.planning.naming import check_template

# Default backup name: a recognisable prefix (retention only ever touches names with it), the instance, the
# event's time, and a short hash of the event identity that makes redeliveries map to the same name.
DEFAULT_NAME_TEMPLATE = "ddsb-{instance}-{time}-{hash}"


class ConfigError(Exception):
    """The function is configured wrongly; the message names the variable and what to change."""


@dataclass(frozen=True)
class SecretRule:
    """What a well-formed secret of one variable looks like. The patterns read alike in Python and in Terraform's
    RE2, so that the Terraform variables refuse what the function would refuse at start
    (``dds_backup_dev/secret_rules.py`` renders the whole rule, the distinct values included)."""

    key: str
    pattern: str
    shape: str
    fix: str
    #: The pattern for a value that starts with ``whsec_`` (a Standard Webhooks secret), when it differs.
    whsec: str | None = None
    #: At least this many different characters (a plain value) or byte values (a whsec_ key): a long value of
    #: two letters, or a key of zeros, is no secret.
    distinct: int = 0

    def problem(self, value: str) -> str | None:
        """None when well formed, else what is wrong (never the value)."""
        prefixed = self.whsec is not None and value.startswith("whsec_")
        if not re.fullmatch(self.whsec if prefixed and self.whsec else self.pattern, value):
            return f"is not {self.shape}"
        if prefixed:
            try:
                key = standard_webhooks_key(value)
            except ValueError as exc:
                return str(exc)
            if len(set(key)) < self.distinct:
                return f"decodes to a key of fewer than {self.distinct} different byte values: not a random key"
        elif len(set(value)) < self.distinct:
            return f"has fewer than {self.distinct} different characters: not a random secret"
        return None


# Standard Webhooks secrets hold 24-64 random bytes: 32 base64 characters are 24 bytes. A plain secret (GitHub's
# kind) has at least as many characters, printable ASCII (what every sender's settings page takes).
MIN_DISTINCT = 8
WEBHOOK_SECRET_RULE = SecretRule(
    "WEBHOOK_SECRET",
    r"^[ -~]{24,}$",
    "a whsec_ secret of at least 24 random bytes, or a plain secret of at least 24 characters (printable ASCII)",
    "make one with `dds-backup secret`, and give the same value to the sender",
    whsec=r"^whsec_[A-Za-z0-9+/]{32,}={0,2}$",
    distinct=MIN_DISTINCT,
)
# Slack shows a signing secret of letters and digits (32 of them); a token (xoxb-...) is not it.
SLACK_SECRET_RULE = SecretRule(
    "SLACK_SIGNING_SECRET",
    r"^[A-Za-z0-9]{20,}$",
    "a Slack signing secret (letters and digits)",
    "copy it from api.slack.com/apps -> your app -> Basic Information -> App Credentials -> Signing Secret",
)
# Teams shows a base64 security token once, when the outgoing webhook is created; 22 characters are 16 bytes.
TEAMS_TOKEN_RULE = SecretRule(
    "TEAMS_WEBHOOK_TOKEN",
    r"^[A-Za-z0-9+/]{22,}={0,2}$",
    "the base64 security token Teams shows when the outgoing webhook is created",
    "create the outgoing webhook again in Teams (the token is shown once) and copy the whole token",
)
MATTERMOST_TOKEN_RULE = SecretRule(
    "MATTERMOST_TOKEN",
    r"^[a-z0-9]{26}$",
    "a Mattermost slash command token (26 lower-case letters and digits)",
    "copy it from Integrations -> Slash Commands -> your command -> Token",
)
# Microsoft's hosts for posting into a Teams channel: Power Automate Workflows ("When a Teams webhook request is
# received"; older URLs under logic.azure.com) and the retiring Microsoft 365 connectors (webhook.office.com).
TEAMS_WEBHOOK_HOSTS = ("environment.api.powerplatform.com", "logic.azure.com", "webhook.office.com")
TEAMS_INCOMING_URL_RULE = SecretRule(
    "TEAMS_INCOMING_WEBHOOK_URL",
    "^https://[A-Za-z0-9.-]+[.](" + "|".join(h.replace(".", "[.]") for h in TEAMS_WEBHOOK_HOSTS) + ")(:443)?/[^ ]*$",
    "an https URL of a Teams Workflow (or connector) that posts into a channel",
    "in Teams, add the workflow 'Post to a channel when a webhook request is received' and copy its URL",
)
SECRET_RULES = (
    WEBHOOK_SECRET_RULE,
    SLACK_SECRET_RULE,
    TEAMS_TOKEN_RULE,
    MATTERMOST_TOKEN_RULE,
    TEAMS_INCOMING_URL_RULE,
)


def origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the part after ``whsec_``, base64-decoded strictly (the standard
    alphabet; padding at the end only, and then as much as the length needs; no bits left over), so that a value
    is never silently read as another key. Every secret the official ``standardwebhooks`` libraries make passes,
    and decodes to the key they use (with or without its padding). Raises ValueError (never naming the value)
    for a value without the prefix, or one whose rest is no such base64, or empty."""
    if not secret.startswith("whsec_"):
        raise ValueError("is a plain secret: Standard Webhooks signatures need a whsec_ secret")
    encoded = secret.removeprefix("whsec_")
    bare = encoded.rstrip("=")
    padding = len(encoded) - len(bare)
    if not _BASE64.fullmatch(bare) or len(bare) % 4 == 1 or (padding and (padding > 2 or len(encoded) % 4)):
        raise ValueError("is not base64 after the whsec_ prefix")
    key = base64.b64decode(bare + "=" * (-len(bare) % 4), validate=True)
    if base64.b64encode(key).decode().rstrip("=") != bare:
        raise ValueError("is not base64 after the whsec_ prefix (its last character leaves bits over)")
    if not key:
        raise ValueError("is empty after the whsec_ prefix")
    return key


# urn:smn:{region}:{project id}:{topic name}; the emulator and the template model use it too.
TOPIC_URN = r"^urn:smn:[a-z0-9-]+:([0-9a-f]{32}):[A-Za-z0-9][A-Za-z0-9_-]{0,255}$"
# The regions with DDS that the function knows. Open Telekom Cloud: eu-de and eu-nl (opentelekomcloud-docs/
# regions-and-endpoints doc/source/index.rst) and Swiss eu-ch2, whose endpoint list (opentelekomcloud-docs-swiss/
# regions-and-endpoints doc/source/index.rst) names no DDS host: there the DDS endpoint is read from the IAM
# token's catalog (lib/cloud/regions.py), and a catalog without one is a configuration error that says so.
# Huawei Cloud: the regions of the official SDK's DDS client (huaweicloud/huaweicloud-sdk-python-v3
# huaweicloud-sdk-dds/huaweicloudsdkdds/v3/region/dds_region.py, DdsRegion.static_fields; tests/test_credentials.py
# compares this list with the installed SDK's).
OTC_REGIONS = ("eu-de", "eu-nl", "eu-ch2")
HUAWEICLOUD_REGIONS = (
    "af-north-1",
    "af-south-1",
    "ae-ad-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "cn-east-2",
    "cn-east-3",
    "cn-east-4",
    "cn-east-5",
    "cn-north-1",
    "cn-north-2",
    "cn-north-4",
    "cn-north-9",
    "cn-north-11",
    "cn-north-12",
    "cn-south-1",
    "cn-south-2",
    "cn-south-4",
    "cn-southwest-2",
    "cn-southwest-3",
    "eu-west-0",
    "eu-west-101",
    "la-north-2",
    "la-south-2",
    "me-east-1",
    "my-kualalumpur-1",
    "na-mexico-1",
    "ru-moscow-1",
    "ru-northwest-2",
    "sa-brazil-1",
    "tr-west-1",
)
KNOWN_REGIONS = frozenset((*OTC_REGIONS, *HUAWEICLOUD_REGIONS))
_BASE64 = re.compile(r"[A-Za-z0-9+/]*")
_REGION = re.compile(r"[a-z]{2,}(-[a-z0-9]+){1,3}")
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


class Settings(BaseModel):
    """Every variable the function reads. Field aliases are the variable names."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # DDS_ENDPOINT first: the region is checked knowing whether it says where DDS is.
    dds_endpoint: str | None = Field(default=None, alias="DDS_ENDPOINT")
    region: str | None = Field(default=None, alias="REGION")
    iam_endpoint: str | None = Field(default=None, alias="IAM_ENDPOINT")
    project_id: str | None = Field(default=None, alias="PROJECT_ID", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ak: str | None = Field(default=None, alias="HUAWEICLOUD_SDK_AK")
    sk: SecretStr | None = Field(default=None, alias="HUAWEICLOUD_SDK_SK")
    security_token: SecretStr | None = Field(default=None, alias="HUAWEICLOUD_SDK_SECURITY_TOKEN")
    os_username: str | None = Field(default=None, alias="OS_USERNAME")
    os_password: SecretStr | None = Field(default=None, alias="OS_PASSWORD")
    os_user_domain_name: str | None = Field(default=None, alias="OS_USER_DOMAIN_NAME")
    os_project_name: str | None = Field(default=None, alias="OS_PROJECT_NAME")
    default_request: BackupRequest | None = Field(default=None, alias="DEFAULT_REQUEST")
    webhook_secret: SecretStr | None = Field(default=None, alias="WEBHOOK_SECRET")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    teams_webhook_token: SecretStr | None = Field(default=None, alias="TEAMS_WEBHOOK_TOKEN")
    mattermost_token: SecretStr | None = Field(default=None, alias="MATTERMOST_TOKEN")
    #: Where Teams follow-ups go: an outgoing webhook cannot post later, a Workflow URL can (its sig= is a secret).
    teams_incoming_webhook_url: SecretStr | None = Field(default=None, alias="TEAMS_INCOMING_WEBHOOK_URL")
    #: The Mattermost server(s) whose response_url may receive follow-ups, e.g. https://chat.example.com.
    mattermost_url: frozenset[str] | None = Field(default=None, alias="MATTERMOST_URL")
    #: ``gateway``: API Gateway's own authentication (APP or IAM) vouches for the callers of /backups.
    webhook_auth: Literal["signature", "gateway"] = Field(default="signature", alias="WEBHOOK_AUTH")
    #: The same for the chat routes (/slack, /teams, /mattermost), on its own.
    chat_auth: Literal["signature", "gateway"] = Field(default="signature", alias="CHAT_AUTH")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", alias="LOG_LEVEL")
    backup_name_template: str = Field(default=DEFAULT_NAME_TEMPLATE, alias="BACKUP_NAME_TEMPLATE")
    max_concurrency: int = Field(default=10, ge=1, le=100, alias="MAX_CONCURRENCY")
    request_timeout: float = Field(default=15.0, gt=0, le=120, alias="REQUEST_TIMEOUT_SECONDS")
    retry_max_attempts: int = Field(default=4, ge=1, le=10, alias="RETRY_MAX_ATTEMPTS")
    retry_base_delay: float = Field(default=0.25, ge=0, le=10, alias="RETRY_BASE_DELAY_SECONDS")
    default_retention: Retention | None = Field(default=None, alias="DEFAULT_RETENTION")
    smn_endpoint: str | None = Field(default=None, alias="SMN_ENDPOINT")
    result_topic_urn: str | None = Field(default=None, alias="RESULT_TOPIC_URN", pattern=TOPIC_URN)
    fanout_topic_urn: str | None = Field(default=None, alias="FANOUT_TOPIC_URN", pattern=TOPIC_URN)
    #: Every ``stale`` and every ``failed`` result is also published here (an e-mail/SMS subscription pages).
    alert_topic_urn: str | None = Field(default=None, alias="ALERT_TOPIC_URN", pattern=TOPIC_URN)
    fanout_threshold: int = Field(default=100, ge=1, le=100000, alias="FANOUT_THRESHOLD")
    # APIG gives a backend at most 60 s; a waiting POST /backups answers 202 before that.
    webhook_wait: float = Field(default=50.0, ge=0, le=55, alias="WEBHOOK_WAIT_SECONDS")
    slack_allowed_users: frozenset[str] | None = Field(default=None, alias="SLACK_ALLOWED_USERS")
    slack_allowed_channels: frozenset[str] | None = Field(default=None, alias="SLACK_ALLOWED_CHANNELS")
    teams_allowed_users: frozenset[str] | None = Field(default=None, alias="TEAMS_ALLOWED_USERS")
    teams_allowed_channels: frozenset[str] | None = Field(default=None, alias="TEAMS_ALLOWED_CHANNELS")
    mattermost_allowed_users: frozenset[str] | None = Field(default=None, alias="MATTERMOST_ALLOWED_USERS")
    mattermost_allowed_channels: frozenset[str] | None = Field(default=None, alias="MATTERMOST_ALLOWED_CHANNELS")

    @field_validator(
        "slack_allowed_users",
        "slack_allowed_channels",
        "teams_allowed_users",
        "teams_allowed_channels",
        "mattermost_allowed_users",
        "mattermost_allowed_channels",
        "mattermost_url",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("log_level", "webhook_auth", "chat_auth", mode="before")
    @classmethod
    def _case_insensitive(cls, value: object) -> object:
        if isinstance(value, str):
            return value.upper() if value.upper() in ("DEBUG", "INFO", "WARNING", "ERROR") else value.lower()
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A region name the function does not know gives endpoints that do not exist (``eu-fr`` would become
        dds.eu-fr.myhuaweicloud.com): refused, unless DDS_ENDPOINT says where DDS is."""
        if value is None:
            return value
        if not _REGION.fullmatch(value):
            raise ValueError("must look like eu-de, eu-nl or ap-southeast-3")
        if value in KNOWN_REGIONS or info.data.get("dds_endpoint") is not None:
            return value
        close = difflib.get_close_matches(value, sorted(KNOWN_REGIONS), n=3)
        guess = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise ValueError(
            f"{value} is not a region with DDS{guess}: Open Telekom Cloud has {', '.join(OTC_REGIONS)}, Huawei "
            "Cloud e.g. ap-southeast-3 (the full list is in docs/configuration.md); for another region set "
            "DDS_ENDPOINT (and IAM_ENDPOINT, SMN_ENDPOINT)"
        )

    @field_validator("dds_endpoint", "iam_endpoint", "smn_endpoint")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _URL.fullmatch(value):
            raise ValueError("must be an http(s) URL such as https://dds.eu-de.otc.t-systems.com")
        return value.rstrip("/") if value else value

    @field_validator("default_request", "default_retention", mode="before")
    @classmethod
    def _json_request(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return jsonsafe.loads(value, max_bytes=4096)  # all variables together are at most 4 KB
            except jsonsafe.JsonRejected as exc:
                raise ValueError(f"must be a JSON object: {exc.message}") from None
        return value

    @field_validator("mattermost_url")
    @classmethod
    def _base_urls(cls, value: frozenset[str] | None) -> frozenset[str] | None:
        for url in value or ():
            if not _URL.fullmatch(url):
                raise ValueError(
                    "must be the Mattermost server's URL(s), comma-separated, e.g. https://chat.example.com"
                )
        return frozenset(u.rstrip("/") for u in value) if value else value

    @field_validator(
        "webhook_secret",
        "slack_signing_secret",
        "teams_webhook_token",
        "mattermost_token",
        "teams_incoming_webhook_url",
    )
    @classmethod
    def _well_formed(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """A weak or malformed secret stops the function, naming the variable; it is never read as another key."""
        if value is None:
            return value
        rule = _RULES_BY_FIELD[str(info.field_name)]
        stand_ins = (info.context or {}).get(STAND_INS, frozenset())
        if rule is TEAMS_INCOMING_URL_RULE and origin_of(value.get_secret_value()) in stand_ins:
            return value  # a local stand-in for Teams (handed in by the dev side: ``Invocation.chat_stand_ins``)
        if (problem := rule.problem(value.get_secret_value())) is not None:
            raise ValueError(f"{problem}: {rule.fix}")
        return value

    @field_validator("backup_name_template")
    @classmethod
    def _template(cls, value: str) -> str:
        check_template(value)
        return value

    @model_validator(mode="after")
    def _complete_pairs(self) -> Settings:
        if (self.ak is None) != (self.sk is None):
            missing = "HUAWEICLOUD_SDK_SK" if self.sk is None else "HUAWEICLOUD_SDK_AK"
            raise ValueError(f"{missing} is missing: AK/SK signing needs both HUAWEICLOUD_SDK_AK and _SK")
        if self.security_token is not None and self.ak is None:
            raise ValueError("HUAWEICLOUD_SDK_SECURITY_TOKEN is set without HUAWEICLOUD_SDK_AK/_SK")
        password_vars = {
            "OS_USERNAME": self.os_username,
            "OS_PASSWORD": self.os_password,
            "OS_USER_DOMAIN_NAME": self.os_user_domain_name,
        }
        given = [k for k, v in password_vars.items() if v is not None]
        if given and len(given) != len(password_vars):
            missing = ", ".join(k for k, v in password_vars.items() if v is None)
            raise ValueError(
                f"{missing} missing: IAM password auth needs OS_USERNAME, OS_PASSWORD, OS_USER_DOMAIN_NAME"
            )
        return self

    @property
    def has_password(self) -> bool:
        return self.os_username is not None

    def secrets(self) -> list[str]:
        """Values that must never reach a log line, a result or an answer: every ``SecretStr`` field."""
        values = (getattr(self, name) for name in _SECRET_FIELDS)
        return [v.get_secret_value() for v in values if v is not None]


_RULES_BY_FIELD = {
    "webhook_secret": WEBHOOK_SECRET_RULE,
    "slack_signing_secret": SLACK_SECRET_RULE,
    "teams_webhook_token": TEAMS_TOKEN_RULE,
    "mattermost_token": MATTERMOST_TOKEN_RULE,
    "teams_incoming_webhook_url": TEAMS_INCOMING_URL_RULE,
}
CONFIG_KEYS: tuple[str, ...] = tuple(f.alias for f in Settings.model_fields.values() if f.alias is not None)
# A variable is a secret when its field is a SecretStr: the one place that decides it (templates refuse secrets
# in plain user_data, Terraform marks their variables sensitive, the log redactor masks their values).
_SECRET_FIELDS = tuple(
    n for n, f in Settings.model_fields.items() if SecretStr in (f.annotation, *get_args(f.annotation))
)
SECRET_KEYS: frozenset[str] = frozenset(Settings.model_fields[n].alias or n for n in _SECRET_FIELDS)


#: The validation context's key for ``Invocation.chat_stand_ins``.
STAND_INS = "chat_stand_ins"


def load_settings(lookup: Callable[[str], str | None], chat_stand_ins: frozenset[str] = frozenset()) -> Settings:
    """Build Settings from a lookup (getUserData then environ). Empty strings count as unset. ``chat_stand_ins``:
    loopback origins a ``TEAMS_INCOMING_WEBHOOK_URL`` may point at (the dev side's stand-ins for Teams)."""
    raw = {}
    for key in CONFIG_KEYS:
        value = lookup(key)
        if value is not None and value.strip() != "":
            raw[key] = value.strip()
    try:
        return Settings.model_validate(raw, context={STAND_INS: chat_stand_ins})
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    by_name = {name: f.alias or name for name, f in Settings.model_fields.items()}
    errors = field_errors(exc)
    for err in errors:
        head, _, rest = err.field.partition(".")
        var = by_name.get(head, head)
        err.field = f"{var}.{rest}" if rest else var
        if err.field == "(request)":
            err.field = "configuration"
    return "invalid configuration: " + describe_field_errors(errors)
