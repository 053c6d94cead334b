"""The credential chain, the DDS endpoint and the project id, resolved once per invocation.

First found wins:
1. the FunctionGraph agency through the context: temporary AK/SK + security token, else its IAM token;
2. ``HUAWEICLOUD_SDK_AK``/``_SK`` (+ ``_SECURITY_TOKEN``) from the configuration;
3. an IAM password token (``OS_USERNAME``, ``OS_PASSWORD``, ``OS_USER_DOMAIN_NAME``).
The log names the source that was used, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from lib import logs
from lib.cloud import regions
from lib.cloud.auth import TEMPORARY_KEEP_S, Authenticator
from lib.cloud.auth.aksk import AkSkAuth
from lib.config import ConfigError, Settings
from lib.runtime import Invocation


@dataclass(frozen=True)
class Access:
    """Where the DDS API is and how to authenticate to it: what every client of the invocation is built from."""

    endpoint: str
    project_id: str
    auth: Authenticator


def _project_id_hint(settings: Settings, invocation: Invocation) -> str | None:
    return (
        settings.project_id
        or invocation.get("getProjectID")
        or invocation.lookup("RUNTIME_PROJECT_ID")
        or invocation.lookup("HUAWEICLOUD_SDK_PROJECT_ID")
    )


async def resolve_access(
    settings: Settings, invocation: Invocation, session: aiohttp.ClientSession, timeout: float
) -> Access:
    """Pick the credentials (first found wins), then the endpoint and project id. Raises ConfigError when
    something is missing, CloudError when IAM refuses or cannot be reached (password tokens are fetched here)."""
    project_id = _project_id_hint(settings, invocation)
    endpoint = settings.dds_endpoint
    if endpoint is None and settings.region is not None:
        endpoint = regions.dds_endpoint(settings.region)
    if settings.dds_endpoint is None and settings.region is None:
        raise ConfigError("REGION is not set: set REGION (e.g. eu-de) or DDS_ENDPOINT")

    auth: Authenticator
    ak = invocation.get("getSecurityAccessKey")
    sk = invocation.get("getSecuritySecretKey")
    security_token = invocation.get("getSecurityToken")
    agency_token = invocation.get("getToken")
    # Whatever is used to authenticate joins the values the log redactor masks.
    logs.register_secrets([v for v in (sk, security_token, agency_token) if v], keep_s=TEMPORARY_KEEP_S)
    if ak and sk and security_token:
        auth = AkSkAuth(ak, sk, security_token, project_id, source="agency temporary AK/SK")
    elif agency_token:
        from lib.cloud.auth.iam import StaticTokenAuth  # IAM tokens (1.2 ms of import): only without AK/SK

        auth = StaticTokenAuth(agency_token, source="agency token")
    elif settings.ak is not None and settings.sk is not None:
        token = settings.security_token.get_secret_value() if settings.security_token else None
        auth = AkSkAuth(settings.ak, settings.sk.get_secret_value(), token, project_id, source="environment AK/SK")
    elif settings.has_password:
        auth, project_id, endpoint = await _password(settings, invocation, session, timeout, project_id, endpoint)
    else:
        raise ConfigError(
            "no credentials: configure an agency on the function, or HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, "
            "or OS_USERNAME, OS_PASSWORD and OS_USER_DOMAIN_NAME"
        )
    if endpoint is None:
        raise ConfigError(
            f"no public DDS endpoint is known for REGION={settings.region} (the OTC Swiss endpoint list has no DDS): "
            "set DDS_ENDPOINT, or use IAM password credentials so that it is read from the token's service catalog"
        )
    if project_id is None:
        raise ConfigError("the project id is unknown: set PROJECT_ID (the DDS API needs it in every URL)")
    return Access(endpoint=endpoint, project_id=project_id, auth=auth)


async def _password(
    settings: Settings,
    invocation: Invocation,
    session: aiohttp.ClientSession,
    timeout: float,
    project_id: str | None,
    endpoint: str | None,
) -> tuple[Authenticator, str | None, str | None]:
    if settings.os_username is None or settings.os_password is None or settings.os_user_domain_name is None:
        raise ConfigError("OS_USERNAME, OS_PASSWORD and OS_USER_DOMAIN_NAME are all needed for IAM password auth")
    if settings.iam_endpoint:
        iam = regions.strip_version(settings.iam_endpoint)
    elif settings.region:
        iam = regions.iam_endpoint(settings.region)
    else:
        raise ConfigError("IAM password auth needs IAM_ENDPOINT or REGION")
    project_name = settings.os_project_name or settings.region
    if project_id is None and project_name is None:
        raise ConfigError("IAM password auth needs PROJECT_ID or OS_PROJECT_NAME (or REGION) to scope the token")
    from lib.cloud.auth.iam import PasswordIdentity, PasswordTokenAuth  # 1.2 ms: only the password flow needs them

    who = PasswordIdentity(
        iam_endpoint=iam,
        username=settings.os_username,
        password=settings.os_password.get_secret_value(),
        domain=settings.os_user_domain_name,
        project_name=project_name,
        project_id=project_id,
    )
    auth = PasswordTokenAuth(session, who, invocation.deadline, timeout)
    # Fetched now (or taken from the cache): a refused password is reported before any DDS call, and the
    # token tells the project id and, on OTC Swiss, the DDS endpoint.
    token = await auth.token()
    if endpoint is None:
        endpoint = token.endpoint_for("ddsv3", settings.region)
    return auth, project_id or token.project_id, endpoint
