"""Backup histories to seed the emulator with: the demo fleet's last 30 days (what ``dds-backup report`` shows
against the embedded emulator) and a large synthetic fleet's (``dds-backup emulator --backups-per-instance``,
the report's benchmark).

Backups made by this tool carry its ownership mark in their description, as the function writes it; backups
made by hand carry none, and the automated policy's are of type ``Auto``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from dds_backup_dev.emulator.state import EmulatorState
from lib.planning import ownership

HOUR = 3600.0
DAY = 24 * HOUR
#: Who made a seeded backup: a source of the function, the automated policy ("auto") or a person ("hand").
MAKERS = ("timer", "webhook", "chat", "queue", "cloudevents", "direct", "auto", "hand")


#: The source each of the function's backups was made for (what its mark's scope digests).
SCOPES = {
    ownership.Maker.TIMER: "timer:nightly",
    ownership.Maker.WEBHOOK: "webhook:/backups",
    ownership.Maker.CHAT: "chat:slack:T0DEMO",
    ownership.Maker.QUEUE: "queue:dds-backup-requests",
    ownership.Maker.CLOUDEVENTS: "cloudevents:/demo/source",
    ownership.Maker.DIRECT: "direct",
}


@dataclass(frozen=True)
class Seeded:
    instance_id: str
    maker: str
    age_s: float
    fails: bool = False
    description: str = ""


def _stamp(state: EmulatorState, age_s: float) -> str:
    return datetime.fromtimestamp(state.clock() - age_s, tz=timezone.utc).strftime("%Y%m%dT%H%M%S")


def name_for(state: EmulatorState, item: Seeded) -> str:
    """A name as each maker would choose it: the function's template for its own, the policy's and a person's
    own styles for the others."""
    instance = state.instances[item.instance_id]["name"]
    when = _stamp(state, item.age_s)
    digest = hashlib.sha256(f"{item.instance_id}{item.maker}{item.age_s}".encode()).hexdigest()[:8]
    if item.maker == "auto":
        return f"{instance}-auto-{when}"
    if item.maker == "hand":
        return f"{instance}-manual-{when[:8]}-{digest[:4]}"
    return f"ddsb-{instance}-{when}-{digest}"


def description_for(item: Seeded, name: str) -> str:
    """The description the maker writes: the function's ends with its mark, for the source that asked."""
    if item.maker in ("auto", "hand"):
        return item.description
    maker = ownership.Maker(item.maker)
    scope = ownership.scope_digest(SCOPES[maker])
    digest = ownership.request_digest(
        instance_id=item.instance_id, name=None, description=item.description, retention=None
    )
    return ownership.Mark(maker, scope, digest).describe(item.description, name, item.instance_id)


def seed(state: EmulatorState, items: Sequence[Seeded]) -> None:
    for item in items:
        name = name_for(state, item)
        state.seed_backup(
            item.instance_id,
            name,
            description=description_for(item, name),
            age_s=item.age_s,
            type="Auto" if item.maker == "auto" else "Manual",
            fails=item.fails,
        )


# -- the demo fleet ------------------------------------------------------------------------------------------

ORDERS = "a89dab5e39394eccbdb77b19d57b0180in02"
BILLING = "c4b1e6a0f23d4f6e9a8b7c6d5e4f3a2bin02"
CATALOG = "5e8f7a6b5c4d4e3f2a1b0c9d8e7f6a5bin03"


def demo_history(state: EmulatorState) -> None:
    """30 days of the demo instances (their hour of day aside, ages are whole days back from now):

    - orders-prod: a nightly timer (one night failed), pre-deployment webhooks, the automated policy's last
      7 days: fresh;
    - billing-prod: a nightly timer whose last three nights failed, two chat backups: stale, with failures;
    - catalog-staging: made by hand and through a queue, the newest two days ago: stale;
    - legacy-frozen: nothing: never backed up.
    """
    items: list[Seeded] = []
    for day in range(30):
        items.append(Seeded(ORDERS, "timer", day * DAY + 2 * HOUR, fails=day == 6, description="nightly"))
        if day < 7:
            items.append(Seeded(ORDERS, "auto", day * DAY + 3 * HOUR))
        if day >= 3:
            items.append(Seeded(BILLING, "timer", day * DAY + 4 * HOUR, description="nightly"))
        else:
            items.append(Seeded(BILLING, "timer", day * DAY + 4 * HOUR, fails=True, description="nightly"))
    for day in (1, 5, 12, 19, 26):
        items.append(Seeded(ORDERS, "webhook", day * DAY + 9 * HOUR, description="pre-deployment backup"))
    for day in (8, 22):
        items.append(Seeded(BILLING, "chat", day * DAY + 14 * HOUR, description="before the schema change"))
    for day in (2, 9, 16, 29):
        items.append(Seeded(CATALOG, "hand", day * DAY + 11 * HOUR, description="before the import"))
    for day in (4, 18):
        items.append(Seeded(CATALOG, "queue", day * DAY + 6 * HOUR, description="catalog rebuild"))
    seed(state, items)


# -- a large synthetic fleet -----------------------------------------------------------------------------------


def synthetic_history(state: EmulatorState, instance_ids: Sequence[str], per_instance: int, days: int = 30) -> int:
    """``per_instance`` backups of each instance spread over the last ``days`` days, by a mix of makers, about
    one in thirty failed; every seventh instance's newest backup is two days old (stale at 24 hours). The same
    ids give the same history. Returns how many backups were seeded."""
    rng = random.Random(len(instance_ids) * 7919 + per_instance)  # noqa: S311 - reproducible test data
    weights = (60, 10, 5, 3, 2, 2, 12, 6)
    items = []
    for index, instance_id in enumerate(instance_ids):
        offset = 2 * DAY if index % 7 == 3 else rng.uniform(0, 6 * HOUR)
        step = (days * DAY - offset) / max(per_instance, 1)
        for n in range(per_instance):
            maker = rng.choices(MAKERS, weights)[0]
            items.append(Seeded(instance_id, maker, offset + n * step, fails=rng.random() < 1 / 30))
    seed(state, items)
    return len(items)
