"""A local stand-in for FunctionGraph's context object (the methods of the Python runtime's context, as documented
in the FunctionGraph developer guide and the community runtime's ``context.rst``)."""

from __future__ import annotations

import os
import time
import uuid


class LocalContext:
    """``user_data`` plays the function's environment variables; ``agency`` the agency's credentials
    (keys ``ak``, ``sk``, ``security_token``, ``token``). Without an agency the getters return "", as the
    platform's do."""

    def __init__(
        self,
        *,
        timeout_s: int = 60,
        user_data: dict[str, str] | None = None,
        agency: dict[str, str] | None = None,
        project_id: str = "",
        request_id: str | None = None,
        function_name: str = "dds-backup",
    ) -> None:
        self._timeout_s = timeout_s
        self._start = time.monotonic()
        self._user_data = user_data or {}
        self._agency = agency or {}
        self._project_id = project_id
        self._request_id = request_id or str(uuid.uuid4())
        self._function_name = function_name

    def getRequestID(self) -> str:
        return self._request_id

    def getRemainingTimeInMilliSeconds(self) -> int:
        return max(0, int((self._timeout_s - (time.monotonic() - self._start)) * 1000))

    def getRunningTimeInSeconds(self) -> int:
        return self._timeout_s

    def getUserData(self, key: str, default: str | None = None) -> str | None:
        return self._user_data.get(key, default)

    def getFunctionName(self) -> str:
        return self._function_name

    def getVersion(self) -> str:
        return "latest"

    def getMemorySize(self) -> int:
        return 256

    def getProjectID(self) -> str:
        return self._project_id or os.environ.get("RUNTIME_PROJECT_ID", "")

    def getToken(self) -> str:
        return self._agency.get("token", "")

    def getSecurityAccessKey(self) -> str:
        return self._agency.get("ak", "")

    def getSecuritySecretKey(self) -> str:
        return self._agency.get("sk", "")

    def getSecurityToken(self) -> str:
        return self._agency.get("security_token", "")
