"""Run the rendered Terraform through the real ``terraform`` binary without its providers.

The providers cannot be downloaded here, so every provider resource and data source becomes a ``terraform_data``
(Terraform's built-in resource) whose input holds the same arguments plus stand-ins for the attributes the
configuration reads (from tests/fixtures/terraform/schemas.json). What is left is Terraform's own work, done by
Terraform: parsing, every expression and reference, ``count``, variable validation, preconditions, outputs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import REFERENCE

SCHEMAS: dict[str, Any] = json.loads((REFERENCE / "terraform" / "schemas.json").read_text())
TERRAFORM = shutil.which("terraform")
_PROVIDER_REF = re.compile(
    r"(?<![\w.])(data\.)?((?:opentelekomcloud|huaweicloud)_[a-z0-9_]+)\.([a-z0-9_]+)(\[[^\]]*\])?"
)
_META = ("count", "lifecycle", "depends_on")


def _rewrite(value: Any) -> Any:
    if isinstance(value, str):
        return _PROVIDER_REF.sub(
            lambda m: f"terraform_data.{'data_' if m[1] else ''}{m[2]}__{m[3]}{m[4] or ''}.output", value
        )
    if isinstance(value, dict):
        return {k: _rewrite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v) for v in value]
    return value


def _stand_ins(kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, nested in SCHEMAS[kind]["attributes"].items():
        out[name] = f"shadow-{name}" if nested is None else [{sub: f"shadow-{sub}" for sub in nested}]
    return out


def _convert(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    args = {k: v for k, v in body.items() if k not in _META}
    dynamic = args.pop("dynamic", {})
    args |= {f"dynamic_{name}": block for name, block in dynamic.items()}
    out: dict[str, Any] = {k: body[k] for k in _META if k in body}
    out["input"] = {**_stand_ins(kind), **args}
    lifecycle = dict(out.get("lifecycle", {}))
    if "ignore_changes" in lifecycle:
        lifecycle["ignore_changes"] = ["input"]
    if lifecycle:
        out["lifecycle"] = lifecycle
    converted: dict[str, Any] = _rewrite(out)
    return converted


def shadow(doc: dict[str, Any]) -> dict[str, Any]:
    data_stores: dict[str, Any] = {
        name: _rewrite(body) for name, body in doc["resource"].get("terraform_data", {}).items()
    }
    for prefix, blocks in (("", doc["resource"]), ("data_", doc.get("data", {}))):
        for kind, by_name in blocks.items():
            if kind == "terraform_data":
                continue
            schema = ("data." if prefix else "") + kind
            for name, body in by_name.items():
                data_stores[f"{prefix}{kind}__{name}"] = _convert(schema, body)
    return {
        "terraform": {"required_version": doc["terraform"]["required_version"]},
        "variable": doc["variable"],
        "locals": _rewrite(doc["locals"]),
        "resource": {"terraform_data": data_stores},
        "output": _rewrite(doc["output"]),
    }


def _terraform(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert TERRAFORM is not None
    config = folder / "terraformrc"
    config.touch()
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    return subprocess.run(
        [TERRAFORM, *args, "-no-color"], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@dataclass(frozen=True)
class Plan:
    created: dict[str, Any]  # address (rendered name, no instance key) -> its planned arguments
    error: str
    #: The outputs whose values are known at plan time.
    outputs: dict[str, Any] = field(default_factory=dict)


def plan(doc: dict[str, Any], tfvars: dict[str, Any] | str, folder: Path) -> Plan:
    """``terraform plan`` of the shadow with these variables (a dict, or the text of a .tfvars file)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.tf.json").write_text(json.dumps(shadow(doc), indent=1))
    if isinstance(tfvars, str):
        (folder / "test.tfvars").write_text(tfvars)
    else:
        (folder / "test.tfvars").write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in tfvars.items()) + "\n")
    init = _terraform(folder, "init", "-input=false", "-backend=false")
    if init.returncode != 0:
        return Plan({}, init.stderr or init.stdout)
    proc = _terraform(folder, "plan", "-input=false", "-var-file=test.tfvars", "-out=plan.bin")
    if proc.returncode != 0:
        return Plan({}, proc.stderr or proc.stdout)
    shown = json.loads(_terraform(folder, "show", "-json", "plan.bin").stdout)
    created: dict[str, Any] = {}
    for change in shown.get("resource_changes", []):
        if "create" in change["change"]["actions"]:
            address = _original(re.sub(r"\[\d+\]$", "", change["address"]))
            created.setdefault(address, (change["change"].get("after") or {}).get("input"))
    outputs = {name: o.get("value") for name, o in shown.get("planned_values", {}).get("outputs", {}).items()}
    return Plan(created, "", outputs)


def _original(address: str) -> str:
    """terraform_data.data_T__N -> data.T.N; terraform_data.T__N -> T.N."""
    name = address.removeprefix("terraform_data.")
    if "__" not in name:
        return address
    kind, _, rest = name.partition("__")
    return f"data.{kind.removeprefix('data_')}.{rest}" if kind.startswith("data_") else f"{kind}.{rest}"
