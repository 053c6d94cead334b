"""Where the deployment's services are offered (dds_backup_dev/terraform/offered.py), and that the Terraform
deploys only there."""

from __future__ import annotations

import re

import pytest

from dds_backup_dev.terraform import offered
from dds_backup_dev.terraform.clouds import CLOUDS
from lib.config import OTC_REGIONS

CLOUD_KEYS = ["otc", "huaweicloud"]


def test_open_telekom_cloud_offers_functiongraph_and_api_gateway_in_eu_de_only() -> None:
    assert offered.regions("otc", offered.FUNCTIONGRAPH) == ("eu-de",)
    assert offered.regions("otc", offered.API_GATEWAY) == ("eu-de",)
    assert offered.offered("otc", offered.DDS, "eu-nl") and not offered.offered("otc", offered.FUNCTIONGRAPH, "eu-nl")
    assert not any(offered.offered("otc", s, "eu-ch2") for s in (offered.FUNCTIONGRAPH, offered.API_GATEWAY))
    assert offered.regions("otc", offered.EVENTGRID) == ()
    assert set(offered.OFFERED["otc"][offered.SMN]) == set(OTC_REGIONS)


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_routes_and_triggers_are_offered_wherever_the_function_can_be_deployed(cloud: str) -> None:
    where = set(offered.regions(cloud, offered.FUNCTIONGRAPH))
    for service in (offered.API_GATEWAY, offered.DDS, offered.SMN, offered.KAFKA):
        assert where <= set(offered.regions(cloud, service)), service
    assert set(offered.regions(cloud, offered.EVENTGRID)) <= where


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_the_terraform_region_rule_is_the_functiongraph_table(cloud: str) -> None:
    rule, message = CLOUDS[cloud].region_rule()
    assert set(re.findall(r'"([a-z0-9-]+)"', rule)) == set(offered.regions(cloud, offered.FUNCTIONGRAPH))
    assert "FunctionGraph" in message


def test_the_dds_table_is_the_official_sdks() -> None:
    from huaweicloudsdkdds.v3.region.dds_region import DdsRegion

    assert set(DdsRegion.static_fields) == set(offered.regions("huaweicloud", offered.DDS))


def test_the_cloud_function_endpoints_know_every_region_offered() -> None:
    from lib.cloud import regions

    for region in offered.regions("otc", offered.DDS):
        assert regions.dds_endpoint(region) == f"https://dds.{region}.otc.t-systems.com"
    for region in offered.regions("huaweicloud", offered.FUNCTIONGRAPH):
        assert regions.cloud(region) == "huaweicloud"
