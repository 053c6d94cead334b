"""Deterministic names: same event and instance, same name; always valid for the API, even truncated."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib import rules
from lib.config import DEFAULT_NAME_TEMPLATE
from lib.models import Trigger
from lib.planning import naming

T = datetime(2026, 11, 27, 1, 0, tzinfo=timezone(timedelta(hours=1)))


@pytest.fixture(autouse=True)
def _no_cached_patterns() -> None:
    """Each test compiles the patterns it checks: a pattern cached by an earlier test would be checked instead
    of the code (mutation testing changes the code under a running process)."""
    naming._SHAPE_CACHE.clear()


def render(**kw: object) -> str:
    args: dict[str, object] = {
        "instance_id": "a89dab5e39394eccbdb77b19d57b0180in02",
        "instance_name": "orders-prod",
        "trigger": "timer",
        "event_time": T,
        "identity": "timer:nightly:2026-11-27T01:00:00+01:00",
    }
    args.update(kw)
    template = str(args.pop("template", DEFAULT_NAME_TEMPLATE))
    return naming.render(template, **args)  # type: ignore[arg-type]


def test_default_name_is_readable_and_in_utc() -> None:
    name = render()
    assert name.startswith("ddsb-orders-prod-20261127T000000-")
    assert len(name.rsplit("-", 1)[1]) == naming.HASH_LEN


def test_same_inputs_same_name_and_each_input_matters() -> None:
    base = render()
    assert render() == base
    assert render(identity="timer:nightly:2026-11-28T01:00:00+01:00") != base
    assert render(instance_id="c4b1e6a0f23d4f6e9a8b7c6d5e4f3a2bin02") != base
    # The time is rendered in UTC: the same instant in another offset is the same name.
    assert render(event_time=T.astimezone(timezone.utc)) == base


def test_keyed_names_do_not_depend_on_time() -> None:
    # GIVEN an idempotency_key (no event time) WHEN rendered THEN no empty time part, and only key+instance count
    name = render(event_time=None, identity="key:deploy-4711")
    assert name == "ddsb-orders-prod-" + naming.event_hash("key:deploy-4711", "a89dab5e39394eccbdb77b19d57b0180in02")
    assert render(event_time=None, identity="key:deploy-4711", template="b_{date}_{hash}").startswith("b_")


def test_a_timer_request_with_a_key_is_the_same_backup_on_every_firing() -> None:
    from lib.models import BackupOrder as Item
    from lib.models import BackupRequest, Trigger

    request = BackupRequest(instance_id="x1", idempotency_key="k")
    one = Item(Trigger.TIMER, "timer:t:1", "c", T, request, scope="timer:t").with_request_identity()
    two = Item(Trigger.TIMER, "timer:t:2", "c", T + timedelta(days=1), request, scope="timer:t").with_request_identity()
    assert (one.identity, one.event_time) == (two.identity, two.event_time) == ("key:timer:t:k", None)


@given(
    instance_name=st.text(max_size=200),
    instance_id=st.text(st.characters(codec="ascii"), min_size=1, max_size=80),
    trigger=st.sampled_from(["timer", "smn", "direct", "apig"]),
    identity=st.text(max_size=300),
    event_time=st.one_of(st.none(), st.datetimes(timezones=st.just(timezone.utc))),
    template=st.sampled_from(
        [
            DEFAULT_NAME_TEMPLATE,
            "b{hash}",
            "backup_{instance_id}_{trigger}_{date}_{hash}",
            "x-{instance}-{instance}-{instance_id}-{time}-{hash}",
            "a" * 56 + "{hash}",
        ]
    ),
)
def test_every_rendered_name_obeys_the_api_rule(
    instance_name: str, instance_id: str, trigger: str, identity: str, event_time: datetime | None, template: str
) -> None:
    name = naming.render(
        template,
        instance_id=instance_id,
        instance_name=instance_name or None,
        trigger=trigger,
        event_time=event_time,
        identity=identity,
    )
    assert rules.name_violations(name) == []
    assert name.endswith(naming.event_hash(identity, instance_id))  # every template here ends with it


def test_truncation_keeps_the_hash_and_cuts_the_instance_name() -> None:
    name = render(instance_name="a-very-long-instance-name-" * 4)
    assert len(name) == rules.NAME_MAX
    assert name.startswith("ddsb-a-very-long")
    assert name.endswith(
        naming.event_hash("timer:nightly:2026-11-27T01:00:00+01:00", "a89dab5e39394eccbdb77b19d57b0180in02")
    )


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("ddsb-{instance}", "must contain {hash}"),
        ("ddsb-{owner}-{hash}", "unknown placeholder"),
        ("{instance}-{hash}", "must start with a letter"),
        ("dds b-{hash}", "literal text"),
        ("ddsb-{hash", "not a valid template"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(template: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        naming.check_template(template)


@given(
    instance_name=st.text(min_size=1, max_size=100),
    first=st.text(max_size=100),
    second=st.text(max_size=100),
)
def test_different_event_identities_give_different_names(instance_name: str, first: str, second: str) -> None:
    one = render(instance_name=instance_name, identity=first)
    assert len(one) <= rules.NAME_MAX
    assert render(instance_name=instance_name, identity=first) == one
    if first != second:
        assert render(instance_name=instance_name, identity=second) != one


# -- the template's shape: what retention and reserved names compare a name with ---------------------------------

SHAPED_TEMPLATES = [
    DEFAULT_NAME_TEMPLATE,
    "dds{hash}",
    "bk_{instance_id}_{trigger}_{date}_{hash}",
    "nightly-{time}-{hash}",
]


@given(
    template=st.sampled_from(SHAPED_TEMPLATES),
    instance_name=st.text(max_size=80),
    identity=st.text(max_size=50),
    # Platform event times; strftime writes years before 1000 with fewer than 4 digits.
    event_time=st.one_of(st.none(), st.datetimes(min_value=datetime(1970, 1, 2), timezones=st.just(timezone.utc))),
)
def test_every_name_a_template_renders_has_its_shape(
    template: str, instance_name: str, identity: str, event_time: datetime | None
) -> None:
    name = naming.render(
        template,
        instance_id="a89dab5e39394eccbdb77b19d57b0180in02",
        instance_name=instance_name or None,
        trigger="timer",
        event_time=event_time,
        identity=identity,
    )
    assert naming.shape(template).matches(name), name


@pytest.mark.parametrize(
    ("name", "shaped"),
    [
        ("ddsb-orders-prod-20261127T000000-1a2b3c4d", True),
        ("ddsb-orders-prod-1a2b3c4d", True),  # no time: the separators around it collapsed
        ("ddsb-orders-prod--1a2b3c4d", False),  # a free part never ends in a separator (nor starts)
        ("ddsb-1a2b3c4d", False),  # the instance part is never empty
        ("ddsb-orders-prod-20261127T000000-1a2b3c4", False),  # 7 hex digits
        ("ddsb-orders-prod-20261127T000000-1A2B3C4D", False),  # upper-case hex
        ("ddsb-orders-prod-20261127T000000-1a2b3c4g", False),
        ("ddsb-orders-prod-20261327T000000-1a2b3c4d", True),  # month 13 is no time: then it is instance text
        ("ddsb-orders.prod-20261127T000000-1a2b3c4d", False),
        ("xddsb-orders-prod-20261127T000000-1a2b3c4d", False),
        ("dds-orders-prod-20261127T000000-1a2b3c4d", False),
        ("DDSB-orders-prod-20261127T000000-1a2b3c4d", False),
        ("nightly-orders-prod", False),
        # hand-made names that a loose pattern took for ours
        ("ddsbackup-before-upgrade-20250101", False),
        ("ddsb_keep_forever_cafebabe", False),
        ("ddsbQ3-final-20241231", False),
        ("ddsb--orders-cafebabe", False),
    ],
)
def test_only_names_the_default_template_can_render_have_its_shape(name: str, shaped: bool) -> None:
    assert naming.shape(DEFAULT_NAME_TEMPLATE).matches(name) is shaped


@pytest.mark.parametrize(
    ("template", "name", "shaped"),
    [
        ("bk_{date}_{hash}", "bk_20261127_1a2b3c4d", True),
        ("bk_{date}_{hash}", "bk_2026112_1a2b3c4d", False),  # a date is 8 digits
        ("bk_{date}_{hash}", "bk_20261131_1a2b3c4d", False),  # and a real one
        ("bk_{date}_{hash}", "bk_1a2b3c4d", True),  # no time: no date
        ("bk_{time}_{hash}", "bk_20261127T010203_1a2b3c4d", True),
        ("bk_{time}_{hash}", "bk_20261127T250203_1a2b3c4d", False),  # hour 25
        ("bk_{time}_{hash}", "bk_20261127-010203_1a2b3c4d", False),
        ("bk_{time}_{hash}", "bk_20261127_1a2b3c4d", False),  # a date is no time
        ("bk_{time}_{date}_{hash}", "bk_20261127T010203_20261127_1a2b3c4d", True),
        ("bk_{time}_{date}_{hash}", "bk_20261127T010203_20261199_1a2b3c4d", False),  # every stamp is checked
        ("bk_{instance_id}_{hash}", "bk_a89d-ab_1a2b3c4d", True),
        ("bk_{trigger}_{hash}", "bk_smn_1a2b3c4d", True),
        ("bk_{trigger}_{hash}", "bk_s.n_1a2b3c4d", False),
        ("bk-{hash}-end", "bk-1a2b3c4d-end", True),  # literal text after the last placeholder
        ("bk-{hash}-end", "bk-1a2b3c4d", False),
        ("bk-{hash}", "bk1a2b3c4d", False),  # a literal separator never disappears
        ("bk-{hash}", "bk--1a2b3c4d", False),  # nor doubles
        ("Xbk-{hash}", "bk-1a2b3c4d", False),
        ("Xbk-{hash}", "XXbk-1a2b3c4d", False),
        ("ddsb-{time}-{instance}-{hash}", "ddsb-orders-1a2b3c4d", True),  # no time: collapsed as rendered
        ("ddsb-{time}-{instance}-{hash}", "ddsb--orders-1a2b3c4d", False),
    ],
)
def test_each_placeholder_matches_only_what_it_renders(template: str, name: str, shaped: bool) -> None:
    assert naming.shape(template).matches(name) is shaped


@pytest.mark.parametrize(
    ("name", "reserved"),
    [
        ("ddsb-orders-prod-20261127T000000-1a2b3c4d", True),
        ("ddsb-mydb-1a2b3c4d", True),
        ("release-42", False),
        ("ddsbackup-before-upgrade-20250101", False),
        ("ddsb-orders-prod-final", False),
    ],
)
def test_a_name_the_template_could_render_is_reserved(name: str, reserved: bool) -> None:
    assert naming.reserved(DEFAULT_NAME_TEMPLATE, name) is reserved


def test_a_template_whose_fixed_parts_cannot_fit_a_name_is_refused() -> None:
    # GIVEN 57 literal characters and the 8 of the hash (65 > 64) WHEN checked THEN refused, naming the count
    with pytest.raises(ValueError, match=r"^is too long: its fixed parts need 65 characters"):
        naming.check_template("a" * 57 + "{hash}")
    naming.check_template("a" * 56 + "{hash}")  # 64 fits
    naming.check_template("a" * 55 + "{hash}z")  # literal text after the last placeholder counts as it is
    with pytest.raises(ValueError, match="need 65 characters"):
        naming.check_template("a" * 56 + "{hash}z")
    # the time, the date and the longest trigger count at their full width, free parts at one character
    longest_trigger = max(len(t.value) for t in Trigger)
    fixed = 15 + 8 + longest_trigger + 1 + 1 + 8
    with pytest.raises(ValueError, match="need 65 characters"):
        naming.check_template("a" * (65 - fixed) + "{time}{date}{trigger}{instance}{instance_id}{hash}")
    naming.check_template("a" * (64 - fixed) + "{time}{date}{trigger}{instance}{instance_id}{hash}")


# -- names pinned character for character ----------------------------------------------------------------------

# A name is the idempotency key of a backup: if a name changed between versions, an event redelivered after an
# upgrade would make a second backup. These are pinned, including every kind of shortening and collapse.
ORDERS_ID = "a89dab5e39394eccbdb77b19d57b0180in02"
PINNED = [
    # (template, instance name, instance id, timed, the name)
    (
        "ddsb-{instance}-{time}-{hash}",
        "orders prod.eu",
        ORDERS_ID,
        True,
        "ddsb-orders-prod-eu-20261127T000000-2e9da437",
    ),
    # too long: the instance name is cut (the hash and the time survive)
    (
        "ddsb-{instance}-{time}-{hash}",
        "orders-prod-" * 6,
        ORDERS_ID,
        True,
        "ddsb-orders-prod-orders-prod-orders-pro-20261127T000000-2e9da437",
    ),
    # a cut that ends in a separator loses it
    (
        "ddsb-{instance}-{time}-{hash}",
        "o" * 32 + "X-" + "p" * 28,
        ORDERS_ID,
        True,
        "ddsb-" + "o" * 32 + "X-20261127T000000-2e9da437",
    ),
    # a name with no letter or digit: the instance id stands in (shortened like a name)
    (
        "ddsb-{instance}-{time}-{hash}",
        "_" * 80,
        ORDERS_ID,
        True,
        "ddsb-a89dab5e39394eccbdb77b19d57b0180in-20261127T000000-2e9da437",
    ),
    # the instance name first, then the instance id
    ("ddsb-{instance}-{instance_id}-{hash}", "n" * 40, ORDERS_ID, False, "ddsb-" + "n" * 13 + f"-{ORDERS_ID}-2e9da437"),
    ("ddsb-{instance}-{instance_id}-{hash}", "n" * 10, "i" * 64, False, "ddsb-n-" + "i" * 48 + "-d2311e56"),
    # unsafe characters become '-'; the date is the event's, in UTC; a keyed name has none (separators collapse)
    (
        "bk_{instance_id}_{trigger}_{date}_{hash}",
        None,
        "db.id/" + ORDERS_ID,
        True,
        "bk_db-id-a89dab5e39394eccbdb77b19d57b0180_sm-n_20261127_ec929359",
    ),
    (
        "bk_{instance_id}_{trigger}_{date}_{hash}",
        None,
        "db.id/" + ORDERS_ID,
        False,
        f"bk_db-id-{ORDERS_ID}_sm-n_ec929359",
    ),
    ("bk-{date}_{hash}", "x", ORDERS_ID, False, "bk-2e9da437"),
    ("Xk-{hash}-{date}", "x", ORDERS_ID, False, "Xk-2e9da437"),
    # exactly 64 stays (longer fixed parts are refused by check_template)
    ("a" * 56 + "{hash}", "x", ORDERS_ID, True, "a" * 56 + "2e9da437"),
    ("a" * 55 + "{instance}{hash}", "xyz", ORDERS_ID, True, "a" * 55 + "x2e9da437"),
    # separators at the ends of a free part go (they would run into the template's own); one over the limit
    # shortens the instance, not the time
    ("ddsb-{instance}-{hash}", "o" * 49 + "-", ORDERS_ID, True, "ddsb-" + "o" * 49 + "-2e9da437"),
    ("ddsb-{instance}-{hash}", "-_o-", ORDERS_ID, True, "ddsb-o-2e9da437"),
    ("ddsb-{instance}-{time}-{hash}", "o" * 35, ORDERS_ID, True, "ddsb-" + "o" * 34 + "-20261127T000000-2e9da437"),
    # keyed and shortened: the separators around the empty time still collapse
    ("ddsb-{time}-{instance}-{hash}", "o" * 60, ORDERS_ID, False, "ddsb-" + "o" * 50 + "-2e9da437"),
    # an instance without a name is named by its id; an id of separators alone by "i"
    ("ddsb-{instance}-{hash}", None, ORDERS_ID, True, f"ddsb-{ORDERS_ID}-2e9da437"),
    ("ddsb-{instance}-{hash}", "Xorders-X", ORDERS_ID, True, "ddsb-Xorders-X-2e9da437"),
    ("ddsb-{instance}-{instance_id}-{hash}", None, "__", True, "ddsb-i-i-737ba0cb"),
]


@pytest.mark.parametrize(("template", "instance_name", "instance_id", "timed", "name"), PINNED)
def test_names_are_pinned(template: str, instance_name: str | None, instance_id: str, timed: bool, name: str) -> None:
    rendered = naming.render(
        template,
        instance_id=instance_id,
        instance_name=instance_name,
        trigger="sm n",
        event_time=T if timed else None,
        identity="smn:m1",
    )
    assert rendered == name


def test_a_trigger_of_no_name_characters_renders_as_t() -> None:
    for trigger in ("", "-_", "  "):
        assert render(template="ddsb-{trigger}-{hash}", trigger=trigger).startswith("ddsb-t-")


def test_no_name_longer_than_the_api_allows_has_the_templates_shape() -> None:
    template = "ddsb-{instance}-{hash}"
    longest = "ddsb-" + "o" * 50 + "-2e9da437"
    assert len(longest) == rules.NAME_MAX and naming.shape(template).matches(longest)
    assert not naming.shape(template).matches("ddsb-" + "o" * 51 + "-2e9da437")


@pytest.mark.usefixtures("east_of_utc")  # T is 2026-11-27 09:00 there
def test_the_name_does_not_depend_on_the_machines_zone() -> None:
    assert render().startswith("ddsb-orders-prod-20261127T000000-")


@pytest.mark.parametrize(
    "template", [DEFAULT_NAME_TEMPLATE, "b{hash}", "d-{hash}", "x1_{date}_{hash}", "Z{instance}{hash}"]
)
def test_good_templates_are_accepted(template: str) -> None:
    naming.check_template(template)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("ddsb-{instance}", "must contain {hash}: it keeps names of different events apart"),
        ("dds b-{hash}", "literal text may contain only letters, digits, '-' and '_'"),
        ("1ddsb-{hash}", "must start with a letter (the API requires names to), e.g. 'ddsb-{instance}-{hash}'"),
        ("éddsb{hash}", "literal text may contain only letters, digits, '-' and '_'"),
    ],
)
def test_bad_templates_are_refused_in_these_words(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        naming.check_template(template)
