"""The triggers of template.yaml as trigger resources, each turned on by its variable.

Both providers store the API's copy of ``event_data`` back into the state, and the API adds fields of its own,
so every plan would show a change: the triggers ignore changes of ``event_data``. A change of the template still
applies, because the trigger's ``event_data`` comes from a ``terraform_data`` resource whose change replaces the
trigger (``replace_triggered_by``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dds_backup_dev.template import Template, Trigger
from dds_backup_dev.terraform.clouds import Cloud
from dds_backup_dev.terraform.hcl import ALWAYS, VAR_REF, Cond, Expr, counted, flag, jsonencode
from dds_backup_dev.terraform.parts import SWITCHES
from dds_backup_dev.terraform.variables import ROUTE_SWITCHES, TOPICS

# What FunctionGraph's console sends for an API of a dedicated gateway backed by a function (the provider's
# former APIG builder sent the same keys), the release environment included.
APIG_DEFAULTS: dict[str, Any] = {
    "type": 1,
    "protocol": "HTTPS",
    "backend_type": "FUNCTION",
    "match_mode": "NORMAL",
    "env_name": "RELEASE",
    "env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID",
}
FUNC_INFO_DEFAULTS: dict[str, Any] = {"invocation_type": "sync", "timeout": 60000, "version": "latest"}
QUEUES = ("KAFKA", "OPENSOURCEKAFKA", "ROCKETMQ")


def switch(trigger: Trigger) -> Cond:
    """The variable that turns a trigger on: the timer by default, everything else when asked for."""
    kind, data = trigger.trigger_type_code, trigger.event_data
    if kind == "TIMER" and '"audit"' in str(data.get("user_event", "")):
        return SWITCHES.audit  # a timer whose request is an audit: off until asked for
    if kind == "TIMER":
        return SWITCHES.timer
    if kind in QUEUES:
        return SWITCHES.kafka
    if kind == "DEDICATEDGATEWAY":
        return flag(ROUTE_SWITCHES[data["path"]])
    topic = _topic_kind(str(data.get("topic_urn", "")))
    return SWITCHES.topic(topic) if topic else ALWAYS


def _topic_kind(value: str) -> str | None:
    ref = VAR_REF.fullmatch(value)
    if ref is None or not ref.group(1).endswith("_topic_urn"):
        return None
    kind = ref.group(1).removesuffix("_topic_urn")
    return kind if kind in TOPICS else None


def event_data(trigger: Trigger, api_domain: Expr) -> dict[str, Any]:
    data = dict(trigger.event_data)
    if trigger.trigger_type_code != "DEDICATEDGATEWAY":
        return data
    func_info = {**FUNC_INFO_DEFAULTS, **data.get("func_info", {})}
    # The API's own sub-domain: the provider's former APIG builder always sent it.
    return {**APIG_DEFAULTS, "sl_domain": api_domain, **data, "func_info": func_info}


def _label(trigger: Trigger) -> str:
    data = trigger.event_data
    kind = trigger.trigger_type_code
    if kind == "DEDICATEDGATEWAY":
        return f"apig_{data['name']}"
    if kind == "SMN":
        return f"smn_{_topic_kind(str(data.get('topic_urn', ''))) or 'topic'}"
    return f"{kind.lower()}_{data.get('name', '')}"


def _name(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "trigger"
    name, n = base, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name


def render(
    template: Template, cloud: Cloud, function_urn: Expr, api_domain: Expr, inputs: Mapping[str, str]
) -> tuple[dict[str, dict[str, Any]], dict[str, Cond]]:
    """(resource type -> name -> arguments, address -> condition): one trigger and one ``terraform_data`` holding
    its event_data per trigger of the template."""
    triggers: dict[str, Any] = {}
    specs: dict[str, Any] = {}
    toggles: dict[str, Cond] = {}
    used: set[str] = set()
    for trigger in template.triggers:
        name = _name(_label(trigger), used)
        on = switch(trigger)
        spec = f"{name}_event_data"
        this = f"terraform_data.{spec}" + ("" if on is ALWAYS else "[count.index]")
        specs[spec] = {**counted(on), "input": jsonencode(event_data(trigger, api_domain), inputs)}
        triggers[name] = {
            **counted(on),
            "function_urn": function_urn,
            "type": trigger.trigger_type_code,
            "status": trigger.trigger_status,
            "event_data": Expr(f"{this}.input"),
            "lifecycle": {"ignore_changes": ["event_data"], "replace_triggered_by": [this]},
        }
        toggles[f"{cloud.trigger}.{name}"] = toggles[f"terraform_data.{spec}"] = on
    return {cloud.trigger: triggers, "terraform_data": specs}, toggles
