"""What differs between the two providers: resource types, version constraints, regions, and the few arguments
that are spelled differently. Facts come from the providers' source (tests/fixtures/terraform/README.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dds_backup_dev.terraform import offered
from dds_backup_dev.terraform.hcl import Expr, jsonencode
from lib.cloud import regions
from lib.config import OTC_REGIONS

# FunctionGraph's cloud-service agency principal (the same name on both clouds).
FUNCTIONGRAPH_SERVICE = "op_svc_cff"


@dataclass(frozen=True)
class Cloud:
    key: str
    provider: str
    # The first release with every resource and argument rendered: OTC's async invoke config arrived in 1.36.10,
    # Huawei's fgs_function_trigger in 1.62.1.
    version: str
    function: str
    trigger: str
    async_config: str
    topic: str
    agency: str
    role: str
    apig_group: str
    region_example: str

    @property
    def otc(self) -> bool:
        return self.key == "otc"

    @property
    def source(self) -> str:
        return f"{self.provider}/{self.provider}"

    def region_rule(self) -> tuple[str, str]:
        """The regions where the function can be deployed: those of the cloud that offer FunctionGraph (its routes
        and triggers are offered in each of them too: ``offered.py``)."""
        names = ", ".join(f'"{r}"' for r in offered.regions(self.key, offered.FUNCTIONGRAPH))
        rule = f"contains([{names}], var.region)"
        if self.otc:
            return rule, (
                "region: eu-de, the only Open Telekom Cloud region with FunctionGraph and API Gateway "
                "(eu-nl and eu-ch2 have neither)"
            )
        others = ", ".join(OTC_REGIONS)
        return rule, (
            "region: a Huawei Cloud region with FunctionGraph, such as ap-southeast-3 or eu-west-101 "
            f"({others} are Open Telekom Cloud regions: render with --cloud otc)"
        )

    def role_args(self, name: str, actions: Expr) -> dict[str, Any]:
        """A custom policy for one project's services (type XA / display layer "project")."""
        description = "dds-backup: exactly the actions the function calls"
        if self.otc:
            statement = [{"effect": "Allow", "action": actions}]
            return {
                "display_name": name,
                "description": description,
                "display_layer": "project",
                "statement": statement,
            }
        policy = jsonencode({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": actions}]})
        return {"name": name, "description": description, "type": "XA", "policy": policy}

    def role_name(self, ref: str) -> Expr:
        """Agencies grant roles by their display name."""
        return Expr(f"{ref}.display_name" if self.otc else f"{ref}.name")

    def agency_args(self, name: str, role: Expr) -> dict[str, Any]:
        # Huawei refuses op_svc_ names in delegated_domain_name (up to 1.68) and reads them back into
        # delegated_service_name; OTC has only delegated_domain_name.
        principal = "delegated_domain_name" if self.otc else "delegated_service_name"
        return {
            "name": name,
            "description": "FunctionGraph agency of dds-backup",
            principal: FUNCTIONGRAPH_SERVICE,
            "project_role": [{"project": Expr("local.project_name"), "roles": [role]}],
        }

    def api_domain(self, data_sources: dict[str, Any], enabled: Expr) -> Expr:
        """The API group's default sub-domain (``sl_domain``): read from the API on Huawei Cloud; on OTC the
        group resource does not export it and it is ``<group id>.apic.<region>.<cloud domain>``."""
        if self.otc:
            domains = {r: _domain(r) for r in OTC_REGIONS}
            table = "{" + ", ".join(f'"{r}" = "{d}"' for r, d in domains.items()) + "}"
            return Expr(f'format("%s.apic.%s.%s", local.apig_group_id, var.region, lookup({table}, var.region))')
        data_sources["huaweicloud_apig_groups"] = {
            "dds_backup": {
                "count": enabled,
                "instance_id": Expr("var.apig_instance_id"),
                "group_id": Expr("local.apig_group_id"),
            }
        }
        return Expr("one(data.huaweicloud_apig_groups.dds_backup[*].groups[0].sl_domain)")


def _domain(region: str) -> str:
    smn = regions.smn_endpoint(region)
    assert smn is not None
    return smn.removeprefix(f"https://smn.{region}.")


CLOUDS = {
    "otc": Cloud(
        key="otc",
        provider="opentelekomcloud",
        version=">= 1.36.10",
        function="opentelekomcloud_fgs_function_v2",
        trigger="opentelekomcloud_fgs_trigger_v2",
        async_config="opentelekomcloud_fgs_async_invoke_config_v2",
        topic="opentelekomcloud_smn_topic_v2",
        agency="opentelekomcloud_identity_agency_v3",
        role="opentelekomcloud_identity_role_v3",
        apig_group="opentelekomcloud_apigw_group_v2",
        region_example="eu-de",
    ),
    "huaweicloud": Cloud(
        key="huaweicloud",
        provider="huaweicloud",
        version=">= 1.62.1",
        function="huaweicloud_fgs_function",
        trigger="huaweicloud_fgs_function_trigger",
        async_config="huaweicloud_fgs_async_invoke_configuration",
        topic="huaweicloud_smn_topic",
        agency="huaweicloud_identity_agency",
        role="huaweicloud_identity_role",
        apig_group="huaweicloud_apig_group",
        region_example="ap-southeast-3",
    ),
}
