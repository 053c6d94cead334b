"""The report of ``make mutate``: per module, how many mutants mutmut made, killed, and which survived.

mutmut's own summary counts the whole run; what matters here is each protected module, with the mutants that no
test can tell apart from the original (the equivalent ones, listed with the reason in docs/testing.md) left out of
the score. The report fails (exit 1) when a module falls below its goal, so that a weakened test shows up as a
failed ``make mutate``, not as a number nobody reads.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# mutmut's statuses (``mutmut results --all true``). A timeout is a mutant that made the tests hang: detected.
KILLED = frozenset({"killed", "timeout", "caught by type check"})
#: Mutants whose every change must be caught: names, identities and ownership, retention, authentication.
STRICT = (
    "lib.planning.naming.*",
    "lib.planning.ownership.*",
    "lib.rules.*",
    "lib.sources.*",
    "lib.http.orders.*",
    "lib.models.xǁBackupOrderǁ*",
    "lib.planning.retention.*",
    "lib.http.signatures.*",
    "lib.http.auth.*",
)
STRICT_GOAL = 100.0
GOAL = 90.0
_RESULT_LINE = re.compile(r"^\s+(lib\.\S+__mutmut_\d+): (.+)$")
_EQUIVALENT_ROW = re.compile(r"^\|\s*`(lib\.\S+__mutmut_\d+)`\s*\|(.+)\|\s*$")


def parse_results(text: str) -> dict[str, str]:
    """``mutmut results --all true`` -> {mutant name: status}."""
    return {m[1]: m[2].strip() for line in text.splitlines() if (m := _RESULT_LINE.match(line))}


def parse_equivalents(markdown: str) -> dict[str, str]:
    """The table rows of docs/testing.md that start with a mutant name in backticks -> {name: reason}."""
    return {m[1]: m[2].strip() for line in markdown.splitlines() if (m := _EQUIVALENT_ROW.match(line))}


def module_of(mutant: str) -> str:
    """``lib.planning.naming.x_render__mutmut_3`` and ``lib.runtime.xǁDeadlineǁbound__mutmut_1`` -> the module."""
    return re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]


def is_strict(mutant: str) -> bool:
    return any(fnmatch.fnmatchcase(mutant, pattern) for pattern in STRICT)


@dataclass
class Tally:
    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        counted = self.mutants - self.equivalent
        return 100.0 * self.killed / counted if counted else 100.0


def tally(statuses: dict[str, str], equivalents: dict[str, str]) -> dict[str, Tally]:
    """Per module; a mutant listed as equivalent counts as such only while it survives (a test may catch it)."""
    out: dict[str, Tally] = {}
    for mutant, status in sorted(statuses.items()):
        t = out.setdefault(module_of(mutant), Tally())
        t.mutants += 1
        if status in KILLED:
            t.killed += 1
        elif mutant in equivalents:
            t.equivalent += 1
        else:
            t.survivors.append(mutant)
    return out


def shortfalls(tallies: dict[str, Tally]) -> list[str]:
    """Every goal that is missed, as a sentence: a strict mutant alive, or a module or the whole below 90%."""
    survivors = [m for t in tallies.values() for m in t.survivors]
    out = [f"{m}: survived, where every mutant must be killed" for m in survivors if is_strict(m)]
    out += [f"{mod}: {t.score:.1f}% < {GOAL:.0f}%" for mod, t in sorted(tallies.items()) if t.score < GOAL]
    whole = Tally(
        mutants=sum(t.mutants for t in tallies.values()),
        killed=sum(t.killed for t in tallies.values()),
        equivalent=sum(t.equivalent for t in tallies.values()),
    )
    if whole.score < GOAL:
        out.append(f"all modules: {whole.score:.1f}% < {GOAL:.0f}%")
    return out


def table(tallies: dict[str, Tally]) -> str:
    rows = [f"{'module':<28} {'mutants':>7} {'killed':>7} {'equiv.':>7} {'survived':>8} {'score':>7}"]
    totals = Tally()
    for mod, t in sorted(tallies.items()):
        rows.append(f"{mod:<28} {t.mutants:>7} {t.killed:>7} {t.equivalent:>7} {len(t.survivors):>8} {t.score:>6.1f}%")
        totals.mutants += t.mutants
        totals.killed += t.killed
        totals.equivalent += t.equivalent
        totals.survivors += t.survivors
    rows.append(
        f"{'all':<28} {totals.mutants:>7} {totals.killed:>7} {totals.equivalent:>7} "
        f"{len(totals.survivors):>8} {totals.score:>6.1f}%"
    )
    return "\n".join(rows)


def _functions(module: str, root: Path) -> dict[str, str]:
    """The source of every function in mutmut's copy of ``module`` (which holds each mutant as a function)."""
    path = root / (module.replace(".", "/") + ".py")
    if not path.exists():
        return {}
    source = path.read_text()
    lines = source.splitlines()  # once: ast.get_source_segment would split the whole file for each function
    defs = (n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return {n.name: "\n".join(lines[n.lineno - 1 : n.end_lineno]) for n in defs}


def change(mutant: str, functions: dict[str, str]) -> str:
    """The lines a mutant changed, ``-old || +new``, from its function and the original beside it."""
    name = mutant.rsplit(".", 1)[1]
    original = functions.get(name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
    mutated = functions.get(name)
    if original is None or mutated is None:
        return "(see `mutmut show`)"
    # The first line differs by the function's name alone.
    lines = difflib.unified_diff(original.splitlines()[1:], mutated.splitlines()[1:], lineterm="", n=0)
    return " || ".join(x[0] + x[1:].strip() for x in lines if x[:1] in "+-" and x[:3] not in ("+++", "---"))


def report(statuses: dict[str, str], equivalents: dict[str, str], mutants: Path | None) -> tuple[str, bool]:
    """The report's text, and whether every goal is met; ``mutants``: mutmut's folder, to show each change."""
    tallies = tally(statuses, equivalents)
    lines = [table(tallies), ""]
    for mod, t in sorted(tallies.items()):
        if t.survivors:
            functions = _functions(mod, mutants) if mutants else {}
            lines.append(f"survivors in {mod}:")
            lines += [f"  {m} [{statuses[m]}]" + (f"  {change(m, functions)}" if mutants else "") for m in t.survivors]
    stale = sorted(m for m in equivalents if statuses.get(m) in KILLED or m not in statuses)
    if stale:
        lines.append("listed as equivalent in docs/testing.md, but killed or no longer made (update the list):")
        lines += [f"  {m}" for m in stale]
    missed = shortfalls(tallies)
    lines.append("goals met" if not missed else "goals missed:\n  " + "\n  ".join(missed))
    return "\n".join(lines), not missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutmut", default=str(Path(sys.executable).parent / "mutmut"))
    parser.add_argument("--equivalents", default="docs/testing.md", type=Path)
    parser.add_argument("--mutants", default="mutants", type=Path, help="mutmut's folder (for each survivor's change)")
    args = parser.parse_args(argv)
    listing = subprocess.run(  # noqa: S603
        [args.mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    statuses = parse_results(listing)
    if not statuses:
        print("make mutate: mutmut reported no mutants (did `mutmut run` finish?)", file=sys.stderr)
        return 2
    equivalents = parse_equivalents(args.equivalents.read_text()) if args.equivalents.exists() else {}
    text, ok = report(statuses, equivalents, args.mutants)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
