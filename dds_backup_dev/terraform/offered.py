"""Where each cloud service of the deployment is offered, per cloud, from the clouds' own lists.

The function can only be deployed where FunctionGraph is; its routes need API Gateway (dedicated), its triggers
SMN and DMS for Kafka, and Huawei Cloud's RocketMQ and custom sources EventGrid.

- Open Telekom Cloud: "Regions and Endpoints", opentelekomcloud-docs/regions-and-endpoints doc/source/index.rst
  (read at eb83afd6, 2026-03-03), and for the Swiss region opentelekomcloud-docs-swiss/regions-and-endpoints
  doc/source/index.rst (3d2db889, 2025-06-13). FunctionGraph and API Gateway are listed for eu-de only; eu-nl has
  DDS, DMS and SMN but neither of them; eu-ch2 lists SMN and none of the others; no region lists EventGrid.
- Huawei Cloud: the region tables of the official Python SDK, huaweicloud/huaweicloud-sdk-python-v3
  ``huaweicloud-sdk-<service>/huaweicloudsdk<service>/<version>/region/<service>_region.py`` (read at 343a486b,
  2026-08-20): functiongraph v2, apig v2, dds v3, smn v2, kafka v2, eg v1.
"""

from __future__ import annotations

FUNCTIONGRAPH = "FunctionGraph"
API_GATEWAY = "API Gateway"
DDS = "DDS"
SMN = "SMN"
KAFKA = "DMS for Kafka"
EVENTGRID = "EventGrid"

_HUAWEI_FUNCTIONGRAPH = [
    "ae-ad-1",
    "af-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "cn-east-2",
    "cn-east-3",
    "cn-east-4",
    "cn-north-1",
    "cn-north-11",
    "cn-north-4",
    "cn-north-9",
    "cn-south-1",
    "cn-south-4",
    "cn-southwest-2",
    "cn-southwest-3",
    "eu-west-101",
    "la-north-2",
    "la-south-2",
    "me-east-1",
    "my-kualalumpur-1",
    "na-mexico-1",
    "ru-moscow-1",
    "sa-brazil-1",
    "tr-west-1",
]
# apig, dds, smn and kafka list the same regions and a few more of their own.
_HUAWEI_MORE = ("af-north-1", "cn-east-5", "cn-north-12", "cn-north-2", "cn-south-2", "eu-west-0", "ru-northwest-2")
_HUAWEI_EVENTGRID = [
    "ap-southeast-3",
    "cn-east-2",
    "cn-east-3",
    "cn-north-11",
    "cn-north-4",
    "cn-north-9",
    "cn-south-1",
    "eu-west-101",
    "na-mexico-1",
    "sa-brazil-1",
]

OFFERED: dict[str, dict[str, tuple[str, ...]]] = {
    "otc": {
        FUNCTIONGRAPH: ("eu-de",),
        API_GATEWAY: ("eu-de",),
        DDS: ("eu-de", "eu-nl"),
        SMN: ("eu-de", "eu-nl", "eu-ch2"),
        KAFKA: ("eu-de", "eu-nl"),
        EVENTGRID: (),
    },
    "huaweicloud": {
        FUNCTIONGRAPH: tuple(_HUAWEI_FUNCTIONGRAPH),
        API_GATEWAY: tuple(sorted({*_HUAWEI_FUNCTIONGRAPH, *_HUAWEI_MORE})),
        DDS: tuple(sorted({*_HUAWEI_FUNCTIONGRAPH, *_HUAWEI_MORE})),
        SMN: tuple(sorted({*_HUAWEI_FUNCTIONGRAPH, *_HUAWEI_MORE} - {"ru-northwest-2"})),
        KAFKA: tuple(sorted({*_HUAWEI_FUNCTIONGRAPH, *_HUAWEI_MORE})),
        EVENTGRID: tuple(_HUAWEI_EVENTGRID),
    },
}


def regions(cloud: str, service: str) -> tuple[str, ...]:
    return OFFERED[cloud][service]


def offered(cloud: str, service: str, region: str) -> bool:
    return region in OFFERED[cloud][service]
