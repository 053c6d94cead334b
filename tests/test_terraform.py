"""The Terraform rendering: references that are references, arguments the providers know at the versions we
require, opt-in triggers, and (with the ``terraform`` binary, providers replaced by ``terraform_data``) plans."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dds_backup_dev import secret_rules
from dds_backup_dev.secret_rules import RULES, variable
from dds_backup_dev.template import check_cron, load
from dds_backup_dev.terraform import Deployment, build
from dds_backup_dev.terraform.clouds import CLOUDS
from dds_backup_dev.terraform.parts import policy_pieces
from dds_backup_dev.terraform.tfvars import example
from dds_backup_dev.terraform.variables import CRON, DEFAULT_SCHEDULE
from lib.cloud import regions
from lib.config import OTC_REGIONS
from tests import terraform_shadow
from tests.conftest import ROOT
from tests.terraform_shadow import SCHEMAS

# The whole module renders and plans with the terraform binary: not in `make test-fast`.
pytestmark = pytest.mark.servers

TEMPLATE = load(ROOT / "template.yaml")
CLOUD_KEYS = ["otc", "huaweicloud"]
REGION = {"otc": "eu-de", "huaweicloud": "ap-southeast-3"}
REQUEST = '{"selector": {"name": "*-prod"}}'
PROJECT = "0549b4a43100d4f32f51c01c2fe4acdb"


def deployment(cloud: str) -> Deployment:
    return build(TEMPLATE, cloud)


def timer_only(cloud: str) -> dict[str, Any]:
    return {"region": REGION[cloud], "default_request": REQUEST}


# -- walking the expressions ----------------------------------------------------------------------------------

FUNCTIONS = {"jsonencode", "jsondecode", "filebase64", "format", "lookup", "concat", "one", "can", "regex", "try"}
FUNCTIONS |= {"length", "setintersection", "keys", "alltrue", "contains", "startswith", "replace"}
FUNCTIONS |= {"trimprefix", "substr", "textdecodebase64", "textencodebase64", "distinct", "split"}
BUILTINS = {"path", "count", "terraform", "each", "self", "true", "false", "null", "for", "in", "if"}
_IDENT = re.compile(r"(?<![\w.\]])([A-Za-z_][\w-]*)((?:\.[A-Za-z_*][\w-]*|\[[^\]]*\])*)")


def _close(text: str, i: int) -> int:
    """The index of the ``}`` that closes the interpolation whose body starts at ``i``."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _string_end(text, i)
        elif c in "{([":
            depth += 1
        elif c in "})]":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise AssertionError(f"unbalanced interpolation in {text!r}")


def _string_end(text: str, i: int) -> int:
    i += 1
    while text[i] != '"':
        if text[i] == "\\":
            i += 1
        elif text.startswith("${", i):
            i = _close(text, i + 2)
        i += 1
    return i


def interpolations(template: str) -> list[str]:
    """The expressions of a template (``$${`` is a literal and starts none)."""
    out, i = [], 0
    while i < len(template):
        if template.startswith("$${", i):
            i += 3
        elif template.startswith("${", i):
            end = _close(template, i + 2)
            out.append(template[i + 2 : end])
            i = end + 1
        else:
            i += 1
    return out


def code_and_strings(expr: str) -> tuple[str, list[str]]:
    """The expression without its string literals, and the literals (templates themselves)."""
    code, strings, i = [], [], 0
    while i < len(expr):
        if expr[i] == '"':
            end = _string_end(expr, i)
            strings.append(expr[i + 1 : end])
            code.append('""')
            i = end + 1
        else:
            code.append(expr[i])
            i += 1
    return "".join(code), strings


def references(expr: str) -> Iterator[tuple[str, str]]:
    """(root, traversal) of every reference in an expression, nested templates included."""
    code, strings = code_and_strings(expr)
    loop_vars = set(re.findall(r"\bfor\s+(\w+)(?:\s*,\s*(\w+))?\s+in\b", code))
    local_names = {n for pair in loop_vars for n in pair if n}
    for m in _IDENT.finditer(code):
        rest = code[m.end() :].lstrip()
        if rest.startswith("(") and not m[2]:
            assert m[1] in FUNCTIONS, f"unknown function {m[1]} in {expr}"
            continue
        if re.match(r"=(?![=>])", rest) or m[1] in local_names or m[1] in BUILTINS:
            continue
        yield m[1], m[2]
    for text in strings:
        for inner in interpolations(text):
            yield from references(inner)


def templates(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, string) of every string Terraform reads as a template (not defaults, types, descriptions)."""

    def walk(value: Any, where: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, str):
            yield where, value
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in ("ignore_changes", "replace_triggered_by", "description"):
                    yield from walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for n, v in enumerate(value):
                yield from walk(v, f"{where}[{n}]")

    for section in ("provider", "locals", "resource", "data", "output"):
        yield from walk(doc.get(section, {}), section)
    for name, var in doc["variable"].items():
        for rule in var.get("validation", []):
            yield from walk(rule, f"variable.{name}.validation")


def _check_reference(doc: dict[str, Any], root: str, traversal: str, where: str) -> None:
    steps = re.findall(r"\.([\w*-]+)|\[([^\]]*)\]", traversal)
    names = [a for a, _ in steps]
    if root in ("var", "local"):
        section = doc["variable"] if root == "var" else doc["locals"]
        assert names[0] in section, f"{where}: {root}.{names[0]} is not declared"
        return
    kind, name = (f"data.{names[0]}", names[1]) if root == "data" else (root, names[0])
    steps = steps[2:] if root == "data" else steps[1:]
    blocks = doc["data"][kind.removeprefix("data.")] if root == "data" else doc["resource"].get(kind, {})
    assert name in blocks, f"{where}: {kind}.{name} is not declared"
    counted = "count" in blocks[name]
    indexed = bool(steps) and steps[0][1] != ""
    assert counted == indexed, (
        f"{where}: {kind}.{name} is {'' if counted else 'not '}counted, referenced as {traversal}"
    )
    attribute = steps[1][0] if indexed and len(steps) > 1 else (steps[0][0] if steps else "")
    schema = SCHEMAS[kind]
    if attribute:
        assert attribute in schema["arguments"] or attribute in schema["attributes"], (
            f"{where}: {kind} has no {attribute}"
        )


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_every_reference_names_a_declared_variable_local_resource_or_data_source(cloud: str) -> None:
    doc = deployment(cloud).doc
    seen = 0
    for where, text in templates(doc):
        for expr in interpolations(text):
            for root, traversal in references(expr):
                _check_reference(doc, root, traversal, where)
                seen += 1
    for kind, blocks in doc["resource"].items():
        for name, body in blocks.items():
            for ref in body.get("lifecycle", {}).get("replace_triggered_by", []):
                root, _, traversal = ref.partition(".")
                _check_reference(doc, root, "." + traversal, f"{kind}.{name}.lifecycle")
    assert seen > 100


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_no_reference_is_escaped_into_text(cloud: str) -> None:
    text = json.dumps(deployment(cloud).doc)
    kinds = "|".join(["var", "local", "data", "terraform_data", *(c.function for c in CLOUDS.values())])
    assert not re.search(rf"\$\$\{{\s*({kinds})\b", text)
    # The API Gateway triggers' function is the function resource (the bug this rendering fixes).
    assert "$${" not in text


def test_the_walk_catches_what_it_is_for() -> None:
    doc = deployment("otc").doc
    assert list(references('jsonencode({a = var.x, "b" = local.y, c = "${var.z}"})')) == [
        ("var", ".x"),
        ("local", ".y"),
        ("var", ".z"),
    ]
    assert interpolations("$${var.x} and ${var.y}") == ["var.y"]
    with pytest.raises(AssertionError, match="not declared"):
        _check_reference(doc, "var", ".nope", "test")
    with pytest.raises(AssertionError, match="is counted"):
        _check_reference(doc, "opentelekomcloud_smn_topic_v2", ".result.topic_urn", "test")
    with pytest.raises(AssertionError, match="has no"):
        _check_reference(doc, "opentelekomcloud_fgs_function_v2", ".dds_backup.arn", "test")


# -- the providers' schemas -------------------------------------------------------------------------------------

META = {"count", "lifecycle", "depends_on", "dynamic", "provider", "for_each"}
TYPES: dict[str, type] = {
    "string": str,
    "int": int,
    "bool": bool,
    "float": float,
    "list": list,
    "set": list,
    "map": dict,
}


def _check_value(value: Any, spec: dict[str, Any], where: str) -> None:
    if isinstance(value, str) and interpolations(value) and value.startswith("${") and value.endswith("}"):
        return  # an expression: Terraform checks its type (the shadow plans below)
    if spec["type"] == "dynamic":
        return
    if spec["type"] == "block":
        items = value if isinstance(value, list) else [value]
        assert all(isinstance(i, dict) for i in items), f"{where}: a block is an object (or a list of them)"
        assert len(items) <= spec.get("max_items", len(items)), f"{where}: at most {spec['max_items']}"
        for item in items:
            check_arguments(item, spec["elem"]["arguments"], where)
        return
    assert isinstance(value, TYPES[spec["type"]]), f"{where}: {spec['type']} expected, got {value!r}"
    if "allowed_values" in spec:
        assert value in spec["allowed_values"], f"{where}: {value!r} not in {spec['allowed_values']}"
    if isinstance(value, list) and isinstance(spec.get("elem"), str):
        for item in value:
            _check_value(item, {"type": spec["elem"]}, f"{where}[]")


def check_arguments(body: dict[str, Any], schema: dict[str, Any], where: str) -> None:
    args = {k: v for k, v in body.items() if k not in META}
    for name, block in body.get("dynamic", {}).items():
        args[name] = block["content"]
    unknown = set(args) - set(schema)
    assert not unknown, f"{where}: unknown arguments {sorted(unknown)}"
    missing = {n for n, s in schema.items() if s["required"]} - set(args)
    assert not missing, f"{where}: missing required {sorted(missing)}"
    for name, value in args.items():
        spec = schema[name]
        _check_value(value, spec, f"{where}.{name}")
        for other in spec.get("conflicts_with", []):
            assert other not in args, f"{where}: {name} conflicts with {other}"
        for other in spec.get("required_with", []):
            assert other in args, f"{where}: {name} needs {other}"
        group = [name, *spec.get("exactly_one_of", [])]
        if len(group) > 1:
            assert sum(g in args for g in group) == 1, f"{where}: exactly one of {group}"


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_every_rendered_block_uses_only_known_arguments_all_required_ones_with_their_types(cloud: str) -> None:
    doc = deployment(cloud).doc
    for prefix, blocks in (("", doc["resource"]), ("data.", doc.get("data", {}))):
        for kind, by_name in blocks.items():
            for name, body in by_name.items():
                check_arguments(body, SCHEMAS[prefix + kind]["arguments"], f"{prefix}{kind}.{name}")
    for provider, body in doc["provider"].items():
        check_arguments(body, SCHEMAS[f"provider.{provider}"]["arguments"], f"provider.{provider}")


def test_the_schema_check_refuses_what_the_provider_would() -> None:
    schema = SCHEMAS["opentelekomcloud_identity_agency_v3"]["arguments"]
    good: dict[str, Any] = {
        "name": "a",
        "delegated_domain_name": "op_svc_cff",
        "project_role": [{"project": "eu-de", "roles": ["r"]}],
    }
    check_arguments(good, schema, "ok")
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "delegated_service_name": "op_svc_cff"}, "unknown arguments"),  # Huawei's spelling
        ({k: v for k, v in good.items() if k != "delegated_domain_name"}, "missing required"),
        ({**good, "project_role": [{"roles": ["r"]}]}, "missing required"),  # project is required up to 1.36.23
        ({**good, "project_role": "eu-de"}, "a block is an object"),
        ({**good, "name": 7}, "string expected"),
    ]
    for bad, message in cases:
        with pytest.raises(AssertionError, match=message):
            check_arguments(bad, schema, "bad")


def test_the_schema_data_says_where_each_fact_comes_from() -> None:
    rendered = {
        prefix + kind
        for cloud in CLOUD_KEYS
        for prefix, blocks in (
            ("", deployment(cloud).doc["resource"]),
            ("data.", deployment(cloud).doc.get("data", {})),
        )
        for kind in blocks
    }
    assert rendered <= set(SCHEMAS)
    for kind, entry in SCHEMAS.items():
        assert entry["repository"].startswith("github.com/") and entry["path"].endswith(".go"), kind
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", entry["version"]) and entry["read_at"], kind


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.lstrip("v").split("."))


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_the_provider_constraint_is_the_first_version_with_every_resource(cloud: str) -> None:
    c = CLOUDS[cloud]
    doc = deployment(cloud).doc
    kinds = [k for k in doc["resource"] if k.startswith(c.provider)] + [f"data.{k}" for k in doc.get("data", {})]
    first = max(_version(SCHEMAS[k]["first_version"]) for k in kinds)
    assert doc["terraform"]["required_providers"][c.provider]["version"] == ">= " + ".".join(map(str, first))
    # The arguments were checked at that version.
    assert {_version(SCHEMAS[k]["version"]) for k in kinds} == {first}


# -- what each variable turns on ----------------------------------------------------------------------------------

TIMER = "timer_nightly_backup"
GATEWAY = {"apig_instance_id": "gw-1", "create_apig_group": True}
SECRETS = {
    "webhook_secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "slack_signing_secret": "8f742231b10e8888abcd99b1f9e85a5c",
    "teams_webhook_token": "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=",
    "mattermost_token": "qzgakf1nx3yt9dr4n8585ihbxy",
}
OPT_INS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("timer only", {}, {TIMER}),
    ("nothing", {"enable_timer": False, "default_request": ""}, set()),
    ("kafka", {"enable_kafka": True, "kafka_instance_id": "k-1", "vpc_id": "vpc-1", "subnet_id": "net-1"}, {"kafka"}),
    ("fan-out, created", {"create_fanout_topic": True}, {"smn_fanout"}),
    ("fan-out, given", {"fanout_topic_urn": f"urn:smn:eu-de:{PROJECT}:dds-backup-fanout"}, {"smn_fanout"}),
    ("requests", {"create_request_topic": True}, {"smn_request"}),
    (
        "webhooks",
        {"enable_webhooks": True, **GATEWAY, "webhook_secret": SECRETS["webhook_secret"]},
        {"apig_dds_backup_create", "apig_dds_backup_status"},
    ),
    (
        "slack",
        {"enable_slack": True, **GATEWAY, "slack_signing_secret": SECRETS["slack_signing_secret"]},
        {"apig_dds_backup_slack"},
    ),
    (
        "teams",
        {"enable_teams": True, **GATEWAY, "teams_webhook_token": SECRETS["teams_webhook_token"]},
        {"apig_dds_backup_teams"},
    ),
    (
        "mattermost",
        {"enable_mattermost": True, **GATEWAY, "mattermost_token": SECRETS["mattermost_token"]},
        {"apig_dds_backup_mattermost"},
    ),
]
EVERYTHING = {
    "enable_retention": True,
    "default_retention": '{"keep_last": 7, "max_age_days": 30}',
    "create_result_topic": True,
    "create_fanout_topic": True,
    "create_alert_topic": True,
    "create_request_topic": True,
    "enable_kafka": True,
    "kafka_instance_id": "k-1",
    "vpc_id": "vpc-1",
    "subnet_id": "net-1",
    "enable_webhooks": True,
    "enable_slack": True,
    "enable_teams": True,
    "enable_mattermost": True,
    **GATEWAY,
    **SECRETS,
}


def triggers_on(d: Deployment, cloud: str, tfvars: dict[str, Any]) -> set[str]:
    prefix = CLOUDS[cloud].trigger + "."
    return {a.removeprefix(prefix) for a in d.enabled(tfvars) if a.startswith(prefix)}


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
@pytest.mark.parametrize(("case", "extra", "added"), OPT_INS, ids=[c for c, _, _ in OPT_INS])
def test_each_trigger_is_rendered_when_its_variable_says_so_and_absent_otherwise(
    cloud: str, case: str, extra: dict[str, Any], added: set[str]
) -> None:
    d = deployment(cloud)
    expected = added | ({TIMER} if extra.get("enable_timer", True) else set())
    assert triggers_on(d, cloud, {**timer_only(cloud), **extra}) == expected
    trigger = CLOUDS[cloud].trigger
    for name in expected:  # each has the event_data that carries it
        assert f"terraform_data.{name}_event_data" in d.enabled({**timer_only(cloud), **extra})
        assert d.doc["resource"][trigger][name]["lifecycle"]["ignore_changes"] == ["event_data"]


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_a_timer_only_deployment_creates_the_function_its_timer_and_its_agency(cloud: str) -> None:
    c = CLOUDS[cloud]
    expected = {
        f"{c.function}.dds_backup",
        f"{c.trigger}.{TIMER}",
        f"terraform_data.{TIMER}_event_data",
        f"{c.agency}.dds_backup",
        f"{c.role}.dds_backup",
    }
    # Huawei's async config takes a missing destination: it sets the retries even without an alert topic.
    if not c.otc:
        expected.add(f"{c.async_config}.dds_backup")
    assert deployment(cloud).enabled(timer_only(cloud)) == expected
    assert [v.name for v in deployment(cloud).variables.values() if v.required] == ["region"]


def _policy(tfvars: dict[str, Any], cloud: str) -> list[str]:
    values = deployment(cloud).values({**timer_only(cloud), **tfvars})
    return [a for cond, actions in policy_pieces() for a in actions if cond.test(values)]


def test_the_agency_gets_exactly_the_actions_of_what_is_turned_on() -> None:
    from lib.dds.client import IAM_ACTIONS
    from lib.smn.client import IAM_ACTION, QUERY_ACTION

    base = list(dict.fromkeys(a for k, a in IAM_ACTIONS.items() if k != "delete_manual_backup"))
    assert _policy({}, "otc") == base and len(set(base)) == len(base) == 3  # each action once
    assert _policy({"enable_retention": True}, "otc") == [*base, IAM_ACTIONS["delete_manual_backup"]]
    assert _policy({"create_result_topic": True}, "otc") == [*base, IAM_ACTION]
    assert _policy({"create_alert_topic": True}, "otc") == [*base, IAM_ACTION, QUERY_ACTION]
    kafka = _policy({"enable_kafka": True}, "otc")
    assert "dms:instance:get" in kafka and "vpc:ports:create" in kafka and IAM_ACTION not in kafka


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_secrets_are_sensitive_and_only_in_encrypted_user_data(cloud: str) -> None:
    doc = deployment(cloud).doc
    (function,) = doc["resource"][CLOUDS[cloud].function].values()
    for rule in RULES:
        assert doc["variable"][variable(rule)]["sensitive"] is True
        assert f"var.{variable(rule)}" in function["encrypted_user_data"]
        assert rule.key not in function["user_data"] and variable(rule) not in function["user_data"]
    assert "ALERT_TOPIC_URN" in function["user_data"] and "local.alert_topic_urn" in function["user_data"]
    assert not [n for n, v in doc["variable"].items() if v.get("sensitive") and n not in {variable(r) for r in RULES}]


@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_every_variable_is_described_and_typed_and_the_region_is_the_clouds_own(cloud: str) -> None:
    doc = deployment(cloud).doc
    for name, var in doc["variable"].items():
        assert var["description"] and var["type"] in ("string", "bool"), name
    assert [r["condition"] for r in doc["variable"]["backup_schedule"]["validation"]]
    (function,) = doc["resource"][CLOUDS[cloud].function].values()
    assert '"REGION" = var.region' in function["user_data"]
    assert "eu-de" not in json.dumps(doc["resource"])
    assert doc["provider"][CLOUDS[cloud].provider] == {"region": "${var.region}"}


def test_open_telekom_cloud_regions_are_the_ones_the_function_knows() -> None:
    otc = {
        r
        for r in ("eu-de", "eu-nl", "eu-ch2", "eu-west-101", "ap-southeast-3")
        if "t-systems" in regions.iam_endpoint(r)
    }
    assert otc == set(OTC_REGIONS)


@pytest.mark.parametrize(
    "schedule",
    ["0 30 12 ? * MON-FRI", "CRON_TZ=Europe/Berlin 0 0 12 * * *", "0 */15 * * * ?", "@every 2h30m", "0 0 12 * *"],
)
def test_the_schedule_validation_accepts_what_functiongraph_accepts(schedule: str) -> None:
    check_cron(schedule)
    assert re.fullmatch(CRON, schedule)


@pytest.mark.parametrize("schedule", ["every day", "0 0 12 * * * * *", "@every ", "CRON_TZ=Europe/Berlin"])
def test_the_schedule_validation_refuses_what_is_not_a_cron(schedule: str) -> None:
    assert not re.fullmatch(CRON, schedule)


def test_the_default_schedule_is_a_valid_cron() -> None:
    check_cron(DEFAULT_SCHEDULE)


def test_render_writes_main_tf_json_and_the_tfvars_example(tmp_path: Path) -> None:
    out = tmp_path / "huaweicloud" / "main.tf.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dds_backup_dev.cli",
            "render",
            "terraform",
            "--cloud",
            "huaweicloud",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["terraform"]["required_providers"]["huaweicloud"] == {
        "source": "huaweicloud/huaweicloud",
        "version": ">= 1.62.1",
    }
    tfvars = (out.parent / "terraform.tfvars.example").read_text()
    assert re.search(r'^region = "ap-southeast-3"$', tfvars, re.M) and re.search(r"^default_request = ", tfvars, re.M)
    for name in doc["variable"]:
        assert re.search(rf"^(# )?{name} = ", tfvars, re.M), name


# -- terraform itself (providers replaced by terraform_data) ---------------------------------------------------

needs_terraform = pytest.mark.skipif(terraform_shadow.TERRAFORM is None, reason="no terraform binary")


def shadow_plan(cloud: str, tfvars: dict[str, Any] | str, folder: Path) -> terraform_shadow.Plan:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pkg.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    return terraform_shadow.plan(build(TEMPLATE, cloud, package="pkg.zip").doc, tfvars, folder)


@needs_terraform
@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_terraform_plans_the_timer_only_example_as_rendered(cloud: str, tmp_path: Path) -> None:
    d = build(TEMPLATE, cloud, package="pkg.zip")
    text = example(d.variables, cloud)
    result = shadow_plan(cloud, text, tmp_path)
    assert result.error == ""
    assert set(result.created) == d.enabled(timer_only(cloud))
    c = CLOUDS[cloud]
    function = result.created[f"{c.function}.dds_backup"]
    assert (function["vpc_id"], function["network_id"]) == (None, None)
    timer = json.loads(result.created[f"terraform_data.{TIMER}_event_data"])
    assert timer == {
        "name": "nightly-backup",
        "schedule_type": "Cron",
        "schedule": DEFAULT_SCHEDULE,
        "user_event": "nightly",
    }
    role = result.created[f"{c.role}.dds_backup"]
    actions = role["statement"][0]["action"] if c.otc else json.loads(role["policy"])["Statement"][0]["Action"]
    assert actions == _policy({}, cloud)


@needs_terraform
@pytest.mark.parametrize("cloud", CLOUD_KEYS)
@pytest.mark.parametrize("case", ["everything", "kafka", "webhooks"])
def test_terraform_plans_what_the_variables_turn_on(cloud: str, case: str, tmp_path: Path) -> None:
    extra = EVERYTHING if case == "everything" else next(e for c, e, _ in OPT_INS if c == case)
    tfvars = {**timer_only(cloud), **extra}
    result = shadow_plan(cloud, tfvars, tmp_path)
    assert result.error == ""
    assert set(result.created) == deployment(cloud).enabled(tfvars)
    c = CLOUDS[cloud]
    if tfvars.get("enable_kafka"):
        function = result.created[f"{c.function}.dds_backup"]
        assert (function["vpc_id"], function["network_id"]) == ("vpc-1", "net-1")
    if tfvars.get("enable_webhooks"):
        create = json.loads(result.created["terraform_data.apig_dds_backup_create_event_data"] or "null")
        assert create is None or create["path"] == "/backups"  # unknown until the group exists


@needs_terraform
@pytest.mark.parametrize(
    ("cloud", "extra", "fix"),
    [
        ("huaweicloud", {"region": "eu-de"}, "render with --cloud otc"),
        ("otc", {"region": "ap-southeast-3"}, "region: eu-de, the only Open Telekom Cloud region with FunctionGraph"),
        ("otc", {"region": "eu-nl"}, "(eu-nl and eu-ch2 have neither)"),
        ("huaweicloud", {"region": "cn-north-2"}, "a Huawei Cloud region with FunctionGraph"),
        ("otc", {"custom_domain": "https://backup.example.com"}, "custom_domain: a host name"),
        ("otc", {"custom_domain": "backup.example.com"}, "custom_domain is the domain of the API Gateway routes"),
        ("huaweicloud", {"region": "eu-fr"}, "a Huawei Cloud region with FunctionGraph"),
        ("otc", {"default_request": ""}, "the timer backs up default_request: set it"),
        ("otc", {"enable_webhooks": True, **GATEWAY}, "enable_webhooks needs webhook_secret"),
        ("otc", {"webhook_secret": "whsec_c2hvcnQ="}, "webhook_secret must be a whsec_ secret of at least 24"),
        ("otc", {"webhook_secret": "whsec_" + "A" * 32}, "webhook_secret must be a whsec_ secret of at least 24"),
        ("otc", {"webhook_secret": "a" * 24}, "or a plain secret of at least 24 characters"),
        ("otc", {"enable_kafka": True}, "enable_kafka needs kafka_instance_id, vpc_id and subnet_id"),
        (
            "otc",
            {"enable_slack": True, "slack_signing_secret": SECRETS["slack_signing_secret"]},
            "need apig_instance_id",
        ),
        ("otc", {"default_retention": '{"keep_last": 7}'}, "set enable_retention = true"),
        ("otc", {"backup_schedule": "every night"}, "backup_schedule: e.g."),
        ("huaweicloud", {"create_agency": False}, "set agency_name"),
    ],
)
def test_terraform_refuses_a_deployment_that_cannot_work_and_says_what_to_set(
    cloud: str, extra: dict[str, Any], fix: str, tmp_path: Path
) -> None:
    result = shadow_plan(cloud, {**timer_only(cloud), **extra}, tmp_path)
    assert fix in " ".join(result.error.split()), result.error
    assert not result.created


@needs_terraform
@pytest.mark.parametrize("cloud", CLOUD_KEYS)
def test_the_url_to_call_is_the_custom_domain_and_the_debug_domain_is_said_to_be_for_tests(
    cloud: str, tmp_path: Path
) -> None:
    webhooks = {**next(e for c, e, _ in OPT_INS if c == "webhooks"), "create_apig_group": False, "apig_group_id": "g1"}
    custom = shadow_plan(cloud, {**timer_only(cloud), **webhooks, "custom_domain": "backup.example.com"}, tmp_path)
    assert custom.error == ""
    assert custom.outputs["api_url"] == "https://backup.example.com"
    if cloud == "otc":  # OTC's debug domain is known at plan time (Huawei's is read from the gateway)
        assert custom.outputs["api_debug_domain"] == "g1.apic.eu-de.otc.t-systems.com"
        debug = shadow_plan(cloud, {**timer_only(cloud), **webhooks}, tmp_path / "debug")
        assert debug.outputs["api_url"] == "https://g1.apic.eu-de.otc.t-systems.com"
    outputs = deployment(cloud).doc["output"]
    assert "for testing only" in outputs["api_debug_domain"]["description"]
    assert "testing only" in outputs["api_url"]["description"]
    assert "1000 calls a day" in deployment(cloud).doc["variable"]["custom_domain"]["description"]


def _async(cloud: str, tfvars: dict[str, Any]) -> dict[str, Any] | None:
    d = deployment(cloud)
    address = f"{CLOUDS[cloud].async_config}.dds_backup"
    if address not in d.enabled({**timer_only(cloud), **tfvars}):
        return None
    config: dict[str, Any] = d.doc["resource"][CLOUDS[cloud].async_config]["dds_backup"]
    return config


@pytest.mark.parametrize("alerts", [{"create_alert_topic": True}, {"alert_topic_urn": f"urn:smn:eu-de:{PROJECT}:a"}])
def test_successes_never_go_to_the_alert_topic_on_open_telekom_cloud(alerts: dict[str, Any]) -> None:
    # GIVEN an alert topic and no result topic: OTC's async config needs a success destination too
    config = _async("otc", alerts)
    assert config is not None
    assert "alert_topic_urn" in config["on_failure"][0]["param"]
    assert config["on_success"][0]["param"] == "${jsonencode({topic_urn = local.result_topic_urn})}"
    # THEN the deployment creates the result topic for them
    assert "opentelekomcloud_smn_topic_v2.result" in deployment("otc").enabled({**timer_only("otc"), **alerts})
    # AND a given result topic is used instead of a created one
    given = {**alerts, "result_topic_urn": f"urn:smn:eu-de:{PROJECT}:r"}
    assert "opentelekomcloud_smn_topic_v2.result" not in deployment("otc").enabled({**timer_only("otc"), **given})
    # AND without an alert topic there is no async config and no topic
    assert _async("otc", {}) is None
    assert "opentelekomcloud_smn_topic_v2.result" not in deployment("otc").enabled(timer_only("otc"))


def test_huawei_cloud_takes_the_failure_destination_alone() -> None:
    config = _async("huaweicloud", {"create_alert_topic": True})
    assert config is not None and "on_success" not in config and "on_success" not in config.get("dynamic", {})
    assert "huaweicloud_smn_topic.result" not in deployment("huaweicloud").enabled(
        {**timer_only("huaweicloud"), "create_alert_topic": True}
    )


@needs_terraform
def test_terraform_plans_the_stand_in_result_topic(tmp_path: Path) -> None:
    result = shadow_plan("otc", {**timer_only("otc"), "create_alert_topic": True}, tmp_path)
    assert result.error == ""
    assert {"opentelekomcloud_smn_topic_v2.result", "opentelekomcloud_fgs_async_invoke_config_v2.dds_backup"} <= set(
        result.created
    )


def test_the_deployment_guide_names_every_switch_and_shows_the_smallest_tfvars() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    for cloud in CLOUD_KEYS:
        for name, var in deployment(cloud).variables.items():
            if var.type == "bool" or var.sensitive or name.endswith(("_topic_urn", "_id")):
                assert f"`{name}" in guide, name
        smallest = (
            f'region          = "{REGION[cloud]}"\ndefault_request = "{{\\"selector\\": {{\\"name\\": \\"*-prod\\"}}}}"'
        )
        assert smallest in guide
    assert "dist/terraform/<cloud>/main.tf.json" in guide and "dds-backup check --template template.yaml" in guide


# -- the secret rules: the function, `dds-backup check` and Terraform agree --------------------------------------


def _whsec(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


SECRET_SAMPLES = [
    "",
    SECRETS["webhook_secret"],
    SECRETS["slack_signing_secret"],
    SECRETS["teams_webhook_token"],
    SECRETS["mattermost_token"],
    _whsec(bytes(range(32))),
    _whsec(bytes(range(32))).rstrip("="),
    _whsec(bytes(range(33))) + "=",  # more padding than needed
    _whsec(bytes(range(25)))[:-1],  # a bit left over
    _whsec(bytes(24)),  # zeros
    _whsec(bytes(range(7)) * 4),  # 7 byte values
    _whsec(bytes(range(8)) * 3),  # 8: the least
    _whsec(b"\r\n" * 9 + bytes(range(100, 106))),  # CR LF pairs, which Terraform would read as one character
    _whsec(b"\r\n" * 9 + bytes(range(100, 107))),
    "whsec_" + "A-_" * 11,
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
    "a" * 24,
    "abcdefg" * 4,
    "abcdefgh" * 3,
    "--------------------AAAA",
    "It's a Secret to Everybody",
    "short",
    "é" * 30,
    "xoxb-1234-5678-abcdefghijkl",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
    "https://prod-01.westeurope.logic.azure.com/workflows/x?sig=y",
    "https://evil.example/logic.azure.com/x",
]


@needs_terraform
@pytest.mark.parametrize("rule", RULES, ids=[r.key for r in RULES])
def test_the_terraform_condition_of_each_secret_is_the_functions_rule(rule: Any, tmp_path: Path) -> None:
    # GIVEN sample values, good and bad (the bad ones as found: zero keys, two-letter plain secrets, lax base64)
    (tmp_path / "samples.tf.json").write_text(json.dumps({"locals": {"samples": SECRET_SAMPLES}}))
    expression = "[for s in local.samples : " + secret_rules.condition(rule, "s") + "]"
    (tmp_path / "terraformrc").touch()
    env = {"PATH": "/usr/bin:/bin", "TF_CLI_CONFIG_FILE": str(tmp_path / "terraformrc"), "CHECKPOINT_DISABLE": "1"}
    assert terraform_shadow.TERRAFORM is not None
    console = subprocess.run(
        [terraform_shadow.TERRAFORM, "console"],
        input=expression,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert console.returncode == 0, console.stderr
    terraform = json.loads(console.stdout.replace(",\n]", "\n]"))
    # THEN Terraform accepts exactly what the function (and `dds-backup check`, which asks the same rule) accepts
    function = [value == "" or rule.problem(value) is None for value in SECRET_SAMPLES]
    assert terraform == function, [
        (v, t) for v, t, f in zip(SECRET_SAMPLES, terraform, function, strict=True) if t != f
    ]


@pytest.mark.parametrize(
    ("user_data", "needed"),
    [
        ({}, ["enable_mattermost", "enable_slack", "enable_teams", "enable_webhooks"]),
        ({"WEBHOOK_AUTH": "gateway"}, ["enable_mattermost", "enable_slack", "enable_teams"]),
        ({"CHAT_AUTH": "gateway"}, ["enable_webhooks"]),
        ({"WEBHOOK_AUTH": "gateway", "CHAT_AUTH": "GATEWAY"}, []),
    ],
)
def test_a_route_needs_its_secret_unless_its_own_switch_trusts_the_gateway(
    user_data: dict[str, str], needed: list[str]
) -> None:
    from dds_backup_dev.terraform.function import ROUTE_SECRETS, _checks

    f = TEMPLATE.function
    template = TEMPLATE.model_copy(
        update={"function": f.model_copy(update={"user_data": {**f.user_data, **user_data}})}
    )
    switches = sorted(m.split()[0] for _, m in _checks(template) if m.split()[0] in ROUTE_SECRETS)
    assert switches == needed
