"""``terraform.tfvars.example``: every variable, grouped, with its description; what a timer-only deployment
needs is set, everything else is commented out with its default (or, for switches, turned the other way)."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from dds_backup_dev.terraform.hcl import escape
from dds_backup_dev.terraform.variables import NO_DEFAULT, Variable

GROUPS = {
    "basics": "What to back up, when, and where",
    "retention": "Deleting this tool's old backups (off by default)",
    "agency": "The function's agency",
    "topics": "SMN topics: create them here (create_*_topic = true) or give existing ones (*_topic_urn)",
    "kafka": "Backup requests from DMS for Kafka",
    "gateway": "API Gateway routes (a dedicated gateway)",
    "secrets": "Secrets of the routes (sensitive; better passed as TF_VAR_<name> than written here)",
    "template": "Used by template.yaml",
}
SET = ("region", "default_request")  # what a timer-only deployment sets


def value(v: Any) -> str:
    """An HCL literal; strings are templates in HCL, so ``${`` is escaped."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return escape(json.dumps(v))
    return json.dumps(v)


def _entry(var: Variable) -> list[str]:
    lines = [f"# {line}" for line in textwrap.wrap(var.description, 110)]
    shown = var.example if var.example is not NO_DEFAULT else var.default
    if shown is NO_DEFAULT:
        shown = ""
    assignment = f"{var.name} = {value(shown)}"
    lines.append(assignment if var.name in SET else f"# {assignment}")
    return lines


def example(variables: dict[str, Variable], cloud_name: str) -> str:
    out = [
        f"# dds-backup on {cloud_name}: copy to terraform.tfvars and edit. A deployment with only the timer needs",
        "# the two values that are set; every other line shows a default, or how to turn a feature on.",
        "# Credentials for Terraform come from the environment (docs/deployment.md).",
    ]
    group = None
    for var in variables.values():
        if var.group != group:
            group = var.group
            out += ["", f"# -- {GROUPS.get(group, group)} " + "-" * max(0, 100 - len(GROUPS.get(group, group)))]
        out += ["", *_entry(var)]
    return "\n".join(out) + "\n"
