"""Which instances a request names, as pure decisions over what the instances API listed.

The listing itself is the runner's (``lib/runner/resolve.py``); here: the ids a request asks for, whether one
listing of the project beats a call per id, and which requested ids the listing does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from lib.models import BackupRequest

# Up to this many ids are looked up one by one (a project may hold thousands of instances); a longer list is
# matched against one listing of the whole project.
BY_ID_LIMIT = 10


class InstanceLike(Protocol):
    @property
    def id(self) -> str: ...


I = TypeVar("I", bound=InstanceLike)  # noqa: E741 - the instance type


def requested_ids(request: BackupRequest) -> list[str]:
    """The ids of an ``instance_id``/``instance_ids`` request, in the caller's order (empty for a selector)."""
    if request.instance_id is not None:
        return [request.instance_id]
    return list(request.instance_ids or [])


def list_whole_project(ids: Sequence[str]) -> bool:
    return len(ids) > BY_ID_LIMIT


def match(ids: Sequence[str], listed: Sequence[I]) -> tuple[list[I], list[str]]:
    """(the listed instances in the order of ``ids``, the ids nobody listed)."""
    by_id = {i.id: i for i in listed}
    return [by_id[i] for i in ids if i in by_id], [i for i in ids if i not in by_id]
