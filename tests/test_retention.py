"""Retention as a pure function (lib/planning/retention.py): which of our backups may go, rule by rule.

Each "never deleted" rule is tested on its own: a policy that would delete everything, and one backup that only
that rule protects. "Ours" are the backups marked for this source (``SCOPE``): see tests/test_ownership.py for the
mark itself."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lib.config import DEFAULT_NAME_TEMPLATE
from lib.dds.models import Backup
from lib.models import Retention
from lib.planning import ownership, retention

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)
ORDERS = "a89dab5e39394eccbdb77b19d57b0180in02"
SCOPE = ownership.scope_digest("timer:nightly")


def backup(
    n: int,
    *,
    days_old: float,
    status: str = "COMPLETED",
    type_: str = "Manual",
    name: str | None = None,
    scope: str | None = SCOPE,
) -> Backup:
    """Backup ``b<n>``: the tool's, marked for ``scope`` (None: not marked, as one made by hand)."""
    begin = (NOW - timedelta(days=days_old)).strftime("%Y-%m-%d %H:%M:%S")
    name = name or f"ddsb-orders-prod-20261101T0000{n:02d}-{n:08x}"
    mark = ownership.Mark(ownership.Maker.TIMER, scope, "0123abcd") if scope is not None else None
    return Backup(
        id=f"b{n}",
        name=name,
        instance_id=ORDERS,
        type=type_,
        status=status,
        begin_time=begin,
        description=mark.describe("nightly", name, ORDERS) if mark is not None else "nightly",
    )


def select(
    backups: list[Backup], keep_last: int | None = None, max_age_days: int | None = None, keep_id: str | None = None
) -> list[str]:
    policy = Retention(keep_last=keep_last, max_age_days=max_age_days)
    chosen = retention.select(backups, policy, template=DEFAULT_NAME_TEMPLATE, scope=SCOPE, keep_id=keep_id, now=NOW)
    return [b.id for b in chosen]


def test_keep_last_keeps_exactly_the_newest_n_completed_backups() -> None:
    fleet = [backup(i, days_old=i) for i in range(1, 6)]  # b1 newest ... b5 oldest
    assert select(fleet, keep_last=3) == ["b4", "b5"]
    assert select(fleet, keep_last=4) == ["b5"]
    assert select(fleet, keep_last=5) == []


def test_max_age_deletes_strictly_older_backups() -> None:
    fleet = [backup(1, days_old=0), backup(2, days_old=7), backup(3, days_old=7.01)]
    assert select(fleet, max_age_days=7) == ["b3"]  # exactly 7 days old stays


def test_both_rules_delete_what_either_selects() -> None:
    fleet = [backup(1, days_old=1), backup(2, days_old=2), backup(3, days_old=40)]
    assert sorted(select(fleet, keep_last=2, max_age_days=30)) == ["b3"]
    assert sorted(select(fleet, keep_last=1, max_age_days=30)) == ["b2", "b3"]


def test_the_backup_just_made_is_never_deleted() -> None:
    fleet = [backup(1, days_old=1), backup(2, days_old=50)]
    assert select(fleet, max_age_days=1, keep_id="b2") == []


def test_the_instances_newest_completed_backup_is_never_deleted() -> None:
    # GIVEN only old backups, all ours WHEN every one is older than the limit THEN the newest stays
    ours = [backup(1, days_old=90), backup(2, days_old=100)]
    assert select(ours, max_age_days=30) == ["b2"]


def test_our_newest_completed_backup_is_never_deleted_even_when_someone_elses_is_newer() -> None:
    # GIVEN a newer completed backup that is not ours (automatic, or made by hand)
    for other in (backup(9, days_old=1, type_="Auto", name="auto-backup"), backup(9, days_old=1, name="by-hand")):
        ours = [backup(1, days_old=90), backup(2, days_old=100)]
        # THEN our newest completed one still stays: a restore should never depend on another tool alone
        assert select([other, *ours], max_age_days=30) == ["b2"]


def test_our_newest_completed_backup_is_kept_even_behind_a_newer_failed_one_of_ours() -> None:
    fleet = [backup(1, days_old=40, status="FAILED"), backup(2, days_old=50)]
    assert select(fleet, max_age_days=30) == ["b1"]


@pytest.mark.parametrize("status", ["BUILDING", "DISABLED", "SOMETHING_NEW"])
def test_only_completed_and_failed_backups_are_candidates(status: str) -> None:
    fleet = [backup(1, days_old=1), backup(2, days_old=60, status=status), backup(3, days_old=70, status="FAILED")]
    assert select(fleet, max_age_days=30) == ["b3"]


def test_failed_backups_do_not_count_towards_keep_last() -> None:
    fleet = [backup(1, days_old=1, status="FAILED"), backup(2, days_old=2), backup(3, days_old=3)]
    assert select(fleet, keep_last=2) == []  # b2, b3 are the two kept; b1 failed but is not beyond keep_last
    assert select(fleet, keep_last=1) == ["b3"]


def test_backups_not_made_by_this_tool_are_never_deleted() -> None:
    fleet = [
        backup(1, days_old=1),
        backup(2, days_old=60, name="nightly-by-hand"),
        backup(3, days_old=60, name="ddsb-orders-prod-not-a-hash"),
        backup(4, days_old=60, type_="Auto"),  # our name pattern, but an automated backup
    ]
    assert select(fleet, max_age_days=30) == []


@pytest.mark.parametrize(
    "name",
    [
        "ddsbackup-before-upgrade-20250101",
        "ddsb_keep_forever_cafebabe",
        "ddsbQ3-final-20241231",
        "ddsb-orders-prod-20261101T000009-00000009",  # named exactly like ours
    ],
)
def test_a_look_alike_without_the_mark_survives_keep_last_1(name: str) -> None:
    # GIVEN our newest backup and an older hand-made look-alike WHEN keep_last is 1 THEN the look-alike stays
    fleet = [backup(1, days_old=1), backup(2, days_old=2), backup(9, days_old=60, name=name, scope=None)]
    assert select(fleet, keep_last=1) == ["b2"]


def test_a_mark_copied_onto_another_backup_does_not_make_it_ours() -> None:
    theirs = backup(9, days_old=60, name="ddsb-orders-prod-20261101T000009-00000009", scope=None)
    stolen = theirs.model_copy(update={"description": backup(2, days_old=2).description})
    assert select([backup(1, days_old=1), stolen], keep_last=1) == []


def test_only_the_sources_own_backups_count_and_go() -> None:
    # GIVEN three newer backups made for another source (a webhook) and two older ones of this timer
    webhook = ownership.scope_digest("webhook:/backups")
    fleet = [backup(n, days_old=n, scope=webhook) for n in (1, 2, 3)] + [backup(4, days_old=4), backup(5, days_old=5)]
    # WHEN the timer keeps its last 2 THEN nothing of either goes: the webhook's backups do not push it out
    assert select(fleet, keep_last=2) == []
    assert select(fleet, keep_last=1) == ["b5"]
    assert select(fleet, max_age_days=1) == ["b5"]


def test_unreadable_begin_times_sort_as_the_oldest() -> None:
    odd = backup(7, days_old=0).model_copy(update={"begin_time": ""})
    fleet = [backup(1, days_old=1), backup(2, days_old=2), odd]
    assert select(fleet, keep_last=2) == ["b7"]
