"""The backup request: exactly one target, no unknown fields, readable errors."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from lib.codes import ErrorCode
from lib.models import (
    AuditReport,
    BackupOrder,
    BackupRequest,
    BackupSeen,
    ErrorInfo,
    FieldError,
    FollowUp,
    HandOn,
    InvocationResult,
    Origin,
    Outcome,
    ResultData,
    ResultEvent,
    Summary,
    Trigger,
    Watch,
    describe_field_errors,
    field_errors,
    internal_error,
    rejected,
    validate_hand_on,
    validate_request,
)


def errors_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        BackupRequest.model_validate(data)
    return describe_field_errors(field_errors(caught.value))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "exactly one of instance_id, instance_ids, selector is required (got none)"),
        ({"instance_id": "a", "selector": {"name": "x"}}, "(got instance_id, selector)"),
        ({"instance_ids": []}, "instance_ids"),
        ({"instance_ids": ["a", "a"]}, "duplicates"),
        ({"instance_id": "a/../b"}, "instance_id: must be 1-64 characters"),
        ({"instance_id": "a", "nmae": "typo"}, "nmae: unknown field"),
        ({"instance_ids": ["a", "b"], "name": "abcd"}, "explicit name needs a single instance_id"),
        ({"selector": {}}, "needs at least one of name, tags, mode"),
        ({"selector": {"name": "*"}}, "use all: true"),
        ({"selector": {"all": True, "mode": "Single"}}, "cannot be combined"),
        ({"selector": {"mode": "Cluster"}}, "selector.mode"),
        ({"selector": {"tags": {"a=b": "c"}}}, "must not contain"),
        ({"instance_id": "a", "wait": "perhaps"}, "wait"),
        ({"instance_id": "a", "idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_invalid_requests_name_the_field_and_rule(data: dict[str, Any], fragment: str) -> None:
    assert fragment in errors_of(data)


def test_input_values_are_not_echoed_in_errors() -> None:
    assert "s3cr3t-looking-value" not in errors_of({"instance_id": "a", "token": "s3cr3t-looking-value"})


@pytest.mark.parametrize(
    "data",
    [
        {"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02"},
        {"instance_ids": ["a", "b"], "description": "x", "wait": True, "dry_run": True, "idempotency_key": "k"},
        {"selector": {"name": "*prod", "tags": {"env": "prod"}, "mode": "ReplicaSet"}},
        {"selector": {"all": True}},
        {"instance_id": "a", "name": "Nightly_1"},
    ],
)
def test_valid_requests(data: dict[str, Any]) -> None:
    assert BackupRequest.model_validate(data).model_dump(exclude_defaults=True) == data


def test_instance_ids_are_limited_with_a_message_that_says_what_to_do() -> None:
    ok = BackupRequest(instance_ids=[f"{i:032x}in02" for i in range(1000)])
    assert ok.instance_ids is not None and len(ok.instance_ids) == 1000
    with pytest.raises(ValidationError) as caught:
        BackupRequest(instance_ids=[f"{i:032x}in02" for i in range(1001)])
    assert "instance_ids holds 1001 ids; at most 1000 per request (use a selector" in str(caught.value)


# Every nested model is as strict as the request: a typo inside it is an error, never a default. E.g. "mod" for
# "mode" would otherwise select every tagged instance instead of the Sharding ones.
NESTED = [
    # (a valid request, the path of a nested object in it, a misspelt field for that object)
    ({"selector": {"tags": {"env": "prod"}, "mode": "Sharding"}}, ("selector",), "mod"),
    ({"instance_id": "a", "retention": {"keep_last": 3}}, ("retention",), "keep_lats"),
    ({"selector": {"all": True}, "audit": {"max_age_hours": 24}}, ("audit",), "include_automatic"),
]
# The function's own message (HandOn) too, each of its parts.
HAND_ON = {
    "request": {"instance_id": "a"},
    "origin": {"identity": "smn:m1", "trigger": "smn", "scope": "smn:t", "correlation_id": "m1"},
    "watch": {"backup_id": "b1", "name": "ddsb-a-1", "follow_up": {"platform": "teams"}},
}
HAND_ON_NESTED = [
    (HAND_ON, (), "requset"),
    (HAND_ON, ("request",), "watch"),  # what only the function sets is no field of the request inside either
    (HAND_ON, ("origin",), "handoff"),
    (HAND_ON, ("watch",), "round"),
    (HAND_ON, ("watch", "follow_up"), "uri"),
]


@pytest.mark.parametrize(("valid", "path", "typo"), HAND_ON_NESTED, ids=[".".join(p) for _, p, _ in HAND_ON_NESTED])
def test_an_unknown_field_anywhere_in_the_functions_own_message_is_rejected(
    valid: dict[str, Any], path: tuple[str, ...], typo: str
) -> None:
    HandOn.model_validate(valid)
    spoilt = copy.deepcopy(valid)
    nested = spoilt
    for key in path:
        nested = nested[key]
    nested[typo] = "x"
    rejection = validate_hand_on(spoilt, "SMN message m1")
    assert isinstance(rejection, ErrorInfo) and rejection.code == ErrorCode.INVALID_REQUEST
    field = ".".join((*path, typo))
    assert rejection.message == (
        f"SMN message m1 is not a message of dds-backup's own: {field}: unknown field (check the spelling; unknown "
        "fields are rejected)"
    )


@pytest.mark.parametrize(("valid", "path", "typo"), NESTED, ids=[".".join(p) for _, p, _ in NESTED])
def test_an_unknown_field_in_any_nested_model_is_rejected(
    valid: dict[str, Any], path: tuple[str, ...], typo: str
) -> None:
    # GIVEN a valid request
    BackupRequest.model_validate(valid)
    # WHEN one of its nested objects carries a field that model does not have
    spoilt = copy.deepcopy(valid)
    nested = spoilt
    for key in path:
        nested = nested[key]
    nested[typo] = "Sharding"
    # THEN the request is refused, naming that field
    assert (
        errors_of(spoilt) == f"{'.'.join(path)}.{typo}: unknown field (check the spelling; unknown fields are rejected)"
    )


# -- each rule of the request on its own, at its boundary --------------------------------------------------------


def request_errors(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        BackupRequest.model_validate(data)
    return [(e.field, e.message) for e in field_errors(caught.value)]


def test_a_rule_of_the_whole_request_is_reported_as_such_without_pydantics_prefix() -> None:
    assert request_errors({}) == [
        ("(request)", "exactly one of instance_id, instance_ids, selector is required (got none)")
    ]
    assert request_errors({"instance_id": "a", "instance_ids": ["b"], "selector": {"all": True}}) == [
        (
            "(request)",
            "exactly one of instance_id, instance_ids, selector is required (got instance_id, instance_ids, selector)",
        )
    ]


@pytest.mark.parametrize(
    ("keep_last", "max_age_days", "error"),
    [
        (1, None, None),
        (1000, None, None),
        (None, 1, None),
        (None, 3650, None),
        (0, None, ("retention.keep_last", "0 would delete every backup; the smallest value is 1")),
        (-3, 5, ("retention.keep_last", "-3 would delete every backup; the smallest value is 1")),
        (None, 0, ("retention.max_age_days", "0 would delete backups of today; the smallest value is 1")),
        (1001, None, ("retention.keep_last", "Input should be less than or equal to 1000")),
        (None, 3651, ("retention.max_age_days", "Input should be less than or equal to 3650")),
        (None, None, ("retention", "needs keep_last, max_age_days or both")),
    ],
)
def test_retention_refuses_what_would_delete_too_much(
    keep_last: int | None, max_age_days: int | None, error: tuple[str, str] | None
) -> None:
    retention = {k: v for k, v in (("keep_last", keep_last), ("max_age_days", max_age_days)) if v is not None}
    data = {"instance_id": "a", "retention": retention}
    if error is None:
        BackupRequest.model_validate(data)
    else:
        assert request_errors(data) == [error]


@pytest.mark.parametrize(
    ("tags", "ok"),
    [
        ({"env": "prod"}, True),
        ({"": "prod"}, False),
        ({"e,nv": "prod"}, False),
        ({"e=nv": "prod"}, False),
        ({"env": "pr,od"}, False),
        ({"env": "pr=od"}, False),
        ({"env": ""}, True),
    ],
)
def test_a_selector_tag_cannot_smuggle_a_second_filter(tags: dict[str, str], ok: bool) -> None:
    data = {"selector": {"tags": tags}}
    if ok:
        BackupRequest.model_validate(data)
    else:
        ((field, message),) = request_errors(data)
        assert field == "selector"
        assert (
            message == f"tag {next(iter(tags))!r}: keys must be non-empty; keys and values must not contain ',' or '='"
        )


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ({"name": "*"}, "name '*' alone is not allowed by the API; use all: true to select every instance"),
        ({"all": False}, "needs at least one of name, tags, mode (or all: true to select every instance)"),
        ({"tags": {}}, "needs at least one of name, tags, mode (or all: true to select every instance)"),
        ({"all": True, "name": "x"}, "all: true cannot be combined with name, tags or mode"),
        ({"all": True, "tags": {"a": "b"}}, "all: true cannot be combined with name, tags or mode"),
    ],
)
def test_a_selector_names_what_it_selects(selector: dict[str, Any], message: str) -> None:
    assert request_errors({"selector": selector}) == [("selector", message)]


@pytest.mark.parametrize("selector", [{"name": "*prod"}, {"mode": "Single"}, {"tags": {"a": "b"}}, {"all": True}])
def test_one_criterion_or_all_is_a_selector(selector: dict[str, Any]) -> None:
    assert BackupRequest.model_validate({"selector": selector}).selector is not None


@pytest.mark.parametrize(
    ("instance_id", "ok"),
    [("a", True), ("A-_9" * 16, True), ("a" * 65, False), ("", False), ("a b", False), ("a?b", False)],
)
def test_an_instance_id_is_one_to_sixty_four_safe_characters(instance_id: str, ok: bool) -> None:
    if ok:
        BackupRequest.model_validate({"instance_id": instance_id})
    else:
        assert request_errors({"instance_id": instance_id}) == [
            ("instance_id", "must be 1-64 characters, only letters, digits, '-' and '_'")
        ]


WATCH = {"backup_id": "b1", "name": "ddsb-a-1", "follow_up": {"platform": "slack", "url": "https://hooks.slack.com/x"}}


@pytest.mark.parametrize(
    "extra",
    [
        {"instance_ids": ["a", "b"]},
        {"instance_id": "a", "audit": {"max_age_hours": 1}},
        {"instance_id": "a", "retention": {"keep_last": 1}},
        {"instance_id": "a", "name": "abcd"},
    ],
)
def test_a_watch_is_one_instance_id_and_nothing_else(extra: dict[str, Any]) -> None:
    rejection = validate_hand_on({**HAND_ON, "request": extra, "watch": WATCH}, "m")
    assert isinstance(rejection, ErrorInfo)
    assert (
        rejection.message
        == "m is not a message of dds-backup's own: (request): a watch is of one instance_id, nothing else"
    )
    allowed = validate_hand_on({**HAND_ON, "request": {"instance_id": "a", "description": "x"}, "watch": WATCH}, "m")
    assert isinstance(allowed, HandOn) and allowed.watch is not None


def test_an_audit_lists_everything_it_cannot_be_combined_with() -> None:
    data = {
        "instance_id": "a",
        "audit": {"max_age_hours": 1},
        "name": "abcd",
        "description": "d",
        "retention": {"keep_last": 1},
        "wait": True,
        "dry_run": True,
    }
    assert request_errors(data) == [
        ("(request)", "audit only reads; it cannot be combined with name, description, retention, wait, dry_run")
    ]
    assert request_errors({"selector": {"all": True}, "audit": {"max_age_hours": 1}, "dry_run": True}) == [
        ("(request)", "audit only reads; it cannot be combined with dry_run")
    ]
    BackupRequest.model_validate({"selector": {"all": True}, "audit": {"max_age_hours": 1}, "wait": False})


def test_an_explicit_name_needs_one_instance_id() -> None:
    assert request_errors({"selector": {"all": True}, "name": "abcd"}) == [
        ("(request)", "an explicit name needs a single instance_id (names are unique per project)")
    ]


def test_an_idempotency_key_is_one_to_256_characters() -> None:
    BackupRequest.model_validate({"instance_id": "a", "idempotency_key": "k" * 256})
    assert request_errors({"instance_id": "a", "idempotency_key": "k" * 257})[0][0] == "idempotency_key"


# -- validate_request: what a source gets back ---------------------------------------------------------------


def test_validation_returns_the_request_or_a_rejection_naming_each_field() -> None:
    assert validate_request({"instance_id": "a"}, "the event") == BackupRequest(instance_id="a")
    rejection = validate_request({"instance_id": "a", "wiat": True}, "SMN message m1")
    assert isinstance(rejection, ErrorInfo)
    assert (rejection.code, rejection.retryable) == ("INVALID_REQUEST", False)
    assert rejection.message == (
        "SMN message m1 is not a valid backup request: wiat: unknown field (check the spelling; unknown fields are "
        "rejected)"
    )
    assert rejection.details == [
        FieldError(field="wiat", message="unknown field (check the spelling; unknown fields are rejected)")
    ]
    two = validate_request({"instance_id": "a b", "wait": "x"}, "it")
    assert isinstance(two, ErrorInfo) and "; wait: " in two.message


ORIGIN = {"identity": "smn:m1", "trigger": "smn", "scope": "smn:t", "correlation_id": "m1"}
WATCH = {"backup_id": "b1", "name": "ddsb-a-1", "follow_up": {"platform": "teams"}}


@pytest.mark.parametrize(("field", "value"), [("origin", ORIGIN), ("watch", WATCH)])
def test_the_functions_own_fields_are_no_part_of_a_request(field: str, value: Any) -> None:
    data = {"instance_id": "a", field: value}
    # GIVEN a request WHEN it carries what only the function's own messages do THEN it is refused, naming the field
    rejection = validate_request(data, "SMN message m1")
    assert isinstance(rejection, ErrorInfo)
    assert (rejection.code, rejection.retryable) == ("INVALID_REQUEST", False)
    assert rejection.message == (
        f"SMN message m1 is not a valid backup request: {field}: set by dds-backup itself; not accepted in requests"
    )
    assert rejection.details == [FieldError(field=field, message="set by dds-backup itself; not accepted in requests")]
    # AND the request model has no such field at all: the schema users may send is exactly what they may send
    assert field not in BackupRequest.model_fields


@pytest.mark.parametrize(("data", "kind"), [([], "list"), ("text", "str"), (None, "NoneType"), (3, "int")])
def test_anything_but_an_object_is_rejected_naming_its_type(data: Any, kind: str) -> None:
    rejection = validate_request(data, "the timer's user_event")
    assert isinstance(rejection, ErrorInfo)
    assert (rejection.code, rejection.retryable, rejection.details) == ("INVALID_REQUEST", False, None)
    assert rejection.message == f"the timer's user_event must be a JSON object (a backup request), got {kind}"


# -- the order's identity (what names the backup) --------------------------------------------------------------

WHEN = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


def test_an_order_keeps_the_events_identity_unless_the_request_brings_its_own() -> None:
    plain = BackupOrder.of(Trigger.SMN, "smn:m1", "m1", WHEN, BackupRequest(instance_id="a"), scope="smn:t")
    assert (plain.trigger, plain.scope, plain.identity, plain.correlation_id, plain.event_time) == (
        Trigger.SMN,
        "smn:t",
        "smn:m1",
        "m1",
        WHEN,
    )
    assert (plain.rejection, plain.follow_up) == (None, None)


def test_an_idempotency_key_is_the_identity_within_its_source_whatever_the_time() -> None:
    request = BackupRequest(instance_id="a", idempotency_key="k1")
    keyed = BackupOrder.of(Trigger.SMN, "smn:m1", "m1", WHEN, request, scope="smn:t")
    assert (keyed.trigger, keyed.identity, keyed.correlation_id, keyed.event_time) == (
        Trigger.SMN,
        "key:smn:t:k1",
        "m1",
        None,
    )
    # the same key from another source is another identity (another backup)
    other = BackupOrder.of(Trigger.APIG, "http:r1", "r1", None, request, scope="webhook:/backups")
    assert other.identity == "key:webhook:/backups:k1"


def test_a_message_handed_on_is_the_order_of_the_event_it_came_from() -> None:
    origin = {
        "identity": "timer:nightly:1",
        "trigger": "timer",
        "scope": "timer:nightly",
        "correlation_id": "nightly@1",
        "event_time": WHEN,
        "handoffs": 2,
    }
    message = HandOn.model_validate({"request": {"instance_id": "a", "idempotency_key": "k1"}, "origin": origin})
    order = BackupOrder.handed(message)
    # the origin wins over the SMN message that carried it, and over a key: its source and its identity
    assert (order.trigger, order.scope, order.identity, order.correlation_id, order.event_time) == (
        Trigger.TIMER,
        "timer:nightly",
        "timer:nightly:1",
        "nightly@1",
        WHEN,
    )
    assert (order.handed_on, order.handoffs, order.watch, order.request) == (True, 2, None, message.request)


def test_an_order_handed_on_carries_its_whole_identity_and_the_count_of_hand_offs() -> None:
    request = BackupRequest(instance_id="a")
    order = BackupOrder.of(Trigger.TIMER, "timer:nightly:1", "nightly@1", WHEN, request, scope="timer:nightly")
    assert order.hand_on(request, handoffs=2).origin == Origin(
        identity="timer:nightly:1",
        trigger=Trigger.TIMER,
        scope="timer:nightly",
        correlation_id="nightly@1",
        event_time=WHEN,
        handoffs=2,
    )
    assert order.hand_on(request).origin.handoffs == 0
    # and back: the order of the message is the order it was made from
    again = BackupOrder.handed(order.hand_on(request))
    assert (again.trigger, again.scope, again.identity, again.event_time) == (
        order.trigger,
        order.scope,
        order.identity,
        order.event_time,
    )


def test_a_chat_watch_goes_out_and_comes_back_with_its_message() -> None:
    # GIVEN an order that hands a request on with a watch (a chat command waiting for its backup)
    request = BackupRequest(instance_id="a")
    order = BackupOrder.of(Trigger.SLACK, "slack:t1:x", "x", None, request, scope="slack:t1")
    watch = Watch.model_validate(WATCH)
    message = order.hand_on(request, watch=watch)
    # WHEN the function reads its own message back
    again = BackupOrder.handed(HandOn.model_validate_json(message.model_dump_json()))
    # THEN the watch is the one sent, and a message without one has none
    assert (message.watch, again.watch) == (watch, watch)
    assert BackupOrder.handed(order.hand_on(request)).watch is None


def test_a_message_that_is_not_the_functions_own_names_each_field_in_its_details() -> None:
    rejection = validate_hand_on({"request": {"instance_id": "a"}, "origin": {"trigger": "timer"}}, "SMN message m1")
    assert isinstance(rejection, ErrorInfo) and rejection.details is not None
    assert [d.field for d in rejection.details] == ["origin.identity", "origin.scope", "origin.correlation_id"]


def test_a_name_and_an_idempotency_key_together_are_refused() -> None:
    rejection = validate_request({"instance_id": "a", "name": "release-42", "idempotency_key": "k"}, "the body")
    assert isinstance(rejection, ErrorInfo)
    assert rejection.message == (
        "the body is not a valid backup request: (request): give name or idempotency_key, not both: the key "
        "decides the backup's name"
    )


def test_a_bug_of_ours_is_a_retryable_internal_error_that_names_only_the_exception_type() -> None:
    # the exception's text may hold anything (a URL, a token): only its type reaches a result
    assert internal_error(KeyError("sk=secret")) == ErrorInfo(
        code="INTERNAL_ERROR", message="KeyError (a bug; see the log)", retryable=True
    )


def test_a_rejected_order_keeps_the_events_identity_and_the_reason() -> None:
    reason = ErrorInfo(code="INVALID_JSON", message="not JSON", retryable=False)
    order = BackupOrder.of(Trigger.KAFKA, "kafka:t:1:d", "t@1#d", WHEN, reason, scope="kafka:t")
    assert (order.request, order.rejection, order.identity, order.event_time) == (None, reason, "kafka:t:1:d", WHEN)


def test_identified_by_a_key_drops_the_time_and_a_follow_up_only_adds_itself() -> None:
    order = BackupOrder.of(Trigger.APIG, "http:r1", "r1", WHEN, BackupRequest(instance_id="a"), scope="webhook")
    keyed = order.identified_by("webhook:msg_1")
    assert (keyed.identity, keyed.event_time, keyed.correlation_id, keyed.trigger) == (
        "webhook:msg_1",
        None,
        "r1",
        Trigger.APIG,
    )
    follow_up = FollowUp(platform="teams")
    followed = keyed.with_follow_up(follow_up)
    assert followed.follow_up == follow_up
    assert (followed.identity, followed.event_time, followed.request) == ("webhook:msg_1", None, keyed.request)


# -- the results ----------------------------------------------------------------------------------------------


def result(
    outcome: Outcome, *, retryable: bool | None = None, dry_run: bool = False, subject: str | None = "i1"
) -> ResultEvent:
    error = None if retryable is None else ErrorInfo(code="E", message="m", retryable=retryable)
    data = ResultData(outcome=outcome, trigger=Trigger.TIMER, correlation_id="c", dry_run=dry_run, error=error)
    return ResultEvent(id="e1", source="s", type="t", time=WHEN, subject=subject, data=data)


def test_the_summary_counts_every_outcome_and_ok_means_nothing_failed_was_refused_or_is_stale() -> None:
    outcome = InvocationResult.from_results([result(Outcome.CREATED), result(Outcome.CREATED), result(Outcome.EXISTS)])
    assert (outcome.ok, outcome.summary.requested, outcome.summary.created, outcome.summary.exists) == (True, 3, 2, 1)
    for bad in (Outcome.FAILED, Outcome.REJECTED, Outcome.STALE):
        assert InvocationResult.from_results([result(Outcome.CREATED), result(bad)]).ok is False
    assert InvocationResult.from_results([result(Outcome.FRESH), result(Outcome.PRUNED)]).ok is True


def test_a_retry_is_asked_for_a_retryable_failure_only_and_never_for_a_dry_run() -> None:
    assert InvocationResult.from_results([result(Outcome.FAILED, retryable=True)]).needs_retry
    assert not InvocationResult.from_results([result(Outcome.FAILED, retryable=False)]).needs_retry
    assert not InvocationResult.from_results([result(Outcome.FAILED, retryable=True, dry_run=True)]).needs_retry
    assert not InvocationResult.from_results([result(Outcome.REJECTED, retryable=True)]).needs_retry


def test_the_result_as_json_leaves_out_what_is_absent() -> None:
    event = result(Outcome.CREATED, subject=None).to_json_dict()
    assert "subject" not in event and event["time"] == "2026-11-29T02:00:00.000Z"
    assert result(Outcome.CREATED).to_json_dict()["subject"] == "i1"
    outcome = InvocationResult.from_results([result(Outcome.CREATED)])
    assert set(outcome.to_json_dict()) == {"ok", "results", "summary"}
    outcome.publish = {"published": 1}
    as_json = outcome.to_json_dict()
    assert as_json["publish"] == {"published": 1} and as_json["summary"]["created"] == 1
    assert as_json["results"] == [result(Outcome.CREATED).to_json_dict()]


def test_name_and_description_problems_are_reported_together_in_these_words() -> None:
    assert request_errors({"instance_id": "a", "name": "1a"}) == [
        ("name", "backup name must be 4-64 characters long (got 2); must start with a letter (A-Z or a-z)")
    ]
    assert request_errors({"instance_id": "a", "description": "<x>\r"}) == [
        (
            "description",
            "backup description must not contain any of >!<\"&'= (found '<', '>'); must not contain a carriage return",
        )
    ]
    assert request_errors({"instance_ids": ["a", "b", "a"]}) == [("(request)", "instance_ids contains duplicates")]


def plain_json(value: Any) -> bool:
    """Only what JSON itself has: no enums, datetimes or other subclasses of its types."""
    if isinstance(value, dict):
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_json(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_results_as_json_hold_plain_json_values() -> None:
    event = result(Outcome.FAILED, retryable=True)
    assert plain_json(event.to_json_dict())
    assert plain_json(InvocationResult.from_results([event]).to_json_dict())


# -- the result's constructors state the contract: a misspelt field fails loudly, never disappears -------------


def test_a_misspelt_result_field_fails_loudly_wherever_a_result_is_made() -> None:
    from lib.http.gateway import error_response
    from lib.runner.report import Report

    order = BackupOrder.of(Trigger.TIMER, "timer:t:1", "t@1", WHEN, BackupRequest(instance_id="a"), scope="timer:t")
    report = Report.start(order)
    assert report(Outcome.CREATED, backup_id="b1").backup_id == "b1"
    with pytest.raises(TypeError, match="backup_idd"):
        report(Outcome.CREATED, backup_idd="b1")  # type: ignore[call-arg]
    data = report(Outcome.CREATED)
    with pytest.raises(ValidationError, match="folow_up"):
        ResultData.model_validate({**data.model_dump(), "folow_up": "posted"})
    # a copy: model_copy(update=...) would drop the misspelt field in silence; amend refuses it
    assert data.amend(follow_up="posted").follow_up == "posted"
    with pytest.raises(TypeError, match="ResultData has no field folow_up"):
        data.amend(folow_up="posted")
    with pytest.raises(TypeError, match=r"^ErrorInfo has no field messag, retryabel$"):
        ErrorInfo(code="X", message="m", retryable=False).amend(retryabel=True, messag="n")
    with pytest.raises(TypeError):
        rejected(ErrorCode.INVALID_REQUEST, "m", detail=[])  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        error_response(400, "INVALID_REQUEST", "m", "r1", detail=[])  # type: ignore[call-arg]
    for model in (ErrorInfo, ResultData, ResultEvent, InvocationResult, Summary, AuditReport, BackupSeen):
        assert model.model_config.get("extra") == "forbid", model


def test_the_summary_counts_every_outcome_of_the_enum_and_nothing_else() -> None:
    assert set(Summary.model_fields) == {"requested"} | {o.value for o in Outcome}
    order = BackupOrder.of(Trigger.TIMER, "timer:t:1", "t@1", WHEN, BackupRequest(instance_id="a"), scope="timer:t")
    from lib.results.events import build
    from lib.runner.report import Report

    results = [build(Report.start(order)(outcome), "dds-backup") for outcome in Outcome]
    summary = InvocationResult.from_results(results).summary
    assert summary.model_dump() == {"requested": len(Outcome), **{o.value: 1 for o in Outcome}}
