"""The report of ``make mutate`` (dds_backup_dev/mutation.py): what it counts per module, and when it fails."""

from __future__ import annotations

from dds_backup_dev import mutation

RESULTS = """\
    lib.planning.retention.x_select__mutmut_1: killed
    lib.planning.retention.x_select__mutmut_2: survived
    lib.runtime.xǁDeadlineǁbound__mutmut_1: timeout
    lib.runtime.xǁDeadlineǁbound__mutmut_2: no tests
    lib.runtime.x_ctx_get__mutmut_1: survived
"""

DOC = """\
| mutant | why no test can tell |
|---|---|
| `lib.runtime.x_ctx_get__mutmut_1` | the default is never read |
| `lib.planning.retention.x_select__mutmut_1` | listed, but a test kills it |
"""


def test_results_and_equivalents_are_read_from_mutmut_and_the_docs() -> None:
    statuses = mutation.parse_results(RESULTS)
    assert statuses["lib.runtime.xǁDeadlineǁbound__mutmut_2"] == "no tests"
    assert len(statuses) == 5
    assert mutation.parse_equivalents(DOC) == {
        "lib.runtime.x_ctx_get__mutmut_1": "the default is never read",
        "lib.planning.retention.x_select__mutmut_1": "listed, but a test kills it",
    }


def test_mutants_are_counted_per_module_and_equivalents_leave_the_denominator() -> None:
    tallies = mutation.tally(mutation.parse_results(RESULTS), mutation.parse_equivalents(DOC))
    runtime = tallies["lib.runtime"]
    # a timeout is a kill (the mutant made the tests hang); "no tests" is a survivor; the listed one is equivalent
    assert (runtime.mutants, runtime.killed, runtime.equivalent) == (3, 1, 1)
    assert runtime.survivors == ["lib.runtime.xǁDeadlineǁbound__mutmut_2"]
    assert runtime.score == 50.0
    # a mutant listed as equivalent but killed counts as killed
    retention = tallies["lib.planning.retention"]
    assert (retention.killed, retention.equivalent, retention.survivors) == (
        1,
        0,
        ["lib.planning.retention.x_select__mutmut_2"],
    )


def test_a_strict_module_fails_on_any_survivor_and_every_module_below_ninety_percent() -> None:
    text, ok = mutation.report(mutation.parse_results(RESULTS), mutation.parse_equivalents(DOC), mutants=None)
    assert not ok
    assert "lib.planning.retention.x_select__mutmut_2: survived, where every mutant must be killed" in text
    assert "lib.runtime: 50.0% < 90%" in text
    assert "killed or no longer made (update the list):\n  lib.planning.retention.x_select__mutmut_1" in text


def test_all_killed_or_equivalent_meets_the_goals() -> None:
    statuses = {"lib.runtime.x_ctx_get__mutmut_1": "survived", "lib.runtime.x_ctx_get__mutmut_2": "killed"}
    text, ok = mutation.report(statuses, {"lib.runtime.x_ctx_get__mutmut_1": "why"}, mutants=None)
    assert ok and text.endswith("goals met")
    assert "lib.runtime                        2       1       1        0  100.0%" in text


def test_module_names_come_from_functions_and_methods() -> None:
    assert mutation.module_of("lib.planning.naming.x_render__mutmut_3") == "lib.planning.naming"
    assert mutation.module_of("lib.models.xǁBackupOrderǁof__mutmut_1") == "lib.models"
    assert mutation.is_strict("lib.models.xǁBackupOrderǁof__mutmut_1")
    assert not mutation.is_strict("lib.models.x__check_request__mutmut_1")


def test_a_survivors_change_is_read_from_its_function_beside_the_original() -> None:
    functions = {
        "x_ctx_get__mutmut_orig": "def x_ctx_get__mutmut_orig(c):\n    a = 1\n    return c > 0",
        "x_ctx_get__mutmut_1": "def x_ctx_get__mutmut_1(c):\n    a = 1\n    return c >= 0",
    }
    assert mutation.change("lib.runtime.x_ctx_get__mutmut_1", functions) == "-return c > 0 || +return c >= 0"
    assert mutation.change("lib.runtime.x_ctx_get__mutmut_2", functions) == "(see `mutmut show`)"
