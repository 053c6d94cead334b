"""lib/jsonsafe.py: untrusted JSON either parses within its limits or is a clear rejection, never an exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib import jsonsafe


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


def test_ordinary_requests_parse() -> None:
    text = '{"selector": {"tags": {"team": "a[b]{c}"}}, "description": "brackets \\" [in] {strings}"}'
    assert jsonsafe.loads(text, max_bytes=1024)["selector"]["tags"]["team"] == "a[b]{c}"


@pytest.mark.parametrize("depth", [33, 900, 5000, 100_000])
def test_deep_nesting_is_rejected_before_parsing(depth: int) -> None:
    with pytest.raises(jsonsafe.JsonRejected) as caught:
        jsonsafe.loads(nested(depth), max_bytes=10**6)
    assert caught.value.code == "JSON_TOO_DEEP"
    assert f"nested {depth} levels deep" in caught.value.message


def test_nesting_up_to_the_limit_is_fine_and_strings_do_not_count() -> None:
    value = jsonsafe.loads(nested(jsonsafe.MAX_DEPTH), max_bytes=1024)
    for _ in range(jsonsafe.MAX_DEPTH - 1):
        (value,) = value
    assert value == []
    deep_looking = '{"a": "' + "[" * 5000 + '"}'
    assert jsonsafe.loads(deep_looking, max_bytes=10**6) == {"a": "[" * 5000}


def test_duplicate_keys_are_rejected_naming_the_key() -> None:
    with pytest.raises(jsonsafe.JsonRejected) as caught:
        jsonsafe.loads('{"instance_id": "a", "wait": true, "instance_id": "b"}', max_bytes=1024)
    assert caught.value.code == "DUPLICATE_KEY"
    assert '"instance_id"' in caught.value.message


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ('{"a": NaN}', "INVALID_JSON"),
        ('{"a": Infinity}', "INVALID_JSON"),
        ('{"a": 1', "INVALID_JSON"),
        (b"\xff\xfe{}", "INVALID_JSON"),
        ("x" * 2000, "MESSAGE_TOO_LARGE"),
    ],
)
def test_everything_else_that_is_not_json_is_a_rejection(data: str | bytes, code: str) -> None:
    with pytest.raises(jsonsafe.JsonRejected) as caught:
        jsonsafe.loads(data, max_bytes=1024)
    assert caught.value.code == code


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_any_input_parses_or_is_rejected_with_a_code(data: str | bytes) -> None:
    code = None
    try:
        jsonsafe.loads(data, max_bytes=1024)
    except jsonsafe.JsonRejected as exc:
        code = exc.code
    assert code in (None, "INVALID_JSON", "JSON_TOO_DEEP", "DUPLICATE_KEY", "MESSAGE_TOO_LARGE")


# -- the limits, at their boundaries --------------------------------------------------------------------------


def rejected(data: str | bytes, max_bytes: int = 1024, **kw: int) -> tuple[str, str]:
    with pytest.raises(jsonsafe.JsonRejected) as caught:
        jsonsafe.loads(data, max_bytes=max_bytes, **kw)
    assert str(caught.value) == caught.value.message
    return caught.value.code, caught.value.message


def test_the_size_limit_is_in_utf8_bytes_and_inclusive() -> None:
    text = '"' + "é" * 4 + '"'  # 10 bytes, 6 characters
    assert jsonsafe.loads(text, max_bytes=10) == "éééé"
    assert jsonsafe.loads(text.encode(), max_bytes=10) == "éééé"
    assert rejected(text, max_bytes=9) == ("MESSAGE_TOO_LARGE", "10 bytes; at most 9 are accepted")
    assert rejected(text.encode(), max_bytes=9) == ("MESSAGE_TOO_LARGE", "10 bytes; at most 9 are accepted")


def test_the_depth_limit_can_be_set_and_is_inclusive() -> None:
    assert jsonsafe.loads('{"a": [[1]]}', max_bytes=100, max_depth=3) == {"a": [[1]]}
    assert rejected('{"a": [[[1]]]}', max_depth=3) == ("JSON_TOO_DEEP", "nested 4 levels deep; at most 3 are accepted")


def test_depth_counts_open_brackets_only_and_sibling_arrays_do_not_add_up() -> None:
    assert jsonsafe.loads("[[1], [2], [3], [4]]", max_bytes=100, max_depth=2) == [[1], [2], [3], [4]]
    assert jsonsafe.loads('[{"a": "]]]]"}, {"b": "[[[["}]', max_bytes=100, max_depth=2)


def test_escaped_quotes_do_not_end_a_string_for_the_depth_count() -> None:
    text = '{"a": "\\"[[[[\\""}'
    assert jsonsafe.loads(text, max_bytes=100, max_depth=1) == {"a": '"[[[["'}


def test_a_duplicate_key_is_named_at_most_eighty_characters_long() -> None:
    key = "k" * 200
    code, message = rejected(json.dumps({key: 1})[:-1] + f', "{key}": 2}}')
    assert code == "DUPLICATE_KEY"
    assert message == f"the key {json.dumps(key)[:80]} appears twice in one object"


def test_each_kind_of_non_json_says_what_it_is_without_quoting_the_input() -> None:
    assert rejected('{"a": NaN}') == ("INVALID_JSON", "NaN is not JSON")
    assert rejected("[-Infinity]") == ("INVALID_JSON", "-Infinity is not JSON")
    assert rejected(b"\xff") == ("INVALID_JSON", "not UTF-8")
    assert rejected('{"secret-looking": ') == ("INVALID_JSON", "not valid JSON (Expecting value)")


def test_depth_goes_down_by_one_per_closing_bracket() -> None:
    assert rejected("[[], [[]]]", max_depth=2) == ("JSON_TOO_DEEP", "nested 3 levels deep; at most 2 are accepted")


def test_a_parser_that_runs_out_of_stack_is_a_rejection_naming_why() -> None:
    # Only with the depth check lifted: json itself recurses, and gives up some thousand levels deep.
    assert rejected(nested(100_000), max_bytes=10**6, max_depth=10**6) == (
        "INVALID_JSON",
        "not valid JSON (RecursionError)",
    )
