"""HCL expressions inside Terraform's JSON syntax, and the conditions that turn parts of the deployment on.

In a ``.tf.json`` file every string value is a template: ``"${expr}"`` is an expression, and a literal ``${`` must
be written ``$${``. Values built here are either literals (escaped when rendered) or ``Expr`` (rendered as a
reference, never escaped), so a reference can never come out as text and text never as a reference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

VAR_REF = re.compile(r"\$\{var\.([A-Za-z_][A-Za-z0-9_]*)\}")


class Expr(str):
    """An HCL expression (a reference, a function call), rendered as is."""

    __slots__ = ()


def escape(text: str) -> str:
    """A literal for a template: ``${`` and ``%{`` are doubled so that Terraform reads them as text."""
    return text.replace("${", "$${").replace("%{", "%%{")


def _string(text: str, inputs: Mapping[str, str]) -> str:
    """A string of template.yaml as an HCL expression: ``${var.X}`` becomes the input's expression."""
    whole = VAR_REF.fullmatch(text)
    if whole is not None:
        return inputs.get(whole.group(1), f"var.{whole.group(1)}")
    parts: list[str] = []
    last = 0
    for ref in VAR_REF.finditer(text):
        parts.append(escape(json.dumps(text[last : ref.start()])[1:-1]))
        parts.append("${" + inputs.get(ref.group(1), f"var.{ref.group(1)}") + "}")
        last = ref.end()
    parts.append(escape(json.dumps(text[last:])[1:-1]))
    return '"' + "".join(parts) + '"'


def hcl(value: Any, inputs: Mapping[str, str] | None = None) -> str:
    """A value as an HCL expression. ``inputs`` maps a template variable to the expression that stands for it
    (a variable, or a local value when Terraform may create the thing itself)."""
    inputs = inputs or {}
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{escape(json.dumps(str(k)))} = {hcl(v, inputs)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(hcl(v, inputs) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if value is None:
        return "null"
    return _string(str(value), inputs)


def jsonencode(value: Any, inputs: Mapping[str, str] | None = None) -> Expr:
    return Expr(f"jsonencode({hcl(value, inputs)})")


def tf(value: Any) -> Any:
    """A value for the JSON file: expressions as ``${...}``, literal strings escaped, containers walked."""
    if isinstance(value, Expr):
        return "${" + value + "}"
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {k: tf(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [tf(v) for v in value]
    return value


# -- conditions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cond:
    """A condition over the variables, as HCL (for ``count``, preconditions, policy actions) and as a Python test
    of the same meaning, so that what a set of variables turns on can be asked without Terraform."""

    expr: str
    test: Callable[[Mapping[str, Any]], bool]

    def __or__(self, other: Cond) -> Cond:
        return Cond(f"({self.expr} || {other.expr})", lambda v: self.test(v) or other.test(v))

    def __and__(self, other: Cond) -> Cond:
        return Cond(f"({self.expr} && {other.expr})", lambda v: self.test(v) and other.test(v))

    def __invert__(self) -> Cond:
        return Cond(f"!({self.expr})", lambda v: not self.test(v))

    def count(self) -> Expr:
        return Expr(f"{self.expr} ? 1 : 0")


ALWAYS = Cond("true", lambda _: True)


def counted(cond: Cond) -> dict[str, Expr]:
    """The ``count`` of a resource that exists only under ``cond`` (nothing for one that always exists)."""
    return {} if cond is ALWAYS else {"count": cond.count()}


def flag(name: str) -> Cond:
    return Cond(f"var.{name}", lambda v: bool(v[name]))


def given(name: str) -> Cond:
    return Cond(f'(var.{name} != "")', lambda v: v[name] not in ("", None))


def any_of(*conds: Cond) -> Cond:
    if not conds:
        return ~ALWAYS
    result = conds[0]
    for c in conds[1:]:
        result = result | c
    return result
