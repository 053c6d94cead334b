"""The parser of untrusted JSON (``lib/jsonsafe.py``) against ``json.loads`` on the same input, over adversarial
shapes, from 1 KiB up to the real limits: 64 KiB (a webhook body, a Teams activity) and 256 KiB (a queue message).

Each shape is built to its size; both sides parse the same string (the webhook and queue paths hand
``jsonsafe.loads`` a ``str``) and, with ``--bytes``, the same bytes (the Teams path). Times are the minimum over
interleaved repetitions; the figure is the ratio ours / ``json.loads``. Goal: the worst ratio over every shape and
size <= 3x. ``json.loads`` refuses some shapes early (a string it cannot end, nesting beyond the recursion limit):
the ratio then says what our refusal costs beside its refusal.

Two more tables: the pre-scan this parser replaced (a regex that backtracked on unterminated strings), on the
shape that made it quadratic, up to 16 KiB (it needs ~17 s at 64 KiB); and the text clean-up of a Teams
command, which must grow linearly: growth = (time at 64 KiB / time at 1 KiB) / 64, 1.0 when linear.
Usage: ``make bench`` or ``python bench/jsonsafe.py [--bytes] [--budget SECONDS]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib import jsonsafe

KIB = 1024
SIZES = (1 * KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB)
GOAL = 3.0


def _fill(unit: str, size: int, head: str = "[", tail: str = "]") -> str:
    return head + ",".join([unit] * max(1, (size - len(head) - len(tail)) // (len(unit) + 1))) + tail


def _keys(size: int, key: Callable[[int], str]) -> str:
    parts, used, i = [], 2, 0
    while used + len(part := f'"{key(i)}":{i}') + 1 <= size:
        parts.append(part)
        used += len(part) + 1
        i += 1
    return "{" + ",".join(parts) + "}"


def _chains(depth: int, size: int) -> str:
    return _fill("[" * (depth - 1) + "1" + "]" * (depth - 1), size)


SHAPES: dict[str, Callable[[int], str]] = {
    # escapes
    "escaped quotes": lambda n: '["' + '\\"' * ((n - 4) // 2) + '"]',
    "escaped backslashes": lambda n: '["' + "\\\\" * ((n - 4) // 2) + '"]',
    "unicode escapes": lambda n: '["' + "\\u00e9" * ((n - 4) // 6) + '"]',
    "escapes in 40 arrays": lambda n: "[" + ",".join(['["' + '\\"' * (n // 90) + '"]'] * 40) + "]",
    # unterminated strings
    "unterminated escaped quotes": lambda n: '"' + '\\"' * ((n - 1) // 2),
    "unterminated string": lambda n: '["' + "a" * (n - 2),
    # nesting
    "deep nesting": lambda n: "[" * (n // 2) + "]" * (n // 2),
    "deep, unterminated": lambda n: "[" * n,
    "32-deep chains (accepted)": lambda n: _chains(32, n),
    "33-deep chains (refused)": lambda n: _chains(33, n),
    "brackets in strings": lambda n: _fill('"[{"', n),
    # numbers
    "long integer": lambda n: "1" * n,
    "long fraction": lambda n: "0." + "1" * (n - 2),
    "many numbers": lambda n: _fill("1234567", n),
    # keys and objects
    "many keys": lambda n: _keys(n, lambda i: f"k{i}"),
    "duplicate key last": lambda n: _keys(n - 10, lambda i: f"k{i}")[:-1] + ',"k0":0}',
    "many small objects": lambda n: _fill('{"a":1}', n),
    "many small arrays": lambda n: _fill("[1]", n),
    "many strings": lambda n: _fill('"abc"', n),
}


def _best(call: Callable[[], Any], budget: float) -> float:
    """The minimum of repeated timings, within ``budget`` seconds (at least 5 runs), each side starting from a
    collected heap (the garbage collector stays on: what a parse makes it do is part of its cost)."""
    gc.collect()
    times: list[float] = []
    spent = 0.0
    while len(times) < 5 or spent < budget:
        start = time.perf_counter()
        with contextlib.suppress(ValueError, RecursionError):
            call()
        took = time.perf_counter() - start
        times.append(took)
        spent += took
        if len(times) >= 2000:
            break
    return min(times)


def _outcome(data: str | bytes, limit: int) -> str:
    try:
        jsonsafe.loads(data, max_bytes=limit)
    except jsonsafe.JsonRejected as exc:
        return exc.code
    return "parsed"


def ratios(as_bytes: bool, budget: float) -> list[tuple[str, int, str, float, float]]:
    rows = []
    for name, make in SHAPES.items():
        for size in SIZES:
            text = make(size)
            data: str | bytes = text.encode() if as_bytes else text
            limit = 64 * KIB if size <= 64 * KIB else 256 * KIB
            assert len(text.encode()) <= limit, (name, size)
            ours = 0.0
            theirs = 0.0
            for _ in range(3):  # interleaved: both sides see the same machine
                ours_now = _best(lambda data=data, limit=limit: jsonsafe.loads(data, max_bytes=limit), budget / 6)  # type: ignore[misc]
                theirs_now = _best(lambda data=data: json.loads(data), budget / 6)  # type: ignore[misc]
                ours = min(ours, ours_now) if ours else ours_now
                theirs = min(theirs, theirs_now) if theirs else theirs_now
            rows.append((name, size, _outcome(data, limit), theirs, ours / theirs))
    return rows


_OLD_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def old_prescan(budget: float) -> list[tuple[int, float]]:
    out = []
    for size in SIZES[:3]:
        text = SHAPES["unterminated escaped quotes"](size)
        out.append((size, _best(lambda text=text: _OLD_STRING.sub("", text), budget / 4)))  # type: ignore[misc]
    return out


TEAMS_SHAPES: dict[str, Callable[[int], str]] = {
    "<at> without </at>": lambda n: "<at>" * (n // 4),
    "< without >": lambda n: "<" * n,
    "mentions and markup": lambda n: "<at>DDSBackup</at> <p>orders-prod</p> " * (n // 38),
}


def teams_growth(budget: float) -> list[tuple[str, float, float]]:
    from lib.http.chat.teams import command_text  # needs the runtime's dependencies (pydantic); the rest does not

    out = []
    for name, make in TEAMS_SHAPES.items():
        small, large = make(KIB), make(64 * KIB)
        t_small = _best(lambda small=small: command_text(small), budget / 4)  # type: ignore[misc]
        t_large = _best(lambda large=large: command_text(large), budget / 4)  # type: ignore[misc]
        out.append((name, t_large, (t_large / t_small) / (len(large) / len(small))))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bytes", action="store_true", help="hand both parsers bytes instead of str")
    parser.add_argument("--budget", type=float, default=0.15, help="seconds of timing per measurement")
    args = parser.parse_args()
    kind = "bytes" if args.bytes else "str"
    print(f"jsonsafe.loads vs json.loads on the same {kind}, Python {sys.version.split()[0]}")
    print(f"{'shape':30} {'size':>8} {'ours':>15} {'json.loads':>12} {'ratio':>7}")
    rows = ratios(args.bytes, args.budget)
    for name, size, outcome, theirs, ratio in rows:
        print(f"{name:30} {size // KIB:>5} KiB {outcome:>15} {theirs * 1e6:>9.1f} us {ratio:>6.2f}x")
    worst = max(rows, key=lambda r: r[4])
    met = "met" if worst[4] <= GOAL else "NOT met"
    print(f"worst: {worst[4]:.2f}x ({worst[0]}, {worst[1] // KIB} KiB); goal <= {GOAL:.0f}x: {met}")
    print("\nthe regex pre-scan it replaced, on unterminated escaped quotes:")
    for size, took in old_prescan(args.budget):
        print(f"  {size // KIB:>3} KiB: {took * 1e3:9.1f} ms")
    print("\nTeams command text (mentions and markup removed), growth from 1 KiB to 64 KiB (1.0 = linear):")
    try:
        for name, took, growth in teams_growth(args.budget):
            print(f"  {name:24} {took * 1e3:8.2f} ms at 64 KiB, growth {growth:.2f}")
    except ImportError as exc:  # e.g. another interpreter, without the project's dependencies
        print(f"  not measured: {exc}")
    return 0 if worst[4] <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
