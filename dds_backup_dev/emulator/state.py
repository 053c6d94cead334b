"""The emulator's world: instances, backups, jobs, credentials, injected faults and a request log.

Time-dependent states are computed when read (a backup is BUILDING until ``backup_delay`` has passed since
it was created), so there are no background tasks and tests can move the clock by changing ``clock``.
"""

from __future__ import annotations

import copy
import json
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any, Literal

DEMO_PROJECT_ID = "0549b4a43100d4f32f51c01c2fe4acdb"
DEMO_AK = "EMULATORAKDEMO000001"
DEMO_SK = "emulator-demo-secret-key-do-not-use-anywhere"
DEMO_USER = "dds-backup-demo"
DEMO_PASSWORD = "emulator-demo-password"  # noqa: S105 - a public demo credential of the local emulator
DEMO_DOMAIN = "OTC-EU-DE-00000000001000000001"
DEMO_REGION = "eu-de"
#: The demo topics (``urn:smn:eu-de:<demo project>:dds-backup-<kind>``): results, fan-out, alerts, requests.
DEMO_TOPICS = ("dds-backup-results", "dds-backup-fanout", "dds-backup-alerts", "dds-backup-requests")


def load_fixture_instances() -> list[dict[str, Any]]:
    text = resources.files("dds_backup_dev.emulator").joinpath("instances.json").read_text()
    data: list[dict[str, Any]] = json.loads(text)
    return data


@dataclass
class EmuBackup:
    id: str
    name: str
    instance_id: str
    instance_name: str
    description: str
    created: float
    type: str = "Manual"
    fails: bool = False


@dataclass
class EmuJob:
    id: str
    name: str
    instance_id: str
    instance_name: str
    created: float
    fails: bool = False


FaultKind = Literal["error", "slow", "reset", "lost", "applied"]


@dataclass
class Fault:
    """Spoil the next ``count`` requests whose method and path match.

    ``kind``: ``error`` answers ``status`` + error body; ``slow`` waits ``delay`` seconds, then answers normally
    (past a client's timeout, it still applies the change); ``reset`` drops the connection without applying
    anything; ``lost`` applies the request, then drops the connection instead of answering; ``applied`` applies
    the request, then answers ``status`` + error body (a gateway that gave up on a backend which did the work:
    APIG.0201 with 504 "Backend timeout").
    """

    method: str
    path: str  # regular expression searched in the path
    status: int = 500
    error_code: str = "DBS.280005"
    error_msg: str = "injected fault"
    count: int = 1
    kind: FaultKind = "error"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body_contains: str | None = None  # only requests whose body holds this text (e.g. one instance id)
    query_contains: str | None = None  # only requests whose raw query holds this text (e.g. one page's offset)


@dataclass
class Chaos:
    """Random faults for soak runs: each matching request is spoiled with probability ``rate``."""

    rate: float
    kinds: tuple[str, ...] = ("500", "503", "429", "reset", "slow", "lost")
    method: str = "*"
    path: str = ".*"
    slow_delay: float = 1.0
    retry_after: str = "1"
    seed: int = 0
    rng: random.Random = field(init=False, repr=False)
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 - reproducible chaos, not cryptography

    def draw(self, method: str, path: str) -> Fault | None:
        if self.method not in (method, "*") or not re.search(self.path, path) or self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.kinds)
        self.injected[kind] = self.injected.get(kind, 0) + 1
        if kind == "429":
            return Fault(
                method, path, 429, "DBS.280443", "throttled (chaos)", headers={"Retry-After": self.retry_after}
            )
        if kind in ("500", "503"):
            return Fault(method, path, int(kind), "DBS.280005", "server error (chaos)")
        return Fault(method, path, kind=kind, delay=self.slow_delay)  # type: ignore[arg-type]


@dataclass
class Published:
    topic_urn: str
    subject: str
    message: str
    message_id: str
    time: float


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    #: time.monotonic() when it arrived and when it was answered (0: not yet)
    arrived: float = 0.0
    answered: float = 0.0


def _fmt(ts: float, with_t: bool = False) -> str:
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S+0000") if with_t else dt.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class EmulatorState:
    project_id: str = DEMO_PROJECT_ID
    project_name: str = DEMO_REGION
    region: str = DEMO_REGION
    #: AK -> (SK, security token required with it, or None)
    keys: dict[str, tuple[str, str | None]] = field(default_factory=lambda: {DEMO_AK: (DEMO_SK, None)})
    #: (domain, user) -> password
    users: dict[tuple[str, str], str] = field(default_factory=lambda: {(DEMO_DOMAIN, DEMO_USER): DEMO_PASSWORD})
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (clock seconds)
    token_ttl: float = 24 * 3600.0
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    backups: dict[str, EmuBackup] = field(default_factory=dict)
    #: Deleted backups stay listed as DISABLED ("Backup being deleted") for ``delete_delay`` seconds.
    deleting: dict[str, tuple[EmuBackup, float]] = field(default_factory=dict)
    delete_delay: float = 0.5
    jobs: dict[str, EmuJob] = field(default_factory=dict)
    backup_delay: float = 2.0  # seconds from BUILDING to COMPLETED
    job_visible_after: float = 0.0  # a new job "takes several seconds" to become queryable
    #: A finished job is forgotten this many seconds after it ended (None: never); then it is DBS.200543 again.
    job_forget_after: float | None = None
    #: A new backup shows in the backup list only this many seconds after it was created.
    backup_listed_after: float = 0.0
    latency: float = 0.0  # added to every answer
    #: DDS's throttling: each tenant (project) may make ``rate_limit`` calls a second, with bursts of up to
    #: ``rate_burst`` (default: a second's worth); beyond that, 429 ``DBS.280443``. ``rate_retry_after``: the
    #: Retry-After header sent with it (the DDS documents do not say whether DDS sends one: none by default).
    rate_limit: float | None = None
    rate_burst: float | None = None
    rate_retry_after: str | None = None
    failing_instances: set[str] = field(default_factory=set)  # their backups end FAILED
    faults: list[Fault] = field(default_factory=list)
    chaos: Chaos | None = None
    #: SMN: the topics that exist (URN -> creation time), every published message, and the topics whose
    #: messages are handed to ``forward`` as SMN events (the whole fan-out loop on one machine).
    topics: dict[str, float] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    forward: Callable[[dict[str, Any]], None] | None = None
    forward_topics: set[str] = field(default_factory=set)
    forwarding: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    #: project id -> (tokens, when last filled; time.monotonic()), and how many calls were throttled.
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    throttled_calls: int = 0

    @classmethod
    def with_fixture(cls, **kwargs: Any) -> EmulatorState:
        state = cls(**kwargs)
        for inst in load_fixture_instances():
            state.instances[inst["id"]] = inst
        for name in DEMO_TOPICS:
            state.add_topic(name)
        return state

    def add_topic(self, name: str) -> str:
        urn = f"urn:smn:{self.region}:{self.project_id}:{name}"
        self.topics[urn] = self.clock()
        return urn

    def add_synthetic_instances(self, count: int) -> list[str]:
        """Seed ``count`` healthy instances named ``bench-NNNN``, tagged ``fleet=bench`` (benchmarks, load)."""
        template = load_fixture_instances()[0]
        ids = []
        for i in range(count):
            inst = copy.deepcopy(template)
            inst.update(id=f"{i:032x}in02", name=f"bench-{i:04d}", tags=[{"key": "fleet", "value": "bench"}])
            self.instances[inst["id"]] = inst
            ids.append(inst["id"])
        return ids

    # -- derived state ----------------------------------------------------------------------------------

    def backup_status(self, b: EmuBackup) -> str:
        if self.clock() < b.created + self.backup_delay:
            return "BUILDING"
        return "FAILED" if b.fails else "COMPLETED"

    def job_status(self, j: EmuJob) -> str:
        if self.clock() < j.created + self.backup_delay:
            return "Running"
        return "Failed" if j.fails else "Completed"

    def job_readable(self, j: EmuJob) -> bool:
        """Not yet registered, or already purged: the job query does not know it."""
        now = self.clock()
        if now < j.created + self.job_visible_after:
            return False
        return self.job_forget_after is None or now < j.created + self.backup_delay + self.job_forget_after

    def listed_backups(self) -> list[EmuBackup]:
        """What the backup list shows: every backup old enough to be listed, and those being deleted."""
        now = self.clock()
        listed = [b for b in self.backups.values() if now >= b.created + self.backup_listed_after]
        return [*listed, *self.disabled_backups()]

    def delete_backup(self, backup: EmuBackup) -> None:
        del self.backups[backup.id]
        self.deleting[backup.id] = (backup, self.clock())

    def disabled_backups(self) -> list[EmuBackup]:
        """Backups still being deleted; the ones whose deletion has finished are forgotten."""
        now = self.clock()
        for backup_id, (_, since) in list(self.deleting.items()):
            if now >= since + self.delete_delay:
                del self.deleting[backup_id]
        return [b for b, _ in self.deleting.values()]

    def name_taken(self, name: str) -> bool:
        return any(b.name == name for b in [*self.backups.values(), *self.disabled_backups()])

    def building_instances(self) -> set[str]:
        """Instances with a backup in progress; computed once per request, not once per instance."""
        return {b.instance_id for b in self.backups.values() if self.backup_status(b) == "BUILDING"}

    def instance_view(self, inst: dict[str, Any], building: set[str] | None = None) -> dict[str, Any]:
        view = copy.deepcopy(inst)
        if building is None:  # one instance: look at its own backups only (the id test comes first, cheaply)
            busy = any(
                b.instance_id == inst["id"] and self.backup_status(b) == "BUILDING" for b in self.backups.values()
            )
        else:
            busy = inst["id"] in building
        if busy and "BACKUP" not in view["actions"]:
            view["actions"].append("BACKUP")
        return view

    def backup_view(self, b: EmuBackup) -> dict[str, Any]:
        inst = self.instances.get(b.instance_id, {})
        status = "DISABLED" if b.id in self.deleting else self.backup_status(b)
        return {
            "id": b.id,
            "name": b.name,
            "instance_id": b.instance_id,
            "instance_name": b.instance_name,
            "datastore": inst.get("datastore", {"type": "DDS-Community", "version": "4.4"}),
            "type": b.type,
            "begin_time": _fmt(b.created),
            "end_time": "" if status == "BUILDING" else _fmt(b.created + self.backup_delay),
            "status": status,
            "size": 0 if status == "BUILDING" else 204800,
            "description": b.description,
        }

    def job_view(self, j: EmuJob) -> dict[str, Any]:
        status = self.job_status(j)
        return {
            "id": j.id,
            "name": j.name,
            "status": status,
            "created": _fmt(j.created, with_t=True),
            "ended": "" if status == "Running" else _fmt(j.created + self.backup_delay, with_t=True),
            "progress": "50%" if status == "Running" else "",
            "instance": {"id": j.instance_id, "name": j.instance_name},
            "fail_reason": "Backup failed: the emulator was told to fail this instance" if status == "Failed" else None,
        }

    # -- changes ----------------------------------------------------------------------------------------

    def add_backup(self, instance_id: str, name: str, description: str) -> tuple[EmuBackup, EmuJob]:
        inst = self.instances[instance_id]
        now = self.clock()
        fails = instance_id in self.failing_instances
        backup = EmuBackup(uuid.uuid4().hex + "br02", name, instance_id, inst["name"], description, now, fails=fails)
        job = EmuJob(str(uuid.uuid4()), "Create Manual Backup", instance_id, inst["name"], now, fails=fails)
        self.backups[backup.id] = backup
        self.jobs[job.id] = job
        return backup, job

    def seed_backup(
        self,
        instance_id: str,
        name: str,
        *,
        description: str = "",
        age_s: float = 0.0,
        type: str = "Manual",
        fails: bool = False,
    ) -> EmuBackup:
        """A backup that was already there: made by hand, by the automated policy (``type="Auto"``), or by an
        earlier run (then ``description`` carries its mark). The API lists it with its description as stored."""
        inst = self.instances.get(instance_id, {})
        created = self.clock() - age_s
        backup = EmuBackup(
            f"{name}-{uuid.uuid4().hex[:8]}", name, instance_id, inst.get("name", ""), description, created, type, fails
        )
        self.backups[backup.id] = backup
        return backup

    def add_job(self, name: str, instance_id: str, instance_name: str) -> EmuJob:
        job = EmuJob(str(uuid.uuid4()), name, instance_id, instance_name, self.clock())
        self.jobs[job.id] = job
        return job

    def issue_token(self) -> tuple[str, float]:
        token = "MIIemu" + uuid.uuid4().hex + uuid.uuid4().hex
        expires = self.clock() + self.token_ttl
        self.tokens[token] = expires
        return token, expires

    def token_valid(self, token: str) -> bool:
        expires = self.tokens.get(token)
        return expires is not None and self.clock() < expires

    def topic_view(self, urn: str) -> dict[str, Any]:
        """QueryTopicDetail's answer (SMN API reference, "Querying Details of a Topic")."""
        name = urn.rsplit(":", 1)[1]
        created = _fmt(self.topics[urn], with_t=True).replace("+0000", "Z")
        return {
            "request_id": uuid.uuid4().hex,
            "name": name,
            "topic_urn": urn,
            "display_name": name,
            "push_policy": 0,
            "create_time": created,
            "update_time": created,
            "enterprise_project_id": "0",
            "topic_id": uuid.uuid5(uuid.NAMESPACE_URL, urn).hex,
        }

    def smn_event(self, msg: Published) -> dict[str, Any]:
        """A published message as FunctionGraph's SMN trigger delivers it (platform sample's shape)."""
        return {
            "record": [
                {
                    "event_version": "1.0",
                    "smn": {
                        "topic_urn": msg.topic_urn,
                        "timestamp": datetime.fromtimestamp(msg.time, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "message_attributes": None,
                        "message": msg.message,
                        "type": "notification",
                        "message_id": msg.message_id,
                        "subject": msg.subject,
                    },
                    "event_subscription_urn": f"urn:fss:{self.region}:{self.project_id}:function:default:dds-backup",
                    "event_source": "smn",
                }
            ],
            "functionname": "dds-backup",
            "requestId": str(uuid.uuid4()),
        }

    def take_fault(self, method: str, path: str, body: bytes = b"", query: str = "") -> Fault | None:
        for fault in self.faults:
            if fault.body_contains is not None and fault.body_contains.encode() not in body:
                continue
            if fault.query_contains is not None and fault.query_contains not in query:
                continue
            if fault.count > 0 and fault.method in (method, "*") and re.search(fault.path, path):
                fault.count -= 1
                return fault
        return self.chaos.draw(method, path) if self.chaos is not None else None

    def throttled(self, tenant: str) -> bool:
        """Whether ``tenant`` is over its rate (a token bucket per tenant); a call that is not takes a token.
        Measured on time.monotonic(), not ``clock``: tests move ``clock`` to age backups, not to refill buckets."""
        if self.rate_limit is None:
            return False
        burst = self.rate_burst if self.rate_burst is not None else max(1.0, self.rate_limit)
        now = time.monotonic()
        tokens, stamp = self._buckets.get(tenant, (burst, now))
        tokens = min(burst, tokens + (now - stamp) * self.rate_limit)
        if tokens < 1.0:
            self._buckets[tenant] = (tokens, now)
            self.throttled_calls += 1
            return True
        self._buckets[tenant] = (tokens - 1.0, now)
        return False

    @staticmethod
    def token_expiry_text(ts: float) -> str:
        return (datetime.fromtimestamp(ts, tz=timezone.utc)).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def expire_all_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = self.clock() - timedelta(seconds=1).total_seconds()
