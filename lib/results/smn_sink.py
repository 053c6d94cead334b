"""The SMN sinks: each result event as one message on ``RESULT_TOPIC_URN``, and the ones that need a person
(``stale``, ``failed``) also on ``ALERT_TOPIC_URN``, so that an e-mail or SMS subscription there pages someone
without any filtering.

A failure is logged and counted, never turned into a failed backup: the backup exists whether or not anybody
heard about it. The subject, ``dds-backup <outcome> <instance>``, lets subscriptions filter without parsing.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from lib.cloud.errors import CloudError
from lib.logs import get_logger
from lib.models import Outcome, ResultEvent
from lib.smn.client import SmnClient

_log = get_logger("results.smn")
ALERTING = (Outcome.STALE, Outcome.FAILED)


def alerts(results: list[ResultEvent]) -> list[ResultEvent]:
    return [r for r in results if r.data.outcome in ALERTING]


async def publish_results(smn: SmnClient, topic_urn: str, results: list[ResultEvent]) -> dict[str, Any]:
    """Publish every result; the report says how many went out and which error codes stopped the others."""
    errors: list[str] = []

    async def one(event: ResultEvent) -> None:
        data = event.data
        subject = f"dds-backup {data.outcome.value} {data.instance_name or data.instance_id or '-'}"
        try:
            await smn.publish(topic_urn, subject, json.dumps(event.to_json_dict(), separators=(",", ":")))
        except CloudError as exc:
            errors.append(exc.code)
            _log.warning(f"could not publish a result to SMN ({exc.code})", extra={"error.type": exc.code})

    await asyncio.gather(*(one(r) for r in results))
    report: dict[str, Any] = {"topic_urn": topic_urn, "published": len(results) - len(errors), "failed": len(errors)}
    if errors:
        report["errors"] = sorted(set(errors))
    return report
