"""Regional endpoints (dds-api.md section 4). ``DDS_ENDPOINT``/``IAM_ENDPOINT`` always win."""

from __future__ import annotations

OTC_REGIONS = {"eu-de", "eu-nl"}
# OTC Swiss: IAM is documented; the DDS host is not, so it comes from the token's service catalog.
OTC_SWISS = "eu-ch2"


def iam_endpoint(region: str) -> str:
    if region in OTC_REGIONS:
        return f"https://iam.{region}.otc.t-systems.com"
    if region == OTC_SWISS:
        return "https://iam-pub.eu-ch2.sc.otc.t-systems.com"
    if region == "eu-west-101":
        return "https://iam.eu-west-101.myhuaweicloud.eu"
    return f"https://iam.{region}.myhuaweicloud.com"


def dds_endpoint(region: str) -> str | None:
    """None when the region's DDS host must be read from the IAM catalog (service type ``ddsv3``)."""
    if region in OTC_REGIONS:
        return f"https://dds.{region}.otc.t-systems.com"
    if region == OTC_SWISS:
        return None
    if region == "eu-west-101":
        return "https://dds.eu-west-101.myhuaweicloud.eu"
    return f"https://dds.{region}.myhuaweicloud.com"


def smn_endpoint(region: str) -> str:
    """SMN, for publishing result events and fanned-out requests (same host scheme as DDS)."""
    if region in OTC_REGIONS:
        return f"https://smn.{region}.otc.t-systems.com"
    if region == OTC_SWISS:
        return "https://smn.eu-ch2.sc.otc.t-systems.com"
    if region == "eu-west-101":
        return "https://smn.eu-west-101.myhuaweicloud.eu"
    return f"https://smn.{region}.myhuaweicloud.com"


def strip_version(url: str) -> str:
    """Users paste IAM URLs with or without the /v3 suffix; keep the base."""
    url = url.rstrip("/")
    return url[: -len("/v3")] if url.endswith("/v3") else url
