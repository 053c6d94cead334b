"""Typed DDS v3 responses (mirroring huaweicloudsdkdds model names). Unknown fields are ignored, not rejected:
the API adds fields over time and Huawei Cloud returns more than OTC.

``null`` counts as absent for every field that has a default: the documented job examples carry
``"fail_reason": null`` on running and completed jobs (OTC DDS API reference, "Obtaining Information About a Task
with a Specified ID"), and nothing promises that other optional fields are never null.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        return _drop_nulls(data)


# The rule on its own, beside the validator that applies it: mutmut 3 (docs/testing.md) has no setting that reaches
# a function under a decorator.
def _drop_nulls(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v is not None}
    return data


#: For the answers a plain backup does not read (backups and jobs: retention, waiting, look-ups after a lost
#: answer): built when first used.
_DEFERRED = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class CreateManualBackupResponse(_ApiModel):
    job_id: str
    backup_id: str


class Tag(_ApiModel):
    key: str
    value: str = ""


class Instance(_ApiModel):
    """QueryInstanceResponse: the fields the function uses."""

    id: str
    name: str
    status: str = ""
    mode: str = ""
    actions: list[str] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)

    @property
    def backup_blocker(self) -> str | None:
        """Why a manual backup would fail now, or None. OTC: only instances in 'normal' status can be backed up."""
        if self.status.lower() != "normal":
            return f"instance status is {self.status!r}, not 'normal'"
        if "BACKUP" in self.actions:
            return "a backup is already running on the instance"
        return None


class Backup(_ApiModel):
    """BackupForList."""

    model_config = _DEFERRED

    id: str
    name: str
    instance_id: str = ""
    instance_name: str = ""
    type: str = ""
    status: str = ""
    begin_time: str = ""
    end_time: str = ""
    size: int | None = None
    description: str = ""


class JobInstance(_ApiModel):
    model_config = _DEFERRED
    id: str = ""
    name: str = ""


class Job(_ApiModel):
    """JobDetail. ``status`` is Running, Completed or Failed."""

    model_config = _DEFERRED

    id: str
    name: str = ""
    status: str
    created: str = ""
    ended: str = ""
    progress: str = ""
    instance: JobInstance | None = None
    fail_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("Completed", "Failed")
