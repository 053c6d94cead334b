"""The typed DDS responses read the documented example bodies, and every optional field may be null.

The examples are the ones in the OTC DDS API reference (document-database-service, api-ref/source/
apis_v3.0_recommended/: "Creating a Manual Backup", "Querying the Backup List", "Querying Instances and Details",
"Obtaining Information About a Task with a Specified ID"), transcribed with the fields the function reads.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from lib.dds.models import Backup, CreateManualBackupResponse, Instance, Job

CREATE = {"job_id": "a03b1b8a-b756-467c-8a49-38720c3d23ec", "backup_id": "bf9ee62a7f7044c583c6765c916c36edbr02"}
BACKUP = {
    "id": "43e4feaab48f11e89039fa163ebaa7e4br01",
    "name": "backup-test",
    "instance_id": "43e4feaab48f11e89039fa163ebaa7e4br01",
    "instance_name": "cluster-test",
    "datastore": {"type": "DDS-Community", "version": "4.0"},
    "type": "auto",
    "begin_time": "2018-08-06 12:41:14",
    "end_time": "2018-08-06 12:43:14",
    "status": "COMPLETED",
    "size": 2803,
    "description": "backup description",
}
INSTANCE = {
    "id": "8436a91546294036b75931e879882200in02",
    "name": "dds-efa6",
    "status": "normal",
    "port": "8635",
    "mode": "ReplicaSet",
    "region": "aaa",
    "datastore": {"type": "DDS-Community", "version": "4.0"},
    "engine": "wiredTiger",
    "created": "2019-01-17T07:05:52",
    "updated": "2019-01-17T07:05:47",
    "db_user_name": "rwuser",
    "ssl": 1,
    "backup_strategy": {"start_time": "16:00-17:00", "keep_days": 7},
    "pay_mode": "0",
    "maintenance_window": "02:00-06:00",
    "time_zone": "",
    "actions": ["CREATE"],
}
JOBS: list[dict[str, Any]] = [
    {
        "id": "f85104b5-4a9c-4e0f-9505-fc5409d8f7ae",
        "name": "Create_MongoDB",
        "status": "Completed",
        "created": "2021-07-12T09:22:04+0000",
        "ended": "2021-07-12T10:10:13+0000",
        "progress": "",
        "instance": {"id": "d87f5b33049144ec95f0cab0a5f22cfbin02", "name": "dds-5ff4-sh"},
        "fail_reason": None,
    },
    {
        "id": "9d10bfd1-affb-49c3-b977-298950a8d6fa",
        "name": "Create_MongoDB",
        "status": "Running",
        "created": "2021-07-13T07:28:43+0000",
        "ended": "2021-07-13T07:28:53+0000",  # set although still running: never a completion signal
        "progress": "9%",
        "instance": {"id": "cf538a2dd8ec4b26860b27060902712fin02", "name": "dds-3a98-wcc"},
        "fail_reason": None,
    },
    {
        "id": "a03b1b8a-b756-467c-8a49-38720c3d23ec",
        "name": "Restore_MongoDB_Replica",
        "status": "Failed",
        "created": "2021-07-13T04:55:58+0000",
        "ended": "2021-07-13T05:20:04+0000",
        "progress": "",
        "instance": {"id": "7beb15d5db9c4742b7c817789244844ein02", "name": "lenn-v3-restore-4"},
        "fail_reason": "Failed to upgrade the DB Agent.",
    },
]
EXAMPLES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (CreateManualBackupResponse, CREATE),
    (Backup, BACKUP),
    (Instance, INSTANCE),
    *[(Job, job) for job in JOBS],
]


@pytest.mark.parametrize(("model", "body"), EXAMPLES)
def test_documented_examples_are_read(model: type[BaseModel], body: dict[str, Any]) -> None:
    parsed = model.model_validate(body)
    for name in model.model_fields:
        if name in body and not isinstance(body[name], (dict, list)) and body[name] is not None:
            assert getattr(parsed, name) == body[name], name


@pytest.mark.parametrize(("model", "body"), EXAMPLES)
def test_every_optional_field_may_be_null(model: type[BaseModel], body: dict[str, Any]) -> None:
    optional = [n for n, f in model.model_fields.items() if not f.is_required()]
    nulled = {**body, **dict.fromkeys(optional)}
    parsed = model.model_validate(nulled)
    for name in optional:
        default = model.model_fields[name].get_default(call_default_factory=True)
        assert getattr(parsed, name) == default, name


@pytest.mark.parametrize(("model", "body"), EXAMPLES)
def test_a_required_field_that_is_null_is_still_an_error(model: type[BaseModel], body: dict[str, Any]) -> None:
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    for name in required:
        with pytest.raises(ValueError, match=name):
            model.model_validate({**body, name: None})


def test_the_job_says_finished_only_by_its_status() -> None:
    completed, running, failed = (Job.model_validate(j) for j in JOBS)
    assert (completed.finished, running.finished, failed.finished) == (True, False, True)
    assert (completed.fail_reason, failed.fail_reason) == (None, "Failed to upgrade the DB Agent.")


def test_the_documented_instance_with_a_running_create_is_not_ready_for_a_backup() -> None:
    instance = Instance.model_validate(INSTANCE)
    assert instance.status == "normal" and instance.actions == ["CREATE"]
    assert instance.backup_blocker is None  # only a running BACKUP blocks; DDS refuses with a code otherwise
