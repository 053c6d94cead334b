"""Ownership (lib/planning/ownership.py, retention.ours): a backup is the tool's own only when its description ends
with the tool's mark, valid for the backup's own name and instance id, and its name has the template's shape.
Names alone never decide."""

from __future__ import annotations

import string
from datetime import datetime, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lib import rules
from lib.config import DEFAULT_NAME_TEMPLATE
from lib.dds.models import Backup
from lib.models import Retention, Trigger
from lib.planning import naming, ownership, retention

ORDERS = "a89dab5e39394eccbdb77b19d57b0180in02"
MARK = ownership.Mark(ownership.Maker.TIMER, ownership.scope_digest("timer:nightly"), "0123abcd")


def backup(name: str, description: str, instance_id: str = ORDERS, type_: str = "Manual") -> Backup:
    return Backup(id="b1", name=name, instance_id=instance_id, type=type_, description=description)


def test_the_mark_is_short_and_uses_only_characters_a_description_may_hold() -> None:
    text = MARK.text("ddsb-orders-prod-1a2b3c4d", ORDERS)
    assert len(text) == ownership.MARK_LEN <= 40
    assert rules.description_violations(text) == []
    assert ownership.MARK_LEN + 1 == rules.MARK_ROOM  # what the request model leaves to users


def test_a_description_keeps_the_users_words_and_ends_with_the_mark() -> None:
    name = "ddsb-orders-prod-1a2b3c4d"
    described = MARK.describe("before the upgrade", name, ORDERS)
    assert described == "before the upgrade " + MARK.text(name, ORDERS)
    assert MARK.describe(None, name, ORDERS) == MARK.describe("", name, ORDERS) == MARK.text(name, ORDERS)
    assert ownership.read(described, name, ORDERS) == MARK
    assert ownership.user_description(described, name, ORDERS) == "before the upgrade"
    assert ownership.user_description(MARK.text(name, ORDERS), name, ORDERS) == ""
    assert ownership.user_description("by hand", name, ORDERS) == "by hand"


def test_the_longest_user_description_and_the_mark_fit_the_api() -> None:
    described = MARK.describe("d" * ownership.DESCRIPTION_MAX, "ddsb-x-1a2b3c4d", ORDERS)
    assert len(described) == rules.DESCRIPTION_MAX
    assert rules.description_violations(described) == []


@pytest.mark.parametrize(
    ("name", "instance_id"),
    [("ddsb-orders-prod-1a2b3c4e", ORDERS), ("ddsb-orders-prod-1a2b3c4d", "c4b1e6a0f23d4f6e9a8b7c6d5e4f3a2bin02")],
)
def test_a_mark_holds_only_for_the_backup_it_was_written_on(name: str, instance_id: str) -> None:
    # GIVEN the mark written on one backup WHEN copied to another name or instance THEN it does not hold
    described = MARK.describe("x", "ddsb-orders-prod-1a2b3c4d", ORDERS)
    assert ownership.read(described, name, instance_id) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda m: m[:-1] + ("0" if m[-1] != "0" else "1"),  # the check
        lambda m: m.replace("#ddsb1.t.", "#ddsb1.w."),  # another maker
        lambda m: m.replace("#ddsb1.", "#ddsb2."),  # another version
        lambda m: m.upper(),
        lambda m: m[1:],
        lambda m: "x" + m,  # glued to a word: not the last word
        lambda m: m + " ",  # not at the end
        lambda m: m.replace("#ddsb1.t.", "#ddsb1.z."),  # no such maker
    ],
)
def test_a_changed_mark_does_not_hold(mangle: object) -> None:
    name = "ddsb-orders-prod-1a2b3c4d"
    text = mangle(MARK.text(name, ORDERS))  # type: ignore[operator]
    assert ownership.read(text, name, ORDERS) is None
    assert ownership.read("release notes " + text, name, ORDERS) is None


def test_every_trigger_has_a_maker() -> None:
    assert {ownership.maker_of(t) for t in Trigger} == set(ownership.Maker)


def test_the_request_digest_covers_what_shapes_the_backup() -> None:
    base = {"instance_id": ORDERS, "name": None, "description": "a", "retention": None}
    digest = ownership.request_digest(**base)  # type: ignore[arg-type]
    assert ownership.request_digest(**base) == digest  # type: ignore[arg-type]
    for change in (
        {"instance_id": "other"},
        {"name": "release-42"},
        {"description": "b"},
        {"retention": Retention(keep_last=3)},
    ):
        assert ownership.request_digest(**{**base, **change}) != digest  # type: ignore[arg-type]
    assert ownership.request_digest(**{**base, "description": None}) == ownership.request_digest(  # type: ignore[arg-type]
        **{**base, "description": ""}  # type: ignore[arg-type]
    )


# A mark must never change between versions: a backup made before an upgrade would stop being the tool's own
# (and a redelivery of its request would be refused as another request). Pinned character for character.
def test_marks_are_pinned() -> None:
    assert ownership.scope_digest("timer:nightly") == "85e2c98b"
    assert ownership.scope_digest("smn:\ud800") == "8d0040de"  # a lone surrogate is the sender's too
    assert ownership.request_digest(instance_id=ORDERS, name=None, description=None, retention=None) == "934fb81f"
    assert (
        ownership.request_digest(
            instance_id=ORDERS,
            name="release-42",
            description="before the upgrade",
            retention=Retention(keep_last=3, max_age_days=30),
        )
        == "90db5aa8"
    )
    mark = ownership.Mark(ownership.Maker.CHAT, ownership.scope_digest("slack:T1"), "aaaabbbb")
    assert mark.text("ddsb-orders-prod-1a2b3c4d", ORDERS) == "#ddsb1.c.d751160c.aaaabbbb.58ebc98c07"


# -- the property: for any template check_template accepts, rendered + marked is ours; a character away is not ---

_LITERAL = st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=6)
_PLACEHOLDER = st.sampled_from(sorted(naming.PLACEHOLDERS - {"hash"}))


@st.composite
def templates(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(string.ascii_letters)) + draw(_LITERAL)
    parts = draw(st.lists(st.tuples(_PLACEHOLDER, _LITERAL), max_size=3))
    hash_at = draw(st.integers(0, len(parts)))
    parts.insert(hash_at, ("hash", draw(_LITERAL)))
    template = head + "".join("{" + p + "}" + lit for p, lit in parts)
    try:
        naming.check_template(template)
    except ValueError:
        assume(False)
    return template


def _marked(template: str, instance_name: str, identity: str, event_time: datetime | None) -> Backup:
    name = naming.render(
        template,
        instance_id=ORDERS,
        instance_name=instance_name or None,
        trigger="timer",
        event_time=event_time,
        identity=identity,
    )
    return backup(name, MARK.describe("nightly", name, ORDERS))


_TIMES = st.one_of(st.none(), st.datetimes(min_value=datetime(1970, 1, 2), timezones=st.just(timezone.utc)))


@given(template=templates(), instance_name=st.text(max_size=70), identity=st.text(max_size=20), when=_TIMES)
def test_every_rendered_and_marked_name_is_ours_for_its_instance(
    template: str, instance_name: str, identity: str, when: datetime | None
) -> None:
    ours = _marked(template, instance_name, identity, when)
    assert retention.ours(ours, template) == MARK
    assert retention.made_for(ours, MARK.scope, template)
    assert not retention.made_for(ours, ownership.scope_digest("timer:other"), template)
    # without the mark, or on another instance, or made by the automated policy: not ours
    assert retention.ours(ours.model_copy(update={"description": "nightly"}), template) is None
    assert retention.ours(ours.model_copy(update={"instance_id": "x" + ORDERS}), template) is None
    assert retention.ours(ours.model_copy(update={"type": "Auto"}), template) is None


@given(
    template=templates(),
    instance_name=st.text(max_size=70),
    when=_TIMES,
    at=st.integers(min_value=0),
    edit=st.sampled_from(["replace", "insert-separator", "delete", "double-separator"]),
    char=st.sampled_from(string.ascii_letters + string.digits + "-_"),
)
def test_a_name_one_character_or_separator_away_is_not_ours(
    template: str, instance_name: str, when: datetime | None, at: int, edit: str, char: str
) -> None:
    ours = _marked(template, instance_name, "smn:m1", when)
    name = ours.name
    i = at % len(name)
    if edit == "replace":
        assume(name[i] != char)
        other = name[:i] + char + name[i + 1 :]
    elif edit == "insert-separator":
        other = name[:i] + ("-" if char not in "-_" else char) + name[i:]
    elif edit == "delete":
        other = name[:i] + name[i + 1 :]
    else:
        j = name.find("-") if "-" in name else name.find("_")
        assume(j >= 0)
        other = name[:j] + name[j] + name[j:]
    # The description still carries the mark of the original name: it does not hold for the changed one.
    assert retention.ours(ours.model_copy(update={"name": other}), template) is None


# -- hand-made look-alikes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ddsbackup-before-upgrade-20250101",
        "ddsb_keep_forever_cafebabe",
        "ddsbQ3-final-20241231",
        "ddsb-orders-prod-20261127T000000-1a2b3c4d",  # exactly our format, but typed by a person
    ],
)
def test_a_look_alike_without_the_mark_is_not_ours(name: str) -> None:
    assert retention.ours(backup(name, "made by hand"), DEFAULT_NAME_TEMPLATE) is None
    assert retention.ours(backup(name, ""), DEFAULT_NAME_TEMPLATE) is None


def test_a_valid_mark_on_a_name_of_another_shape_is_not_for_retention() -> None:
    # GIVEN a backup the tool made under an explicit name (marked, but not a template name)
    marked = backup("release-42", MARK.describe(None, "release-42", ORDERS))
    assert ownership.read(marked.description, marked.name, ORDERS) == MARK
    # THEN retention never counts it
    assert retention.ours(marked, DEFAULT_NAME_TEMPLATE) is None
