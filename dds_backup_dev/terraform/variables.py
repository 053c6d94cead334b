"""The deployment's inputs: every Terraform variable with its description, type, default and validation.

Only ``region`` has no default, and ``default_request`` is needed while the timer is on: everything else is
either off until asked for or created by the deployment itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dds_backup_dev import secret_rules
from dds_backup_dev.template import ROUTES
from lib.config import TOPIC_URN, SecretRule

NO_DEFAULT: Any = object()

# The structure of a FunctionGraph cron (six fields, day-of-week optional, an optional CRON_TZ, or @every);
# the values of each field are checked by the platform.
CRON = (
    r"^(CRON_TZ=[A-Za-z0-9_+/-]+ )?"
    r"(@every ([0-9]+h[0-9]+m|[0-9]+h|[0-9]+m)|[0-9A-Za-z*?/,-]+( [0-9A-Za-z*?/,-]+){4,5})$"
)
DEFAULT_SCHEDULE = "CRON_TZ=Europe/Berlin 0 0 2 * * ?"
TARGETS = ("instance_id", "instance_ids", "selector")
# A DNS host name (API Gateway binds up to 255 characters, a wildcard too: OTC api-gateway umn/source/
# api_management/binding_a_domain_name.rst); backslashes doubled for the HCL string.
DOMAIN = r"^(\\*\\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$"
DOMAIN_RULE = "custom_domain: a host name such as backup.example.com (no https://, no path, lower case)"


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    description: str
    default: Any = NO_DEFAULT
    sensitive: bool = False
    rules: tuple[tuple[str, str], ...] = ()  # (HCL condition, error message)
    group: str = ""
    example: Any = NO_DEFAULT  # the value terraform.tfvars.example shows, when not the default

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT

    def block(self) -> dict[str, Any]:
        """The variable in JSON syntax: ``type`` is a type expression, ``default`` a literal value."""
        out: dict[str, Any] = {"type": self.type, "description": self.description}
        if not self.required:
            out["default"] = self.default
        if self.sensitive:
            out["sensitive"] = True
        if self.rules:
            out["validation"] = [{"condition": "${" + c + "}", "error_message": m} for c, m in self.rules]
        return out


def _text(name: str, description: str, group: str, **kw: Any) -> Variable:
    return Variable(name, "string", description, default=kw.pop("default", ""), group=group, **kw)


def _switch(name: str, description: str, group: str, default: bool = False) -> Variable:
    return Variable(name, "bool", description, default=default, group=group, example=not default)


def _urn(name: str, description: str) -> Variable:
    rule = (
        f'var.{name} == "" || can(regex("{TOPIC_URN}", var.{name}))',
        f"{name}: urn:smn:<region>:<project id>:<name>",
    )
    return _text(name, description, "topics", rules=(rule,))


def _secret(rule: SecretRule, used_by: str) -> Variable:
    name = secret_rules.variable(rule)
    return _text(
        name,
        f"{rule.key} of the function ({used_by}): {rule.shape}.",
        "secrets",
        sensitive=True,
        rules=((secret_rules.condition(rule, f"var.{name}"), f"{name} must be {rule.shape}"),),
    )


def _basics(region_rule: tuple[str, str], region_example: str) -> list[Variable]:
    targets = json.dumps(list(TARGETS))
    request_rule = (
        'var.default_request == "" || '
        f"try(length(setintersection(keys(jsondecode(var.default_request)), {targets})) == 1, false)",
        "default_request must be a JSON object with exactly one of instance_id, instance_ids, selector",
    )
    return [
        Variable(
            "region",
            "string",
            "Region of the function, its topics and the DDS instances it backs up (the function's REGION).",
            rules=(region_rule,),
            group="basics",
            example=region_example,
        ),
        _text(
            "project_name",
            "IAM project of the function when it is not the region's default project (which is named like the "
            "region). The agency's policy is granted in this project.",
            "basics",
        ),
        _text(
            "default_request",
            'What the timer backs up, as a JSON backup request (the function\'s DEFAULT_REQUEST), e.g. {"selector": '
            '{"name": "*-prod"}}, {"selector": {"tags": {"backup": "nightly"}}} or {"instance_ids": ["..."]}. '
            "Needed while the timer is on.",
            "basics",
            rules=(request_rule,),
            example='{"selector": {"name": "*-prod"}}',
        ),
        _switch("enable_timer", "Run the timer trigger (backup_schedule, default_request).", "basics", default=True),
        _switch(
            "enable_audit",
            "Run the hourly audit timer: every instance must have a COMPLETED backup from the last 26 hours; stale "
            "ones are published to the alert topic (create_alert_topic or alert_topic_urn).",
            "basics",
        ),
        _text(
            "backup_schedule",
            "When the timer runs: a FunctionGraph cron (seconds minutes hours day-of-month month day-of-week), "
            "optionally after CRON_TZ=<zone>; or @every 12h.",
            "basics",
            default=DEFAULT_SCHEDULE,
            rules=((f'can(regex("{CRON}", var.backup_schedule))', "backup_schedule: e.g. 0 0 2 * * ? or @every 12h"),),
        ),
    ]


def _retention() -> list[Variable]:
    rule = (
        'var.default_retention == "" || try(length(jsondecode(var.default_retention)) > 0 && alltrue([for k in '
        'keys(jsondecode(var.default_retention)) : contains(["keep_last", "max_age_days"], k)]), false)',
        'default_retention must be a JSON object such as {"keep_last": 7, "max_age_days": 30}',
    )
    return [
        _switch(
            "enable_retention",
            "Let the function delete its own old backups (grants dds:backup:delete): needed by default_retention "
            "and by requests that carry a retention.",
            "retention",
        ),
        _text(
            "default_retention",
            'Retention for timer requests without one (DEFAULT_RETENTION), e.g. {"keep_last": 7, "max_age_days": '
            "30}; other sources prune only when their request asks. Off when empty; needs enable_retention.",
            "retention",
            rules=(rule,),
            example='{"keep_last": 7, "max_age_days": 30}',
        ),
    ]


def _agency() -> list[Variable]:
    return [
        _switch(
            "create_agency",
            "Create the function's agency with a custom policy of exactly the actions it calls. Needs IAM "
            "administrator rights; else set create_agency = false and agency_name.",
            "agency",
            default=True,
        ),
        _text(
            "agency_name",
            "An existing FunctionGraph agency (delegated to the FunctionGraph service, op_svc_cff) to use "
            "instead of creating one.",
            "agency",
            example="fgs-dds-backup",
        ),
    ]


TOPICS = {
    "result": "every result event is published here (RESULT_TOPIC_URN)",
    "fanout": "large requests are fanned out through this topic, and its trigger brings each part back "
    "(FANOUT_TOPIC_URN)",
    "alert": "failed asynchronous invocations (after the last retry) and the function's alerts (ALERT_TOPIC_URN)",
    "request": "other systems publish backup requests here; the function is subscribed through an SMN trigger",
}


def _topics() -> list[Variable]:
    out = []
    for kind, job in TOPICS.items():
        out.append(_switch(f"create_{kind}_topic", f"Create the {kind} topic: {job}.", "topics"))
        out.append(_urn(f"{kind}_topic_urn", f"An existing {kind} topic instead of creating one: {job}."))
    return out


def _kafka() -> list[Variable]:
    return [
        _switch(
            "enable_kafka",
            "Take backup requests from a DMS for Kafka topic. The function then runs in vpc_id/subnet_id to reach "
            "the brokers.",
            "kafka",
        ),
        _text("kafka_instance_id", "The DMS for Kafka instance (its ID).", "kafka"),
        _text("vpc_id", "The VPC of the Kafka instance, which the function joins when enable_kafka is set.", "kafka"),
        _text("subnet_id", "The subnet (network ID) of that VPC for the function.", "kafka"),
    ]


ROUTE_SWITCHES = {
    "/backups": "enable_webhooks",
    "/backups/{backup_id}": "enable_webhooks",
    "/slack": "enable_slack",
    "/teams": "enable_teams",
    "/mattermost": "enable_mattermost",
}
assert set(ROUTE_SWITCHES) == set(ROUTES)


def _gateway() -> list[Variable]:
    return [
        _switch("enable_webhooks", "API Gateway routes POST /backups and GET /backups/{backup_id}.", "gateway"),
        _switch("enable_slack", "API Gateway route POST /slack (a Slack slash command).", "gateway"),
        _switch("enable_teams", "API Gateway route POST /teams (a Microsoft Teams outgoing webhook).", "gateway"),
        _switch("enable_mattermost", "API Gateway route POST /mattermost (a Mattermost slash command).", "gateway"),
        _text("apig_instance_id", "The dedicated API Gateway instance the routes are created in (its ID).", "gateway"),
        _switch("create_apig_group", "Create an API group for the routes.", "gateway"),
        _text("apig_group_id", "An existing API group of that gateway, instead of creating one.", "gateway"),
        _text(
            "custom_domain",
            "Your own domain for the routes, e.g. backup.example.com: api_url is then https://<custom_domain>. Bind it "
            "to the API group with its SSL certificate and point its CNAME record at api_debug_domain "
            "(docs/deployment.md). Without it the routes answer on the group's debug domain, which is for testing "
            "only: reachable from the gateway's VPC alone (unless the gateway has an EIP) and 1000 calls a day.",
            "gateway",
            rules=(
                (
                    'var.custom_domain == "" || (length(var.custom_domain) <= 255 && '
                    f'can(regex("{DOMAIN}", var.custom_domain)))',
                    DOMAIN_RULE,
                ),
            ),
            example="backup.example.com",
        ),
    ]


def _secrets() -> list[Variable]:
    return [
        _secret(secret_rules.WEBHOOK, "POST /backups, GET /backups/{backup_id}"),
        _secret(secret_rules.SLACK, "POST /slack"),
        _secret(secret_rules.TEAMS, "POST /teams"),
        _secret(secret_rules.MATTERMOST, "POST /mattermost"),
        _secret(secret_rules.TEAMS_FOLLOW_UPS, "where Teams commands hear how their backups ended"),
    ]


def catalogue(region_rule: tuple[str, str], region_example: str, package: str) -> dict[str, Variable]:
    """Every variable the rendering declares, in the order of terraform.tfvars.example."""
    code = _text(
        "package_file",
        "The function's zip (dds-backup package), relative to the folder terraform runs in. A changed zip is "
        "deployed on the next apply; an older zip rolls back.",
        "basics",
        default=package,
    )
    groups = [_basics(region_rule, region_example), [code], _retention(), _agency(), _topics(), _kafka()]
    groups += [_gateway(), _secrets()]
    return {v.name: v for group in groups for v in group}


def from_template(name: str) -> Variable:
    """A variable that template.yaml uses and this catalogue does not know: a required string."""
    return Variable(name, "string", f"Used by template.yaml (var.{name}).", group="template")
