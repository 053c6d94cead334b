"""The resources around the function: topics, the agency and its custom policy, the API group; and what turns
each of them on.

Every ``count`` depends on variables only, so that Terraform knows at plan time what it creates.
"""

from __future__ import annotations

from typing import Any

from dds_backup_dev.terraform.clouds import Cloud
from dds_backup_dev.terraform.hcl import ALWAYS, Cond, Expr, any_of, flag, given
from dds_backup_dev.terraform.variables import ROUTE_SWITCHES, TOPICS
from lib.dds.client import IAM_ACTIONS
from lib.smn.client import IAM_ACTION as SMN_PUBLISH
from lib.smn.client import QUERY_ACTION as SMN_QUERY

NAME = "dds_backup"  # the name of every resource of which there is one
TOPIC_NAMES = {"result": "results", "fanout": "fanout", "alert": "alerts", "request": "requests"}

# What FunctionGraph itself does through the agency, beyond the function's own calls (FunctionGraph user guide,
# "Configuring Agency Permissions" and "Configuring Networks"): an SMN destination for failed asynchronous
# invocations publishes and lists topics; a Kafka trigger reads its DMS instance; a function in a VPC manages
# its network ports.
ASYNC_SMN_DESTINATION = (SMN_PUBLISH, SMN_QUERY)
KAFKA_TRIGGER = ("dms:instance:get",)
VPC_ACCESS = ("vpc:ports:create", "vpc:ports:get", "vpc:ports:delete", "vpc:vpcs:get", "vpc:subnets:get")


class Switches:
    """The conditions of the deployment, named once."""

    timer = flag("enable_timer")
    audit = flag("enable_audit")
    kafka = flag("enable_kafka")
    retention = flag("enable_retention")
    create_agency = flag("create_agency")

    def topic(self, kind: str) -> Cond:
        return flag(f"create_{kind}_topic") | given(f"{kind}_topic_urn")

    @property
    def routes(self) -> Cond:
        return any_of(*(flag(s) for s in dict.fromkeys(ROUTE_SWITCHES.values())))

    @property
    def create_group(self) -> Cond:
        return flag("create_apig_group") & self.routes

    @property
    def publishes(self) -> Cond:
        return any_of(*(self.topic(k) for k in ("result", "fanout", "alert")))


SWITCHES = Switches()


def inputs() -> dict[str, str]:
    """Template variables whose value the deployment may create itself: the created resource, or the variable."""
    local = {"agency_name": "local.agency_name", "apig_group_id": "local.apig_group_id"}
    return local | {f"{kind}_topic_urn": f"local.{kind}_topic_urn" for kind in TOPICS}


def policy_pieces() -> list[tuple[Cond, tuple[str, ...]]]:
    """The agency's actions: the DDS actions the code calls (deleting only with retention), SMN publishing
    when a topic is used, and what the platform needs for the alert destination and the Kafka trigger."""
    delete = IAM_ACTIONS["delete_manual_backup"]
    always = tuple(dict.fromkeys(a for a in IAM_ACTIONS.values() if a != delete))  # one entry per action
    s = SWITCHES
    return [
        (ALWAYS, always),
        (s.retention, (delete,)),
        (s.publishes, (SMN_PUBLISH,)),
        (s.topic("alert"), tuple(a for a in ASYNC_SMN_DESTINATION if a != SMN_PUBLISH)),
        (s.kafka, KAFKA_TRIGGER + VPC_ACCESS),
    ]


def policy_expr() -> Expr:
    parts = []
    for cond, actions in policy_pieces():
        listed = "[" + ", ".join(f'"{a}"' for a in actions) + "]"
        parts.append(listed if cond is ALWAYS else f"{cond.expr} ? {listed} : []")
    return Expr(f"concat({', '.join(parts)})")


def topic_creation(success_stand_in: Cond | None) -> dict[str, Cond]:
    """When the deployment creates each topic: when asked to; and the result topic also while the asynchronous
    invocation config needs a success destination and none is given (``success_stand_in``: OTC's config, see
    ``function.async_config``), so that successes never go to the alert topic."""
    out = {kind: flag(f"create_{kind}_topic") for kind in TOPIC_NAMES}
    if success_stand_in is not None:
        out["result"] = out["result"] | (success_stand_in & ~given("result_topic_urn"))
    return out


def locals_(cloud: Cloud, api_domain: Expr, created: dict[str, Cond]) -> dict[str, Any]:
    s = SWITCHES
    out: dict[str, Any] = {
        "project_name": Expr('var.project_name != "" ? var.project_name : var.region'),
        "agency_name": Expr(f"{s.create_agency.expr} ? {cloud.agency}.{NAME}[0].name : var.agency_name"),
    }
    for kind in TOPICS:
        made = f"{cloud.topic}.{kind}[0].topic_urn"
        out[f"{kind}_topic_urn"] = Expr(f"{created[kind].expr} ? {made} : var.{kind}_topic_urn")
    out["apig_group_id"] = Expr(f"{s.create_group.expr} ? {cloud.apig_group}.{NAME}[0].id : var.apig_group_id")
    out["api_domain"] = api_domain
    out["policy_actions"] = policy_expr()
    return out


def resources(
    cloud: Cloud, func_name: str, created: dict[str, Cond]
) -> tuple[dict[str, dict[str, Any]], dict[str, Cond]]:
    """(resource type -> name -> arguments, address -> condition) for the topics, the agency and the group."""
    s = SWITCHES
    res: dict[str, dict[str, Any]] = {cloud.topic: {}}
    toggles: dict[str, Cond] = {}
    for kind, suffix in TOPIC_NAMES.items():
        create = created[kind]
        res[cloud.topic][kind] = {"count": create.count(), "name": f"{func_name}-{suffix}", "display_name": suffix}
        toggles[f"{cloud.topic}.{kind}"] = create
    role = cloud.role_args(f"{func_name}-policy", Expr("local.policy_actions"))
    res[cloud.role] = {NAME: {"count": s.create_agency.count(), **role}}
    agency = cloud.agency_args(f"fgs-{func_name}", cloud.role_name(f"{cloud.role}.{NAME}[0]"))
    res[cloud.agency] = {NAME: {"count": s.create_agency.count(), **agency}}
    toggles[f"{cloud.role}.{NAME}"] = toggles[f"{cloud.agency}.{NAME}"] = s.create_agency
    # APIG group names allow letters, digits and underscores.
    group = {"instance_id": Expr("var.apig_instance_id"), "name": func_name.replace("-", "_"), "description": func_name}
    res[cloud.apig_group] = {NAME: {"count": s.create_group.count(), **group}}
    toggles[f"{cloud.apig_group}.{NAME}"] = s.create_group
    return res, toggles


def outputs(cloud: Cloud, function_ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "function_urn": {"description": "URN of the function", "value": Expr(f"{function_ref}.urn")},
        "agency_name": {"description": "The function's agency", "value": Expr("local.agency_name")},
        "api_url": {
            "description": "The URL to call the API Gateway routes at: https://<custom_domain>, or without one the "
            "API group's debug domain, which is for testing only (null while no route is enabled)",
            "value": Expr(
                f"{SWITCHES.routes.expr} ? "
                'format("https://%s", var.custom_domain != "" ? var.custom_domain : local.api_domain) : null'
            ),
        },
        "api_debug_domain": {
            "description": "The API group's debug domain: for testing only (reachable from the gateway's VPC alone "
            "unless the gateway has an EIP, 1000 calls a day); the CNAME target of custom_domain",
            "value": Expr(f"{SWITCHES.routes.expr} ? local.api_domain : null"),
        },
    }
    for kind in TOPICS:
        value = Expr(f'local.{kind}_topic_urn != "" ? local.{kind}_topic_urn : null')
        out[f"{kind}_topic_urn"] = {"description": f"URN of the {kind} topic (null when none)", "value": value}
    return out
