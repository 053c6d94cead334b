"""The shapes every part agrees on: the backup request, the order that carries it out, the result event and the
invocation result.

Field names of the request and the results are the external interface (docs/requests.md: "The backup request",
"Results"); extend, never rename.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from lib import rules
from lib.codes import ErrorCode

_S = TypeVar("_S", bound="Strict")


class Strict(BaseModel):
    """A model whose fields are the contract: an unknown field is an error, never dropped, also in a copy."""

    model_config = ConfigDict(extra="forbid")

    def amend(self: _S, **changes: Any) -> _S:
        """A copy with ``changes``: unlike ``model_copy(update=...)``, which drops a misspelt field in silence, a
        field the model does not have is a TypeError."""
        unknown = sorted(changes.keys() - type(self).model_fields.keys())
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(unknown)}")
        return self.model_copy(update=changes)


# DDS instance ids are 32 hex chars plus a suffix such as "in02"; be a little wider than that, but never
# accept characters that would change the meaning of a URL path or query.
_INSTANCE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _check_instance_id(value: str) -> str:
    if not _INSTANCE_ID.fullmatch(value):
        raise ValueError("must be 1-64 characters, only letters, digits, '-' and '_'")
    return value


def _check_name(value: str) -> str:
    problems = rules.name_violations(value)
    if problems:
        raise ValueError("backup name " + "; ".join(problems))
    return value


def _check_description(value: str) -> str:
    problems = rules.description_violations(value)
    room = rules.DESCRIPTION_MAX - rules.MARK_ROOM
    if not problems and len(value) > room:
        problems.append(
            f"must be at most {room} characters long (got {len(value)}): dds-backup ends every description with "
            f"its own mark ({rules.MARK_ROOM} characters), which tells its backups apart"
        )
    if problems:
        raise ValueError("backup description " + "; ".join(problems))
    return value


InstanceId = Annotated[str, AfterValidator(_check_instance_id)]
BackupName = Annotated[str, AfterValidator(_check_name)]
Description = Annotated[str, AfterValidator(_check_description)]


class Selector(Strict):
    """Chooses instances through the instances API. At least one criterion, or ``all: true`` explicitly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, min_length=1, max_length=64)
    tags: dict[str, str] = Field(default_factory=dict, max_length=20)
    mode: Literal["Sharding", "ReplicaSet", "Single"] | None = None
    all: bool = False

    @model_validator(mode="after")
    def _one_criterion(self) -> Selector:
        _check_selector(self)
        return self


# The validators' rules live in plain functions: mutation testing (docs/testing.md) cannot reach a function
# under a pydantic decorator, and these rules are what keeps a typo from selecting or deleting the wrong thing.
def _check_selector(sel: Selector) -> None:
    if sel.name == "*":
        raise ValueError("name '*' alone is not allowed by the API; use all: true to select every instance")
    has_criterion = sel.name is not None or bool(sel.tags) or sel.mode is not None
    if not has_criterion and not sel.all:
        raise ValueError("needs at least one of name, tags, mode (or all: true to select every instance)")
    if has_criterion and sel.all:
        raise ValueError("all: true cannot be combined with name, tags or mode")
    for key, value in sel.tags.items():
        if not key or "," in key or "=" in key or "," in value or "=" in value:
            raise ValueError(f"tag {key!r}: keys must be non-empty; keys and values must not contain ',' or '='")


class Trigger(str, enum.Enum):
    DIRECT = "direct"
    TIMER = "timer"
    SMN = "smn"
    KAFKA = "kafka"
    ROCKETMQ = "rocketmq"
    #: CloudEvents 1.0 (Huawei Cloud's EventGrid: RocketMQ and custom event sources).
    CLOUDEVENTS = "cloudevents"
    APIG = "apig"
    SLACK = "slack"
    TEAMS = "teams"
    MATTERMOST = "mattermost"


ChatPlatform = Literal["slack", "teams", "mattermost"]


class FollowUp(Strict):
    """Where to tell a chat user how their backup ended: Slack's or Mattermost's ``response_url`` of the command
    (checked against the platform's own hosts before anything is sent), or, for Teams, which has no such URL,
    the operator's ``TEAMS_INCOMING_WEBHOOK_URL`` (``url`` stays empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: ChatPlatform
    url: str = Field(default="", max_length=2048)
    #: When the command came (epoch seconds): Slack and Mattermost accept posts for 30 minutes after it.
    since: float = 0.0


class Watch(Strict):
    """Set by the function itself: wait for a backup a chat command started, then post how it ended."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backup_id: str = Field(min_length=1, max_length=64)
    #: None when the backup was found rather than created: then the backup list tells how it ends.
    job_id: str | None = Field(default=None, min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=64)
    follow_up: FollowUp
    #: Invocations that already waited (each hands the watch on when its time runs out).
    rounds: int = Field(default=0, ge=0, le=12)


class Retention(Strict):
    """Which of *our* manual backups of an instance to delete after a successful backup of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep_last: int | None = Field(default=None, le=1000)
    max_age_days: int | None = Field(default=None, le=3650)

    @field_validator("keep_last", "max_age_days")
    @classmethod
    def _positive(cls, value: int | None, info: ValidationInfo) -> int | None:
        return _check_at_least_one(value, info.field_name)

    @model_validator(mode="after")
    def _something(self) -> Retention:
        _check_retention(self)
        return self


def _check_at_least_one(value: int | None, field_name: str | None) -> int | None:
    if value is not None and value < 1:
        what = "delete every backup" if field_name == "keep_last" else "delete backups of today"
        raise ValueError(f"{value} would {what}; the smallest value is 1")
    return value


def _check_retention(policy: Retention) -> None:
    if policy.keep_last is None and policy.max_age_days is None:
        raise ValueError("needs keep_last, max_age_days or both")


class Audit(Strict):
    """Prove that every selected instance has a recent, completed backup (reads only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_hours: int = Field(ge=1, le=8760)
    #: The instance's automated backups count too (a COMPLETED one is as good as ours for a restore).
    include_automated: bool = True


MAX_HANDOFFS = 3
#: A request names at most this many instances by id (more: a selector). It keeps one request within the
#: 256 KB an asynchronous event may carry.
MAX_INSTANCE_IDS = 1000


class Origin(Strict):
    """Where a fanned-out or handed-off request came from: its backup is named as if it had been made inline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    identity: str = Field(min_length=1, max_length=1024)
    trigger: Trigger
    #: The source it was made for (its retention and its idempotency keys are that source's own).
    scope: str = Field(min_length=1, max_length=1024)
    correlation_id: str = Field(max_length=1024)
    event_time: datetime | None = None
    #: How many times a retryable failure of this request was handed on through SMN for another attempt.
    handoffs: int = Field(default=0, ge=0, le=MAX_HANDOFFS)


class BackupRequest(Strict):
    """One request from any source. Unknown fields are an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_id: InstanceId | None = None
    instance_ids: list[InstanceId] | None = Field(default=None, min_length=1)
    selector: Selector | None = None
    name: BackupName | None = None
    description: Description | None = None
    wait: bool = False
    dry_run: bool = False
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    retention: Retention | None = None
    audit: Audit | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> BackupRequest:
        _check_request(self)
        return self


def _check_request(req: BackupRequest) -> None:
    given = [f for f in ("instance_id", "instance_ids", "selector") if getattr(req, f) is not None]
    if len(given) != 1:
        raise ValueError(
            "exactly one of instance_id, instance_ids, selector is required"
            + (f" (got {', '.join(given)})" if given else " (got none)")
        )
    if req.instance_ids is not None and len(req.instance_ids) > MAX_INSTANCE_IDS:
        raise ValueError(
            f"instance_ids holds {len(req.instance_ids)} ids; at most {MAX_INSTANCE_IDS} per request "
            "(use a selector, or several requests)"
        )
    if req.instance_ids is not None and len(set(req.instance_ids)) != len(req.instance_ids):
        raise ValueError("instance_ids contains duplicates")
    if req.audit is not None:
        creating = [f for f in ("name", "description", "retention") if getattr(req, f) is not None]
        creating += [f for f in ("wait", "dry_run") if getattr(req, f)]
        if creating:
            raise ValueError(f"audit only reads; it cannot be combined with {', '.join(creating)}")
    if req.name is not None and req.idempotency_key is not None:
        raise ValueError("give name or idempotency_key, not both: the key decides the backup's name")
    if req.name is not None and req.instance_id is None:
        # A name is unique per project, so an explicit one can only ever name a single backup.
        raise ValueError("an explicit name needs a single instance_id (names are unique per project)")


class FieldError(Strict):
    field: str
    message: str


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic errors as (field path, message) pairs a user can read; input values are never echoed."""
    out: list[FieldError] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(request)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; unknown fields are rejected)"
        out.append(FieldError(field=loc, message=msg))
    return out


def describe_field_errors(errors: list[FieldError]) -> str:
    return "; ".join(f"{e.field}: {e.message}" for e in errors)


class Outcome(str, enum.Enum):
    CREATED = "created"
    COMPLETED = "completed"
    EXISTS = "exists"
    FAILED = "failed"
    REJECTED = "rejected"
    DRY_RUN = "dry_run"
    #: Retention deleted (or, in a dry run, would delete) one of our old backups.
    PRUNED = "pruned"
    #: A large request was handed on through SMN, one message per instance (each is then its own invocation).
    FANNED_OUT = "fanned_out"
    #: A retryable failure was handed on through SMN for another attempt in a new invocation (triggers whose
    #: platform retry is not certain); ``error`` says what failed.
    HANDED_OFF = "handed_off"
    #: Audit: the instance has a COMPLETED backup that began within ``max_age_hours``.
    FRESH = "fresh"
    #: Audit: it has none (error BACKUP_STALE).
    STALE = "stale"


class FollowUpState(str, enum.Enum):
    """What became of a chat command's follow-up: ``ResultData.follow_up`` is the state, and after a colon why."""

    #: Handed on: a later invocation waits for the backup and posts how it ended.
    WATCHING = "watching"
    POSTED = "posted"
    #: Not on the platform's own hosts, or the URL could not be kept out of the log: never contacted.
    REFUSED = "refused"
    FAILED = "failed"
    #: Nothing can watch the backup (no FANOUT_TOPIC_URN, or the watch could not be handed on).
    NONE = "none"

    def because(self, reason: str) -> str:
        return f"{self.value}: {reason}"


class ErrorInfo(Strict):
    """Why something failed: ``code`` is one of dds-backup's own (docs/codes.md), or the API's as it sent it
    (DBS.*, APIG.*, SMN.*)."""

    code: str
    message: str
    retryable: bool
    http_status: int | None = None
    request_id: str | None = None
    details: list[FieldError] | None = None

    @classmethod
    def of(cls, code: ErrorCode, message: str) -> ErrorInfo:
        """One of our errors, as retryable as its code says."""
        return cls(code=code, message=message, retryable=code.retryable)


def internal_error(exc: BaseException) -> ErrorInfo:
    """A bug of ours while carrying an order out. Retryable, unlike a bug while reading the event (which the same
    event would hit again): what failed may hang on what the API answered at that moment, and a retry is safe,
    since backup names come from the event."""
    return ErrorInfo.of(ErrorCode.INTERNAL_ERROR, f"{type(exc).__name__} (a bug; see the log)")


def rejected(code: ErrorCode, message: str, *, details: list[FieldError] | None = None) -> ErrorInfo:
    """Bad input: trying again without changing it cannot help."""
    return ErrorInfo(code=code, message=message, retryable=False, details=details)


#: What only the function's own messages carry (``HandOn``): named as such when a request holds one.
INTERNAL_FIELDS = ("watch", "origin")


def validate_request(data: Any, where: str) -> BackupRequest | ErrorInfo:
    """A backup request from parsed JSON, or a rejection naming every field and rule that failed. The fields of
    the function's own messages are refused by name: a caller's ``watch`` would make the function post into a chat
    of the caller's choosing, an ``origin`` would borrow another event's identity (and backup name)."""
    if not isinstance(data, dict):
        return rejected(
            ErrorCode.INVALID_REQUEST, f"{where} must be a JSON object (a backup request), got {type(data).__name__}"
        )
    own = [FieldError(field=f, message="set by dds-backup itself; not accepted in requests") for f in INTERNAL_FIELDS]
    errors = [e for e in own if e.field in data]
    try:
        request = BackupRequest.model_validate({k: v for k, v in data.items() if k not in INTERNAL_FIELDS})
    except ValidationError as exc:
        errors += field_errors(exc)
    if errors:
        return rejected(
            ErrorCode.INVALID_REQUEST,
            f"{where} is not a valid backup request: {describe_field_errors(errors)}",
            details=errors,
        )
    return request


class HandOn(Strict):
    """A message the function sends itself through its own fan-out topic (``FANOUT_TOPIC_URN``): a request, and
    the identity of the event it came from, so that its backup is named as if it had been made inline. A fan-out
    (one per instance), a hand-off (a retryable failure tried again) or a chat ``watch``. Read only from that topic;
    the request inside holds no more than a user may send."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request: BackupRequest
    origin: Origin
    #: Wait for a backup a chat command started, then post how it ended.
    watch: Watch | None = None

    @model_validator(mode="after")
    def _watch_one_instance(self) -> HandOn:
        _check_hand_on(self)
        return self


def _check_hand_on(message: HandOn) -> None:
    req = message.request
    if message.watch is not None and (req.instance_id is None or req.audit or req.retention or req.name):
        raise ValueError("a watch is of one instance_id, nothing else")


def validate_hand_on(data: Any, where: str) -> HandOn | ErrorInfo:
    """The function's own message, or why it is none (a rejection naming each field)."""
    try:
        return HandOn.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        return rejected(
            ErrorCode.INVALID_REQUEST,
            f"{where} is not a message of dds-backup's own: {describe_field_errors(errors)}",
            details=errors,
        )


@dataclass(frozen=True)
class BackupOrder:
    """One request of an event, ready to be carried out, or the reason why there is nothing to carry out.

    ``identity`` keys the deterministic backup name (docs/requests.md: "Names and idempotency"), read from the event
    itself. ``event_time`` is None when the event carries no time, or when the name must not depend on it (an order
    identified by a key is the same backup whenever it comes). ``scope`` is the source the order came from (a
    timer, the webhook route, a chat team, a topic, a CloudEvents source, direct invocations): its idempotency keys
    and its retention are its own.
    """

    trigger: Trigger
    identity: str
    correlation_id: str
    event_time: datetime | None
    request: BackupRequest | None = None
    rejection: ErrorInfo | None = None
    #: A chat command's conversation: the outcome is posted there when the backup ends.
    follow_up: FollowUp | None = None
    scope: str = field(kw_only=True)
    #: Handed on through the function's own topic (``HandOn``): never fanned out again.
    handed_on: bool = field(default=False, kw_only=True)
    #: How many times a retryable failure of this order was handed on for another attempt.
    handoffs: int = field(default=0, kw_only=True)
    #: A chat watch: wait for this backup and post how it ended.
    watch: Watch | None = field(default=None, kw_only=True)

    @classmethod
    def of(
        cls,
        trigger: Trigger,
        identity: str,
        correlation_id: str,
        event_time: datetime | None,
        result: BackupRequest | ErrorInfo,
        *,
        scope: str,
    ) -> BackupOrder:
        """An order from a validation result; the request's own ``idempotency_key`` wins over the event's identity."""
        if isinstance(result, BackupRequest):
            order = cls(trigger, identity, correlation_id, event_time, request=result, scope=scope)
            return order.with_request_identity()
        return cls(trigger, identity, correlation_id, event_time, rejection=result, scope=scope)

    @classmethod
    def handed(cls, message: HandOn) -> BackupOrder:
        """The order of a message the function sent itself: the identity (and source) of the event it came from."""
        o = message.origin
        return cls(
            o.trigger,
            o.identity,
            o.correlation_id,
            o.event_time,
            request=message.request,
            scope=o.scope,
            handed_on=True,
            handoffs=o.handoffs,
            watch=message.watch,
        )

    def with_request_identity(self) -> BackupOrder:
        """An ``idempotency_key`` overrides the event identity, within its source."""
        if self.request is not None and self.request.idempotency_key:
            return self.identified_by(f"key:{self.scope}:{self.request.idempotency_key}")
        return self

    def hand_on(self, request: BackupRequest, *, handoffs: int = 0, watch: Watch | None = None) -> HandOn:
        """``request`` under this order's identity, to be sent through the function's own topic: its backup keeps
        the name it would have had here. ``handoffs``: the attempts handed on so far, this one included."""
        origin = Origin(
            identity=self.identity,
            trigger=self.trigger,
            scope=self.scope,
            correlation_id=self.correlation_id,
            event_time=self.event_time,
            handoffs=handoffs,
        )
        return HandOn(request=request, origin=origin, watch=watch)

    def with_follow_up(self, follow_up: FollowUp) -> BackupOrder:
        return replace(self, follow_up=follow_up)

    def identified_by(self, identity: str) -> BackupOrder:
        """Identified by a key alone (``key:`` an idempotency key, ``webhook:`` a delivery id, ...): the same key,
        the same name, whenever it arrives, so no time goes into the name."""
        return replace(self, identity=identity, event_time=None)


class BackupSeen(Strict):
    """A backup as an audit reports it."""

    id: str
    name: str
    type: str
    status: str
    begin_time: str
    age_hours: float | None = None


class AuditReport(Strict):
    max_age_hours: int
    include_automated: bool
    #: The newest COMPLETED backup that counts (None: there is none).
    newest_completed: BackupSeen | None = None
    #: The instance's backups still being made.
    building: list[BackupSeen] = Field(default_factory=list)
    #: This tool's own backups that ended FAILED within the window (listed even when the instance is fresh).
    recent_failed: list[BackupSeen] = Field(default_factory=list)


class ResultData(Strict):
    """The ``data`` of a result event."""

    outcome: Outcome
    instance_id: str | None = None
    instance_name: str | None = None
    name: str | None = None
    backup_id: str | None = None
    job_id: str | None = None
    backup_status: str | None = None
    trigger: Trigger
    correlation_id: str
    attempts: int = 0
    duration_ms: int = 0
    dry_run: bool = False
    #: ``wait: true`` stopped before the job ended (the time for waiting ran out): the backup is still building.
    wait_ended_early: bool = False
    #: Only for audit requests.
    audit: AuditReport | None = None
    #: Chat commands: a ``FollowUpState`` ("watching", "posted"), or one and why ("refused: ...").
    follow_up: str | None = None
    error: ErrorInfo | None = None

    @property
    def asks_for_retry(self) -> bool:
        """A failure that trying again can help: the one test of it (what raises for the platform's retry, what is
        handed off, what a caller is told to retry). Never a dry run's."""
        return self.outcome is Outcome.FAILED and self.error is not None and self.error.retryable and not self.dry_run


class ResultEvent(Strict):
    """CloudEvents 1.0, structured JSON mode."""

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: ResultData

    @field_serializer("time")
    def _rfc3339(self, value: datetime) -> str:
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def to_json_dict(self) -> dict[str, Any]:
        # CloudEvents says optional attributes are absent rather than null.
        return self.model_dump(mode="json", exclude_none=False, exclude={"subject"} if self.subject is None else None)


class Summary(Strict):
    requested: int = 0
    created: int = 0
    completed: int = 0
    exists: int = 0
    failed: int = 0
    rejected: int = 0
    dry_run: int = 0
    pruned: int = 0
    fanned_out: int = 0
    handed_off: int = 0
    fresh: int = 0
    stale: int = 0


class InvocationResult(Strict):
    ok: bool
    results: list[ResultEvent]
    summary: Summary

    @classmethod
    def from_results(cls, results: list[ResultEvent]) -> InvocationResult:
        summary = Summary(requested=len(results))
        for r in results:
            key = r.data.outcome.value
            setattr(summary, key, getattr(summary, key) + 1)
        ok = summary.failed == 0 and summary.rejected == 0 and summary.stale == 0
        return cls(ok=ok, results=results, summary=summary)

    #: Publishing the result events to RESULT_TOPIC_URN, when configured (failures never change an outcome).
    publish: dict[str, Any] | None = None

    @property
    def needs_retry(self) -> bool:
        """True when a platform retry of the whole event can help (some failure was retryable; never a dry run)."""
        return any(r.data.asks_for_retry for r in self.results)

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "results": [r.to_json_dict() for r in self.results],
            "summary": self.summary.model_dump(mode="json"),
        }
        if self.publish is not None:
            out["publish"] = self.publish
        return out
