"""One conversation for every chat platform: allow-lists, the command, the backup service, the reply text.

A chat command never waits (Slack gives 3 s, Teams 5 s); a backup that is still being made is watched by
another invocation, which posts how it ended into the conversation (``lib/runner/watch.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from lib.chat import hosts
from lib.chat.style import STYLES, Style
from lib.config import Settings
from lib.http.chat import grammar
from lib.http.gateway import HttpRequest, response
from lib.http.orders import webhook_order
from lib.logs import get_logger, mask_here
from lib.models import (
    BackupRequest,
    ChatPlatform,
    FollowUp,
    FollowUpState,
    Outcome,
    ResultData,
    ResultEvent,
    Trigger,
    validate_request,
)
from lib.runtime import Deadline
from lib.service import BackupService, ServiceError

_log = get_logger("http.chat")
#: The longest response_url kept (Slack's are about 100 characters); a longer one is refused, never cut.
MAX_URL_CHARS = 2048


@dataclass(frozen=True)
class ChatRequest:
    """An authenticated command, as every platform's route reads it from its envelope."""

    platform: ChatPlatform
    trigger: Trigger
    invoke_as: str  # how users call the command: "/dds-backup", "@dds-backup"
    user: str
    channel: str
    text: str  # what the user typed, unescaped
    delivery: str | None  # what makes a resent command the same backup
    team: str  # the workspace or team the command came from: its own scope (retention, idempotency keys)
    follow_up: FollowUp | None
    budget_s: float
    http: HttpRequest

    @property
    def style(self) -> Style:
        return STYLES[self.platform]


def slash_command(
    http: HttpRequest,
    form: dict[str, str],
    platform: ChatPlatform,
    settings: Settings,
    text: str,
    budget_s: float,
    stand_ins: frozenset[str],
) -> ChatRequest:
    """Slack's and Mattermost's slash commands share their form fields. ``stand_ins``: the invocation's loopback
    stand-ins for the platforms (the dev side's only)."""
    trigger_id = form.get("trigger_id")
    return ChatRequest(
        platform=platform,
        trigger=Trigger(platform),
        invoke_as=form.get("command") or "/dds-backup",
        user=form.get("user_id", ""),
        channel=form.get("channel_id", ""),
        text=text,
        delivery=f"{platform}:{trigger_id}" if trigger_id else None,
        team=form.get("team_id", ""),
        follow_up=follow_up_of(form, platform, settings, stand_ins),
        budget_s=budget_s,
        http=http,
    )


def slash_reply(text: str) -> dict[str, Any]:
    """The answer to a slash command, on both platforms: seen only by whoever gave it."""
    return response(200, {"response_type": "ephemeral", "text": text})


def follow_up_of(
    form: dict[str, str], platform: ChatPlatform, settings: Settings, stand_ins: frozenset[str]
) -> FollowUp | None:
    """The command's response_url, when it is on the platform's own hosts (else it is never contacted, kept or
    masked: a caller's text must not change what other lines say). A URL that passed is a capability for the
    conversation: masked in this request's lines, and used only if it can be."""
    url = form.get("response_url", "")
    if not url:
        return None
    if len(url) > MAX_URL_CHARS or hosts.target(FollowUp(platform=platform, url=url), settings, stand_ins) is None:
        _log.warning(f"response_url refused: not a {platform} host ({hosts.host_of(url)})")
        return None
    if not mask_here(url):
        _log.warning("response_url refused: this request already holds as many values to mask as it may")
        return None
    return FollowUp(platform=platform, url=url, since=time.time())


def _denied(chat: ChatRequest, allowed_users: frozenset[str] | None, allowed_channels: frozenset[str] | None) -> str:
    prefix = chat.platform.upper()
    if allowed_users is not None and chat.user not in allowed_users:
        return f"Sorry, you are not allowed to start DDS backups ({prefix}_ALLOWED_USERS)."
    if allowed_channels is not None and chat.channel not in allowed_channels:
        return f"Backups cannot be started from this channel ({prefix}_ALLOWED_CHANNELS)."
    return ""


async def answer(
    chat: ChatRequest,
    service: BackupService,
    allowed_users: frozenset[str] | None,
    allowed_channels: frozenset[str] | None,
) -> str:
    if denied := _denied(chat, allowed_users, allowed_channels):
        return denied
    command = grammar.parse(chat.text)
    usage = chat.style.literal(grammar.usage(chat.invoke_as))
    if isinstance(command, grammar.Help):
        return usage
    if isinstance(command, grammar.Status):
        return await _status(chat, service, command.backup_id)
    if isinstance(command, grammar.Audit):
        return await _audit(chat, service, command, usage)
    return await _backup(chat, service, command, usage)


async def _status(chat: ChatRequest, service: BackupService, backup_id: str | None) -> str:
    s = chat.style
    if backup_id is None:
        return f"Which backup? {s.literal(f'`{chat.invoke_as} status <backup_id>`')}"
    try:
        b = await service.find_backup(backup_id, service.invocation.deadline.within(chat.budget_s))
    except ServiceError as exc:
        return f"{s.warning} Could not read the backup: {exc.error.code}: {s.escape(exc.error.message)}"
    if b is None:
        return f"No backup {s.code(backup_id)} in this project."
    return (
        f"Backup {s.code(b.name)} ({s.code(b.id)}) of {s.escape(b.instance_name or b.instance_id)}: {s.bold(b.status)}"
    )


def _request(chat: ChatRequest, data: dict[str, Any]) -> BackupRequest | str:
    """The command as a backup request, or the reply that says why it is not one."""
    result = validate_request(data, "the command")
    return result if isinstance(result, BackupRequest) else f"{chat.style.warning} {chat.style.escape(result.message)}"


async def _run(
    chat: ChatRequest, service: BackupService, request: BackupRequest, deadline: Deadline
) -> list[ResultEvent]:
    order = webhook_order(chat.http, request, chat.trigger, chat.delivery, f"{chat.platform}:{chat.team}")
    if chat.follow_up is not None:
        order = order.with_follow_up(chat.follow_up)
    return (await service.execute([order], deadline)).results


async def _backup(chat: ChatRequest, service: BackupService, command: grammar.Backup, usage: str) -> str:
    s, target = chat.style, command.target
    deadline = service.invocation.deadline.within(chat.budget_s)
    data = grammar.one_instance(target)
    if command.description is not None:
        data["description"] = command.description
    request = _request(chat, data)
    if isinstance(request, str):
        return f"{request}\n{usage}"
    if request.selector is not None:
        # A backup is of one instance: the name is looked up first, so that a name several instances share
        # starts nothing (names need not be unique), and a "*" pattern is not a name.
        if target.startswith("*"):
            return f"A backup is of one instance: give its exact name or its id, not {s.code(target)}.\n{usage}"
        try:
            named = await service.find_instances(request, deadline)
        except ServiceError as exc:
            return f"{s.warning} Could not look up {s.code(target)}: {exc.error.code}: {s.escape(exc.error.message)}"
        if not named:
            return f"No DDS instance is named {s.code(target)}.\n{usage}"
        if len(named) > 1:
            return f"{s.code(target)} names {len(named)} instances; use the instance id."
        request = request.amend(selector=None, instance_id=named[0].id)
    results = await _run(chat, service, request, deadline)
    pruned = [r for r in results if r.data.outcome is Outcome.PRUNED]
    (event, *_) = [r for r in results if r.data.outcome is not Outcome.PRUNED]
    return _backup_reply(chat, event.data, len(pruned), target)


def _backup_reply(chat: ChatRequest, d: ResultData, pruned: int, target: str) -> str:
    s = chat.style
    if d.outcome in (Outcome.CREATED, Outcome.EXISTS, Outcome.COMPLETED):
        verb = "started" if d.outcome is Outcome.CREATED else "already exists"
        status_command = f"{chat.invoke_as} status {d.backup_id}"
        then = (
            "I will post here when it is done."
            if d.follow_up == FollowUpState.WATCHING
            else f"Follow it with {s.code(status_command)}"
        )
        return (
            f"{s.backup} Backup {verb} for {s.bold(d.instance_name or d.instance_id or target)}\n"
            f"name {s.code(d.name or '')} · backup id {s.code(d.backup_id or '')}"
            + (f" · job id {s.code(d.job_id)}" if d.job_id else "")
            + f"\n{then}"
            + (f"\nRetention: {pruned} old backup(s) deleted" if pruned else "")
        )
    assert d.error is not None
    again = " Try again in a minute." if d.error.retryable else ""
    return f"{s.warning} Backup of {s.code(target)} failed: {s.escape(d.error.message)} ({d.error.code}).{again}"


async def _audit(chat: ChatRequest, service: BackupService, command: grammar.Audit, usage: str) -> str:
    s = chat.style
    data = {**grammar.selection(command.target), "audit": {"max_age_hours": command.hours}}
    request = _request(chat, data)
    if isinstance(request, str):
        return f"{request}\n{usage}"
    results = await _run(chat, service, request, service.invocation.deadline.within(chat.budget_s))
    lines = [f"Audit: a completed backup from the last {command.hours} hours?"]
    for r in sorted(results, key=lambda e: e.data.instance_name or e.data.instance_id or ""):
        lines.append(_audit_line(s, r.data))
    return "\n".join(lines)


def _audit_line(s: Style, d: ResultData) -> str:
    who = s.bold(d.instance_name or d.instance_id or "?")
    newest = d.audit.newest_completed if d.audit is not None else None
    age = f"{newest.age_hours} h ago" if newest is not None else "none"
    if d.outcome is Outcome.FRESH:
        return f"{s.done} {who} fresh (newest completed {age})"
    if d.outcome is Outcome.STALE:
        return f"{s.failed} {who} stale (newest completed: {age})"
    reason = f"{d.error.code}: {s.escape(d.error.message)}" if d.error else d.outcome.value
    return f"{s.warning} {who} could not be audited ({reason})"
