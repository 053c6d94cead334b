"""Building CloudEvents 1.0 result events.

``type`` is ``dds-backup.backup.<outcome>`` so that subscribers can route on it without reading ``data``;
``source`` names the function (``/dds-backup/<function name>``); ``subject`` is the instance id.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from lib.models import ResultData, ResultEvent

TYPE_PREFIX = "dds-backup.backup."


def build(data: ResultData, function_name: str, now: datetime | None = None) -> ResultEvent:
    return ResultEvent(
        id=str(uuid.uuid4()),
        source=f"/dds-backup/{function_name}",
        type=TYPE_PREFIX + data.outcome.value,
        time=now or datetime.now(timezone.utc),
        subject=data.instance_id,
        data=data,
    )
