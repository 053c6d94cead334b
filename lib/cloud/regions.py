"""Regional endpoints of the services the function calls. ``DDS_ENDPOINT``, ``IAM_ENDPOINT`` and
``SMN_ENDPOINT`` always win over this table.

Hosts are ``{service}.{region}.{domain}``; the domain depends on the cloud (OTC: "regions-and-endpoints" of the
OTC documentation; Huawei Cloud: the official SDK's region tables). Two exceptions: OTC Swiss (eu-ch2) names
its IAM host ``iam-pub`` and publishes no DDS host (it is read from the IAM token's catalog instead), and
Huawei's eu-west-101 lives under ``.myhuaweicloud.eu``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    domain: str
    #: service -> host label where it differs from the service name; None: no public host is known.
    hosts: tuple[tuple[str, str | None], ...] = ()

    def endpoint(self, service: str, region: str) -> str | None:
        label = dict(self.hosts).get(service, service)
        return None if label is None else f"https://{label}.{region}.{self.domain}"


_OTC = Region("otc.t-systems.com")
# OTC Swiss: IAM and SMN hosts from the OTC Swiss "Regions and Endpoints" (opentelekomcloud-docs-swiss/
# regions-and-endpoints doc/source/index.rst); that list has no DDS at all.
_REGIONS: dict[str, Region] = {
    "eu-de": _OTC,
    "eu-nl": _OTC,
    "eu-ch2": Region("sc.otc.t-systems.com", hosts=(("iam", "iam-pub"), ("dds", None))),
    "eu-west-101": Region("myhuaweicloud.eu"),
}
_HUAWEI = Region("myhuaweicloud.com")


def cloud(region: str | None) -> str | None:
    """``otc`` or ``huaweicloud`` by the region; None when no region is configured."""
    if region is None:
        return None
    return "otc" if _REGIONS.get(region, _HUAWEI).domain.endswith("otc.t-systems.com") else "huaweicloud"


def endpoint(service: str, region: str) -> str | None:
    """``https://{service}.{region}.{domain}``, or None when the region publishes no host for the service."""
    return _REGIONS.get(region, _HUAWEI).endpoint(service, region)


def iam_endpoint(region: str) -> str:
    url = endpoint("iam", region)
    assert url is not None  # every region has IAM
    return url


def dds_endpoint(region: str) -> str | None:
    """None when the region's DDS host must be read from the IAM catalog (service type ``ddsv3``)."""
    return endpoint("dds", region)


def smn_endpoint(region: str) -> str | None:
    return endpoint("smn", region)


def strip_version(url: str) -> str:
    """Users paste IAM URLs with or without the /v3 suffix; keep the base."""
    url = url.rstrip("/")
    return url[: -len("/v3")] if url.endswith("/v3") else url
