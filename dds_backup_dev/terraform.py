"""``dds-backup render terraform``: Terraform JSON (``.tf.json``) for the function, its triggers and its async
invocation config, for the ``opentelekomcloud`` and ``huaweicloud`` providers.

``${var.NAME}`` values of template.yaml become Terraform variables (declared here, sensitive when they hold
secrets). Objects that the providers take as JSON strings (``user_data``, ``event_data``...) are rendered
as ``jsonencode(...)`` expressions so that variables stay references and never need escaping.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dds_backup_dev.template import Template

PROVIDERS: dict[str, dict[str, str]] = {
    "otc": {
        "provider": "opentelekomcloud",
        "source": "opentelekomcloud/opentelekomcloud",
        "version": ">= 1.36.0",
        "function": "opentelekomcloud_fgs_function_v2",
        "trigger": "opentelekomcloud_fgs_trigger_v2",
        "async": "opentelekomcloud_fgs_async_invoke_config_v2",
    },
    "huaweicloud": {
        "provider": "huaweicloud",
        "source": "huaweicloud/huaweicloud",
        "version": ">= 1.60.0",
        "function": "huaweicloud_fgs_function",
        "trigger": "huaweicloud_fgs_function_trigger",
        "async": "huaweicloud_fgs_async_invoke_configuration",
    },
}

# Required arguments of each resource, from the providers' documentation (docs/resources/fgs_*.md).
REQUIRED: dict[str, set[str]] = {
    "opentelekomcloud_fgs_function_v2": {"name", "app", "memory_size", "runtime", "timeout", "handler"},
    "huaweicloud_fgs_function": {"name", "memory_size", "runtime", "timeout", "handler", "code_type"},
    "opentelekomcloud_fgs_trigger_v2": {"function_urn", "type", "event_data"},
    "huaweicloud_fgs_function_trigger": {"function_urn", "type", "event_data"},
    "opentelekomcloud_fgs_async_invoke_config_v2": {
        "function_urn",
        "max_async_event_age_in_seconds",
        "max_async_retry_attempts",
    },
    "huaweicloud_fgs_async_invoke_configuration": {
        "function_urn",
        "max_async_event_age_in_seconds",
        "max_async_retry_attempts",
    },
}

_REF = re.compile(r"^\$\{(var\.[A-Za-z_][A-Za-z0-9_]*)\}$")
_ANY_REF = re.compile(r"\$\{var\.([A-Za-z_][A-Za-z0-9_]*)\}")
FUNCTION = "dds_backup"


def hcl(value: Any) -> str:
    """A value as an HCL expression; ``${var.x}`` strings become the bare reference ``var.x``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {hcl(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(hcl(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if value is None:
        return "null"
    text = str(value)
    if (ref := _REF.match(text)) is not None:
        return ref.group(1)
    # A literal "${" or "%{" in HCL must be doubled; JSON string escaping is valid HCL otherwise.
    return json.dumps(text).replace("${", "$${").replace("%{", "%%{")


def jsonencode(value: Any) -> str:
    return "${jsonencode(" + hcl(value) + ")}"


def _name(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "trigger"
    name, n = base, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name


def _sensitive_variables(template: Template) -> set[str]:
    """Variables that carry secrets: every value of encrypted_user_data (the template model refuses secret
    variables anywhere else), and a Kafka trigger's password."""
    secret_values = [*template.function.encrypted_user_data.values()]
    secret_values += [str(t.event_data.get("kafka_password", "")) for t in template.triggers]
    return set(_ANY_REF.findall(" ".join(secret_values)))


def render(template: Template, cloud: str, package: str = "dist/dds-backup.zip") -> dict[str, Any]:
    p = PROVIDERS[cloud]
    f = template.function
    urn = "${" + f"{p['function']}.{FUNCTION}.urn" + "}"
    function: dict[str, Any] = {
        "name": f.func_name,
        "app": f.package,
        "runtime": f.runtime,
        "handler": f.handler,
        "memory_size": f.memory_size,
        "timeout": f.timeout,
        "code_type": f.code_type,
        "func_code": '${filebase64("' + package + '")}',
        "code_filename": f.code_filename,
    }
    if f.xrole:
        function["agency"] = f.xrole
    if f.app_xrole:
        function["app_agency"] = f.app_xrole
    if f.description:
        function["description"] = f.description
    if f.user_data:
        function["user_data"] = jsonencode(f.user_data)
    if f.encrypted_user_data:
        function["encrypted_user_data"] = jsonencode(f.encrypted_user_data)

    resources: dict[str, dict[str, Any]] = {p["function"]: {FUNCTION: function}, p["trigger"]: {}}
    used: set[str] = set()
    for trigger in template.triggers:
        event_data = dict(trigger.event_data)
        if trigger.trigger_type_code == "DEDICATEDGATEWAY":
            func_info = {
                "invocation_type": "sync",
                "timeout": 60000,
                "version": "latest",
                **event_data.get("func_info", {}),
            }
            func_info.setdefault("function_urn", urn)
            event_data = {
                "type": 1,
                "protocol": "HTTPS",
                "backend_type": "FUNCTION",
                "match_mode": "NORMAL",
                "env_name": "RELEASE",
                "env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID",
                **event_data,
                "func_info": func_info,
            }
        label = f"{trigger.trigger_type_code.lower()}_{event_data.get('name', '')}"
        resources[p["trigger"]][_name(label, used)] = {
            "function_urn": urn,
            "type": trigger.trigger_type_code,
            "status": trigger.trigger_status,
            "event_data": jsonencode(event_data),
        }
    if template.async_invoke_config is not None:
        a = template.async_invoke_config
        config: dict[str, Any] = {
            "function_urn": urn,
            "max_async_retry_attempts": a.max_async_retry_attempts,
            "max_async_event_age_in_seconds": a.max_async_event_age_in_seconds,
        }
        for key in ("on_success", "on_failure"):
            dest = getattr(a, key)
            if dest is not None:
                config[key] = {"destination": dest.destination, "param": jsonencode(dest.param)}
        resources[p["async"]] = {FUNCTION: config}

    names = sorted(set(_ANY_REF.findall(template.model_dump_json())))
    sensitive = _sensitive_variables(template)
    variables = {n: {"type": "string", **({"sensitive": True} if n in sensitive else {})} for n in names}
    doc: dict[str, Any] = {
        "terraform": {"required_providers": {p["provider"]: {"source": p["source"], "version": p["version"]}}},
        "resource": resources,
    }
    if variables:
        doc["variable"] = variables
    return doc
