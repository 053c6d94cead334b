"""The emulator is faithful enough for the official client: huaweicloudsdkdds's DdsClient, with its own
AK/SK signer, runs against it over HTTP. A signature the emulator accepts from the SDK is one our signer
must also produce."""

from __future__ import annotations

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdds.v3 import (
    CreateManualBackupOption,
    CreateManualBackupRequest,
    CreateManualBackupRequestBody,
    DdsClient,
    ListBackupsRequest,
    ListInstancesRequest,
    ShowJobDetailRequest,
)

from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.emulator.state import DEMO_AK, DEMO_SK
from tests.conftest import ORDERS


def sdk_client(emulator: EmulatorServer, sk: str = DEMO_SK) -> DdsClient:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 5)
    credentials = BasicCredentials(DEMO_AK, sk, emulator.state.project_id)
    return (
        DdsClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([emulator.endpoint])
        .build()
    )


def test_official_client_runs_the_backup_calls_against_the_emulator(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator)

    # GIVEN the seeded instances WHEN listed with the SDK's tag filter THEN the emulator filters like DDS
    instances = client.list_instances(ListInstancesRequest(tags="env=prod", mode="ReplicaSet"))
    assert [i.id for i in instances.instances] == [ORDERS]
    assert instances.instances[0].name == "orders-prod"

    # WHEN a manual backup is created THEN the SDK model carries both ids
    created = client.create_manual_backup(
        CreateManualBackupRequest(
            body=CreateManualBackupRequestBody(
                backup=CreateManualBackupOption(instance_id=ORDERS, name="sdk-oracle-1", description="via the SDK")
            )
        )
    )
    assert created.backup_id in emulator.state.backups
    assert created.job_id in emulator.state.jobs

    # THEN the job and the backup list are readable through the SDK's models
    job = client.show_job_detail(ShowJobDetailRequest(id=created.job_id))
    assert job.job.status in ("Running", "Completed")
    assert job.job.instance.id == ORDERS
    backups = client.list_backups(ListBackupsRequest(instance_id=ORDERS))
    assert backups.total_count == 1
    assert backups.backups[0].name == "sdk-oracle-1"
    assert backups.backups[0].status in ("BUILDING", "COMPLETED")

    # The SDK signed every request with AK/SK, and the emulator verified each signature.
    assert all(r.headers["Authorization"].startswith("SDK-HMAC-SHA256 ") for r in emulator.state.requests)
    assert all(r.status == 200 for r in emulator.state.requests)


def test_emulator_rejects_the_official_client_with_a_wrong_secret_key(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator, sk="not-the-secret-key")
    with pytest.raises(ClientRequestException) as caught:
        client.list_instances(ListInstancesRequest())
    assert caught.value.status_code == 401
    assert caught.value.error_code == "APIG.0301"


def test_official_client_sees_the_api_error_codes(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator)
    with pytest.raises(ClientRequestException) as caught:
        client.create_manual_backup(
            CreateManualBackupRequest(
                body=CreateManualBackupRequestBody(backup=CreateManualBackupOption(instance_id=ORDERS, name="1bad"))
            )
        )
    assert (caught.value.status_code, caught.value.error_code) == (400, "DBS.280277")
