"""AK/SK authentication: every request signed with SDK-HMAC-SHA256 (see signer.py)."""

from __future__ import annotations

from lib.cloud.auth import OutgoingRequest
from lib.cloud.auth.signer import sign


class AkSkAuth:
    def __init__(self, ak: str, sk: str, security_token: str | None, project_id: str | None, source: str) -> None:
        self._ak = ak
        self._sk = sk
        self._security_token = security_token
        self._project_id = project_id
        self.source = source

    async def apply(self, request: OutgoingRequest) -> None:
        # Added before signing, as the SDK's credentials do, so that both are covered by the signature.
        if self._security_token:
            request.headers["X-Security-Token"] = self._security_token
        if self._project_id:
            request.headers["X-Project-Id"] = self._project_id
        signed = sign(
            ak=self._ak,
            sk=self._sk,
            method=request.method,
            host=request.host,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=request.body,
        )
        request.headers = signed.headers

    def rejected(self) -> bool:
        # The gateway locks an AK/SK for 5 minutes after 5 failures in a row: never hot-retry.
        return False
