"""The SDK-HMAC-SHA256 signer, proven against the official one: the published vectors byte for byte, and
huaweicloudsdkcore's Signer on generated requests."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from hypothesis import given, settings
from hypothesis import strategies as st

from dds_backup_dev.emulator import aksk
from lib.cloud.auth import signer
from tests.conftest import REFERENCE

VECTORS = json.loads((REFERENCE / "signing-vectors.json").read_text())


@pytest.mark.parametrize("vector", VECTORS, ids=[f"{v['method']}-{i}" for i, v in enumerate(VECTORS)])
def test_reproduces_every_published_vector(vector: dict[str, Any]) -> None:
    signed = signer.sign(
        ak=vector["ak"],
        sk=vector["sk"],
        method=vector["method"],
        host=vector["host"],
        path=vector["path"],
        query=[tuple(q) for q in vector["query"]],
        headers=vector["headers"],
        body=vector["body"].encode(),
        date=vector["x_sdk_date"],
    )
    assert signed.headers["Authorization"] == vector["expected_authorization"]
    assert signed.wire_uri == vector["expected_wire_uri"]


def test_canonical_forms_match_the_reference_worked_example() -> None:
    assert signer.canonical_uri("/v3/pid/backups") == "/v3/pid/backups/"
    assert signer.canonical_query([("b", "x y"), ("a", "1:2")]) == "a=1%3A2&b=x%20y"
    assert signer.canonical_query([("flag", True)]) == "flag=true"
    assert signer.canonical_query([]) == ""


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


_segment = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="/%?#"), min_size=1, max_size=8
)


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]),
    path=st.lists(_segment, min_size=1, max_size=4),
    # Repeated keys are allowed: the SDK sorts (key, value) pairs.
    query=st.lists(st.tuples(st.sampled_from(["id", "name", "offset", "tags", "a b", "ü"]), _text), max_size=5),
    body=_text,
    token=st.one_of(st.none(), st.text("ABCxyz019+/=", min_size=1, max_size=30)),
    project_id=st.one_of(st.none(), st.text("0123456789abcdef", min_size=32, max_size=32)),
)
def test_agrees_with_the_official_signer_on_generated_requests(
    method: str,
    path: list[str],
    query: list[tuple[str, str]],
    body: str,
    token: str | None,
    project_id: str | None,
) -> None:
    resource_path = "/v3/" + "/".join(path)
    headers = {"Content-Type": "application/json", "X-Sdk-Date": "20261127T080000Z"}
    if project_id:
        headers["X-Project-Id"] = project_id
    if token:
        headers["X-Security-Token"] = token
    request = SdkRequest(
        method=method,
        schema="https",
        host="dds.eu-de.otc.t-systems.com",
        resource_path=resource_path,
        query_params=list(query),
        header_params=dict(headers),
        body=body,
    )
    official = Signer(BasicCredentials("AKOFFICIAL", "SKOFFICIAL")).sign(request)
    ours = signer.sign(
        ak="AKOFFICIAL",
        sk="SKOFFICIAL",
        method=method,
        host="dds.eu-de.otc.t-systems.com",
        path=resource_path,
        query=query,
        headers=headers,
        body=body.encode(),
    )
    assert ours.headers["Authorization"] == official.header_params["Authorization"]
    assert ours.wire_uri == official.uri


def test_verify_accepts_what_sign_produced_and_nothing_else() -> None:
    signed = signer.sign(
        ak="AK", sk="SK", method="GET", host="h:1", path="/v3/p/jobs", query=[("id", "a b")], date="20261127T080000Z"
    )
    auth = aksk.parse_authorization(signed.headers["Authorization"])
    assert auth is not None
    query = urlsplit(signed.wire_uri).query

    def verify(sk: str, body: bytes) -> bool:
        assert auth is not None
        return aksk.verify(
            sk=sk, method="GET", path="/v3/p/jobs", raw_query=query, headers=signed.headers, body=body, auth=auth
        )

    assert verify("SK", b"")
    assert not verify("SK2", b"")
    assert not verify("SK", b"tampered")
    assert aksk.parse_authorization("Bearer x") is None


# -- what the vectors do not show ------------------------------------------------------------------------------


def test_headers_are_added_under_the_sdks_names_and_a_given_host_or_date_is_kept() -> None:
    signed = signer.sign(
        ak="AK", sk="SK", method="GET", host="dds.example", path="/v3/p/instances", date="20261129T020000Z"
    )
    assert set(signed.headers) == {"X-Sdk-Date", "Host", "Authorization"}
    assert (signed.headers["X-Sdk-Date"], signed.headers["Host"]) == ("20261129T020000Z", "dds.example")
    given = signer.sign(
        ak="AK",
        sk="SK",
        method="GET",
        host="dds.example",
        path="/v3/p/instances",
        headers={"host": "gateway.example", "x-sdk-date": "20261129T010000Z"},
    )
    assert set(given.headers) == {"host", "x-sdk-date", "Authorization"}
    assert "SignedHeaders=host;x-sdk-date," in given.headers["Authorization"]


def test_headers_with_an_underscore_are_sent_but_not_signed() -> None:
    signed = signer.sign(
        ak="AK",
        sk="SK",
        method="GET",
        host="h",
        path="/",
        headers={"X_Trace": "1", "X-Project-Id": "p"},
        date="20261129T020000Z",
    )
    assert "SignedHeaders=host;x-project-id;x-sdk-date," in signed.headers["Authorization"]
    assert signer.signed_header_names({"X_Trace": "1", "B": "2", "a": "3"}) == ["a", "b"]


def test_a_path_that_ends_in_a_slash_keeps_one() -> None:
    assert signer.canonical_uri("/v3/p/backups/") == "/v3/p/backups/"
    assert signer.canonical_uri("/v3/p/backups") == "/v3/p/backups/"


@pytest.mark.usefixtures("east_of_utc")
def test_the_date_is_utc_whatever_the_machines_zone() -> None:
    before = datetime.now(timezone.utc).strftime(signer.DATE_FORMAT)
    stamp = signer.sdk_date()
    after = datetime.now(timezone.utc).strftime(signer.DATE_FORMAT)
    assert before <= stamp <= after


def test_an_authorization_header_is_read_by_its_first_equals_sign() -> None:
    parsed = aksk.parse_authorization("SDK-HMAC-SHA256 Access=AK=1, SignedHeaders=host;x-sdk-date, Signature=abc")
    assert parsed == aksk.ParsedAuthorization("AK=1", ["host", "x-sdk-date"], "abc")
    assert aksk.parse_authorization("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host") is None
    assert aksk.parse_authorization("SDK-HMAC-SHA256 Access") is None
    assert aksk.parse_authorization("AWS4-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abc") is None


def test_the_server_refuses_a_signature_over_headers_it_did_not_receive_or_without_a_date() -> None:
    headers = {"X-Sdk-Date": "20261129T020000Z", "Host": "h"}
    signed = signer.sign(ak="AK", sk="SK", method="GET", host="h", path="/x", headers=headers)
    auth = aksk.parse_authorization(signed.headers["Authorization"])
    assert auth is not None
    arrived = {k: v for k, v in signed.headers.items() if k != "Authorization"}

    def verify(headers: dict[str, str], parsed: aksk.ParsedAuthorization) -> bool:
        return aksk.verify(sk="SK", method="GET", path="/x", raw_query="", headers=headers, body=b"", auth=parsed)

    assert verify(arrived, auth) is True
    assert verify({"X-Sdk-Date": "20261129T020000Z"}, auth) is False  # the signed Host did not arrive
    undated = aksk.ParsedAuthorization("AK", ["host"], auth.signature)
    assert verify(arrived, undated) is False  # a signature must cover its date
    assert verify(arrived, aksk.ParsedAuthorization("AK", auth.signed_headers, "0" * 64)) is False
