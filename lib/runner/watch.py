"""Closing the loop of a chat command: the answering invocation cannot wait, so it hands a watch on through the
fan-out topic; the watching invocation (SMN-triggered) waits for the backup within its own deadline and posts
how it ended into the conversation, or hands the watch on again while the conversation still takes posts
(Slack and Mattermost: 30 minutes after the command, 5 posts)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from lib.chat.post import ChatPoster
from lib.chat.style import STYLES
from lib.cloud.errors import CloudError
from lib.codes import ErrorCode
from lib.dds.client import DdsClient
from lib.dds.models import Backup, Instance
from lib.models import (
    BackupOrder,
    BackupRequest,
    ErrorInfo,
    FollowUp,
    FollowUpState,
    HandOn,
    Outcome,
    ResultData,
    Watch,
)
from lib.runner import handon
from lib.runner.report import Report
from lib.runner.waiting import wait_for_backup
from lib.runtime import Deadline
from lib.smn.client import SmnClient

# Slack's response_url takes posts for 30 minutes (docs.slack.dev "Handling user interaction"); Mattermost's too
# (mattermost server: CommandWebhookLifetime). A minute is kept for the last post.
POST_WINDOW_S = 30 * 60 - 60
# Kept from the waiting for what comes after it: handing the watch on (an SMN publish) or the post. A quarter of
# a short invocation, at most the post's own timeout.
_AFTER_WAIT_S = 10.0


async def carry_out(
    client: DdsClient,
    smn: SmnClient | None,
    topic: str | None,
    chat: ChatPoster | None,
    deadline: Deadline,
    report: Report,
    order: BackupOrder,
    request: BackupRequest,
    seen: Watch,
    instance: Instance,
) -> ResultData:
    """Wait for the backup a chat command started (``seen``), then post how it ended (or hand the watch on)."""
    fields: dict[str, Any] = {
        "instance": instance,
        "name": seen.name,
        "backup_id": seen.backup_id,
        "job_id": seen.job_id,
    }
    keep = min(_AFTER_WAIT_S, deadline.remaining() / 4)
    try:
        finished = await wait_for_backup(client, seen.job_id, seen.backup_id, deadline.before(keep))
    except CloudError as exc:
        return report(Outcome.FAILED, error=exc.info(), **fields)
    label = instance.name or instance.id
    if finished is None and still_postable(seen.follow_up, seen.rounds + 1):
        state = await hand_on(smn, topic, order.hand_on(request, watch=seen.amend(rounds=seen.rounds + 1)))
        return report(Outcome.CREATED, backup_status="BUILDING", wait_ended_early=True, follow_up=state, **fields)
    if finished is None:
        posted = await _post(chat, seen.follow_up, still_building_text(seen, label))
        return report(Outcome.CREATED, backup_status="BUILDING", wait_ended_early=True, follow_up=posted, **fields)
    posted = await _post(
        chat, seen.follow_up, await outcome_text(client, seen, label, finished.completed, finished.fail_reason)
    )
    if finished.completed:
        return report(Outcome.COMPLETED, backup_status="COMPLETED", follow_up=posted, **fields)
    return report(
        Outcome.FAILED, backup_status="FAILED", error=failure(finished.fail_reason), follow_up=posted, **fields
    )


async def _post(chat: ChatPoster | None, follow_up: FollowUp, text: str) -> str:
    return await chat.post(follow_up, text) if chat is not None else FollowUpState.FAILED.because("no chat client")


def watch_request(order: BackupOrder, data: ResultData) -> HandOn | None:
    """The watch to hand on for a backup a chat command started and that is still being made, else None."""
    building = data.outcome in (Outcome.CREATED, Outcome.EXISTS) and data.backup_status == "BUILDING"
    if order.follow_up is None or not building or not (data.backup_id and data.name and data.instance_id):
        return None
    watch = Watch(backup_id=data.backup_id, job_id=data.job_id, name=data.name, follow_up=order.follow_up)
    return order.hand_on(BackupRequest(instance_id=data.instance_id), watch=watch)


async def hand_on(smn: SmnClient | None, topic: str | None, message: HandOn) -> str:
    """ "watching", or why no follow-up will come."""
    if smn is None or topic is None:
        return FollowUpState.NONE.because("FANOUT_TOPIC_URN is not set, so nothing can watch the backup")
    failed = await handon.send(smn, topic, f"dds-backup watch {message.request.instance_id}", message)
    if failed is not None:
        return FollowUpState.NONE.because(f"the watch could not be handed on ({failed.code})")
    return FollowUpState.WATCHING.value


def still_postable(follow_up: FollowUp, rounds: int) -> bool:
    """Can a later invocation still post? Teams' Workflow URL has no window; the others' 30 minutes do."""
    if rounds >= 12:
        return False
    return follow_up.platform == "teams" or time.time() < follow_up.since + POST_WINDOW_S


async def outcome_text(client: DdsClient, watch: Watch, instance: str, completed: bool, reason: str | None) -> str:
    style = STYLES[watch.follow_up.platform]
    head = f"Backup {style.code(watch.name)} of {style.bold(instance)}"
    if not completed:
        return f"{style.failed} {head} failed: {style.escape(reason or 'no reason given')}"
    backup = await _read(client, watch.backup_id)
    details = [d for d in (_size(backup), _duration(backup)) if d]
    return f"{style.done} {head} completed" + (f" ({', '.join(details)})" if details else "")


def still_building_text(watch: Watch, instance: str) -> str:
    style = STYLES[watch.follow_up.platform]
    return (
        f"{style.waiting} Backup {style.code(watch.name)} of {style.bold(instance)} is still being made; "
        f"ask with {style.code('/dds-backup status ' + watch.backup_id)}"
    )


def failure(reason: str | None) -> ErrorInfo:
    return ErrorInfo.of(ErrorCode.BACKUP_FAILED, f"the backup job failed: {reason or 'no reason given'}")


async def _read(client: DdsClient, backup_id: str) -> Backup | None:
    try:
        return next((b for b in await client.list_backups(backup_id=backup_id) if b.id == backup_id), None)
    except CloudError:
        return None  # the follow-up goes out without the details


def _size(backup: Backup | None) -> str:
    if backup is None or not backup.size:
        return ""
    size_mb = backup.size / 1024  # the API gives KB
    return f"{size_mb / 1024:.1f} GB" if size_mb >= 1024 else f"{size_mb:.1f} MB"


def _duration(backup: Backup | None) -> str:
    if backup is None:
        return ""
    try:
        begin, end = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t in (backup.begin_time, backup.end_time))
    except ValueError:
        return ""
    seconds = int((end - begin).total_seconds())
    return f"took {seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"took {seconds} s"
