"""The function resource (code, configuration, preconditions) and its asynchronous invocation config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dds_backup_dev import secret_rules
from dds_backup_dev.template import Destination, Template
from dds_backup_dev.terraform.clouds import Cloud
from dds_backup_dev.terraform.hcl import ALWAYS, VAR_REF, Cond, Expr, flag, given, hcl, jsonencode
from dds_backup_dev.terraform.parts import SWITCHES, inputs
from dds_backup_dev.terraform.variables import TOPICS
from lib.http.app import route_checks

# Variables the function reads that template.yaml's model does not list yet (the alert topic, the chat routes'
# tokens): added here unless the template sets them, so that turning a feature on is one variable.
EXTRA_USER_DATA = {"ALERT_TOPIC_URN": "local.alert_topic_urn"}
EXTRA_SECRETS = {rule.key: f"var.{secret_rules.variable(rule)}" for rule in secret_rules.RULES}
ROUTE_SECRETS = {
    "enable_webhooks": secret_rules.WEBHOOK,
    "enable_slack": secret_rules.SLACK,
    "enable_teams": secret_rules.TEAMS,
    "enable_mattermost": secret_rules.MATTERMOST,
}


def _environment(values: Mapping[str, Any], extra: Mapping[str, str]) -> Expr:
    """FunctionGraph's variables as JSON, without the empty ones (unset features leave no trace)."""
    merged: dict[str, Any] = {k: Expr(v) for k, v in extra.items() if k not in values} | dict(values)
    return Expr(f'jsonencode({{for k, v in {hcl(merged, inputs())} : k => v if v != ""}})')


def function(template: Template, package_var: str) -> dict[str, Any]:
    f = template.function
    args: dict[str, Any] = {
        "name": f.func_name,
        "app": f.package,
        "runtime": f.runtime,
        "handler": f.handler,
        "memory_size": f.memory_size,
        "timeout": f.timeout,
        "code_type": f.code_type,
        "func_code": Expr(f"filebase64(var.{package_var})"),
        "code_filename": f.code_filename,
    }
    if f.xrole:
        args["agency"] = Expr(hcl(f.xrole, inputs()))
    if f.app_xrole:
        args["app_agency"] = Expr(hcl(f.app_xrole, inputs()))
    if f.description:
        args["description"] = f.description
    args["user_data"] = _environment(f.user_data, EXTRA_USER_DATA)
    args["encrypted_user_data"] = _environment(f.encrypted_user_data, EXTRA_SECRETS)
    # A Kafka trigger polls brokers inside the VPC (the provider's Kafka trigger notes ask for VPC access).
    args["vpc_id"] = Expr(f"{SWITCHES.kafka.expr} ? var.vpc_id : null")
    args["network_id"] = Expr(f"{SWITCHES.kafka.expr} ? var.subnet_id : null")
    args["lifecycle"] = {
        "precondition": [{"condition": Expr(c.expr), "error_message": m} for c, m in _checks(template)]
    }
    return args


def _checks(template: Template) -> list[tuple[Cond, str]]:
    """What no single variable's validation can see: combinations. Checked before anything is created."""
    s = SWITCHES
    out = [
        (s.create_agency | given("agency_name"), "set agency_name (an existing agency), or create_agency = true"),
        (~(s.create_agency & given("agency_name")), "create_agency and agency_name are both set: keep one"),
        (
            ~given("default_retention") | s.retention,
            "default_retention deletes old backups: set enable_retention = true (grants dds:backup:delete)",
        ),
        (
            ~s.kafka | (given("kafka_instance_id") & given("vpc_id") & given("subnet_id")),
            "enable_kafka needs kafka_instance_id, vpc_id and subnet_id",
        ),
        (~s.routes | given("apig_instance_id"), "the API Gateway routes need apig_instance_id (a dedicated gateway)"),
        (
            ~s.routes | flag("create_apig_group") | given("apig_group_id"),
            "the API Gateway routes need an API group: create_apig_group = true, or apig_group_id",
        ),
        (~(flag("create_apig_group") & given("apig_group_id")), "create_apig_group and apig_group_id: keep one"),
        (
            ~given("custom_domain") | s.routes,
            "custom_domain is the domain of the API Gateway routes: turn one on (enable_webhooks, enable_slack, "
            "enable_teams or enable_mattermost), or leave custom_domain empty",
        ),
    ]
    for kind in TOPICS:
        both = flag(f"create_{kind}_topic") & given(f"{kind}_topic_urn")
        out.append((~both, f"create_{kind}_topic and {kind}_topic_urn are both set: keep one"))
    if any(
        t.trigger_type_code == "TIMER" and not t.event_data.get("user_event", "").strip().startswith("{")
        for t in template.triggers
    ):
        example = '{"selector": {"name": "*-prod"}}'
        out.append((~s.timer | given("default_request"), f"the timer backs up default_request: set it, e.g. {example}"))
    # A route needs its secret unless its own switch hands it to API Gateway's auth (WEBHOOK_AUTH for /backups,
    # CHAT_AUTH for the chat routes: the route table says which).
    trust = {check.secret: check.trust for check in route_checks()}
    for switch, rule in ROUTE_SECRETS.items():
        if template.function.user_data.get(trust[rule.key], "").lower() == "gateway":
            continue
        out.append(
            (
                ~flag(switch) | given(secret_rules.variable(rule)),
                f"{switch} needs {secret_rules.variable(rule)}: {rule.shape}",
            )
        )
    return out


def _destination_switch(destination: Destination) -> Cond:
    ref = VAR_REF.fullmatch(str(destination.param.get("topic_urn", "")))
    kind = ref.group(1).removesuffix("_topic_urn") if ref else None
    return SWITCHES.topic(kind) if kind in TOPICS else ALWAYS


def _block(destination: Destination) -> dict[str, Any]:
    return {"destination": destination.destination, "param": jsonencode(destination.param, inputs())}


def _present(template: Template) -> dict[str, Destination]:
    a = template.async_invoke_config
    if a is None:
        return {}
    return {k: d for k, d in (("on_success", a.on_success), ("on_failure", a.on_failure)) if d is not None}


def _on(destinations: dict[str, Destination]) -> Cond:
    on = ALWAYS
    for dest in destinations.values():
        if (switch := _destination_switch(dest)) is not ALWAYS:
            on = switch if on is ALWAYS else on & switch
    return on


def success_stand_in(template: Template, cloud: Cloud) -> Cond | None:
    """When OTC's async config exists without a success destination of its own (then the result topic stands in
    for it, created when none is given: ``parts.topic_creation``); None elsewhere."""
    present = _present(template)
    if not cloud.otc or not present or "on_success" in present:
        return None
    return _on(present)


def async_config(template: Template, cloud: Cloud, function_urn: Expr) -> tuple[dict[str, Any] | None, Cond]:
    """(arguments, condition) of the async invocation config, or (None, ...) when the template has none.

    Huawei's resource takes either destination alone, so a destination whose topic is off is left out. OTC's
    reads both back and needs both (terraform-provider-opentelekomcloud opentelekomcloud/services/fgs/
    resource_opentelekomcloud_fgs_async_invoke_config_v2.go: resourceAsyncInvokeConfigurationV2Read dereferences
    ``OnSuccess`` and ``OnFailure`` of the answer): it exists only while its destinations are on, and a
    missing on_success goes to the result topic, which the deployment then creates when none is given. Successes
    never go to the alert topic: it is for the people who answer failures."""
    a = template.async_invoke_config
    if a is None:
        return None, ALWAYS
    args: dict[str, Any] = {
        "function_urn": function_urn,
        "max_async_retry_attempts": a.max_async_retry_attempts,
        "max_async_event_age_in_seconds": a.max_async_event_age_in_seconds,
    }
    given_ = _present(template)
    if not cloud.otc:
        dynamic = {}
        for key, dest in given_.items():
            on = _destination_switch(dest)
            if on is ALWAYS:
                args[key] = [_block(dest)]
            else:
                dynamic[key] = {"for_each": Expr(f"{on.expr} ? [1] : []"), "content": _block(dest)}
        if dynamic:
            args["dynamic"] = dynamic
        return args, ALWAYS
    for key, dest in given_.items():
        args[key] = [_block(dest)]
    if given_ and "on_success" not in args:
        args["on_success"] = [{"destination": "SMN", "param": Expr("jsonencode({topic_urn = local.result_topic_urn})")}]
    if given_ and "on_failure" not in args:
        # Failures with no destination of their own go where the successes go (never the other way round).
        args["on_failure"] = [_block(given_["on_success"])]
    return args, _on(given_)
