"""``dds-backup render terraform``: Terraform JSON (``main.tf.json``) for the function, its triggers, its async
invocation config and the resources around it, for the ``opentelekomcloud`` and ``huaweicloud`` providers.

``${var.NAME}`` values of template.yaml are the deployment's inputs: each is a declared variable (``variables.py``);
where the deployment can also create the thing (a topic, the agency, the API group), the value used is a local
that is either the created resource or the variable. Only the timer is on by default; every other trigger, and
each resource around the function, is turned on by a variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dds_backup_dev.template import Template
from dds_backup_dev.terraform import function, parts, triggers
from dds_backup_dev.terraform.clouds import CLOUDS
from dds_backup_dev.terraform.hcl import ALWAYS, VAR_REF, Cond, Expr, counted, tf
from dds_backup_dev.terraform.parts import NAME
from dds_backup_dev.terraform.variables import Variable, catalogue, from_template

CLOUD_NAMES = {"otc": "Open Telekom Cloud", "huaweicloud": "Huawei Cloud"}
DEFAULT_PACKAGE = "../../dds-backup.zip"  # from dist/terraform/<cloud>/, where terraform runs: dist/dds-backup.zip
REQUIRED_TERRAFORM = ">= 1.4"  # terraform_data, which carries each trigger's event_data


@dataclass(frozen=True)
class Deployment:
    doc: dict[str, Any]
    variables: dict[str, Variable]
    toggles: dict[str, Cond]  # resource address -> the condition under which it exists

    def values(self, tfvars: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(tfvars) - set(self.variables)
        missing = [n for n, v in self.variables.items() if v.required and n not in tfvars]
        if unknown or missing:
            raise KeyError(f"unknown variables {sorted(unknown)}, missing {missing}")
        return {**{n: v.default for n, v in self.variables.items() if not v.required}, **tfvars}

    def enabled(self, tfvars: Mapping[str, Any]) -> set[str]:
        """The addresses a ``terraform apply`` with these variables creates (without instance keys)."""
        values = self.values(tfvars)
        kinds = [("", self.doc["resource"]), ("data.", self.doc.get("data", {}))]
        every = {f"{prefix}{kind}.{name}" for prefix, blocks in kinds for kind, by in blocks.items() for name in by}
        return {a for a in every if self.toggles.get(a, ALWAYS).test(values)}


def _variables(template: Template, known: dict[str, Variable]) -> dict[str, Variable]:
    used = dict.fromkeys(VAR_REF.findall(template.model_dump_json()))
    return known | {name: from_template(name) for name in used if name not in known}


def build(template: Template, cloud_key: str, package: str = DEFAULT_PACKAGE) -> Deployment:
    cloud = CLOUDS[cloud_key]
    known = catalogue(cloud.region_rule(), cloud.region_example, package)
    variables = _variables(template, known)
    fn = f"{cloud.function}.{NAME}"
    urn = Expr(f"{fn}.urn")
    data: dict[str, Any] = {}
    api_domain = cloud.api_domain(data, parts.SWITCHES.routes.count())
    resources: dict[str, dict[str, Any]] = {cloud.function: {NAME: function.function(template, "package_file")}}
    created = parts.topic_creation(function.success_stand_in(template, cloud))
    around, toggles = parts.resources(cloud, template.function.func_name, created)
    made, trigger_toggles = triggers.render(template, cloud, urn, Expr("local.api_domain"), parts.inputs())
    resources |= made | around
    toggles |= trigger_toggles | {f"data.{kind}.{name}": parts.SWITCHES.routes for kind in data for name in data[kind]}
    config, on = function.async_config(template, cloud, urn)
    if config is not None:
        resources[cloud.async_config] = {NAME: {**counted(on), **config}}
        toggles[f"{cloud.async_config}.{NAME}"] = on
    doc: dict[str, Any] = {
        "terraform": {
            "required_version": REQUIRED_TERRAFORM,
            "required_providers": {cloud.provider: {"source": cloud.source, "version": cloud.version}},
        },
        # Credentials come from the environment (docs/deployment.md); the region is the deployment's.
        "provider": {cloud.provider: {"region": "${var.region}"}},
        "variable": {name: v.block() for name, v in variables.items()},
        "locals": tf(parts.locals_(cloud, api_domain, created)),
        "resource": tf(resources),
    }
    if data:
        doc["data"] = tf(data)
    doc["output"] = tf(parts.outputs(cloud, fn))
    return Deployment(doc, variables, toggles)


def render(template: Template, cloud: str, package: str = DEFAULT_PACKAGE) -> dict[str, Any]:
    return build(template, cloud, package).doc
