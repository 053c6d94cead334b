"""``template.yaml``: the function and its triggers in FunctionGraph API / Terraform field names, validated.

Keys mirror CreateFunction, CreateTrigger (``trigger_type_code``, ``event_data``) and the async invocation
config (FunctionGraph API reference: "Creating a Function", "Creating a Trigger"), so that the file maps 1:1 onto
the REST API and both Terraform providers.
Every problem is reported at once, each with the line of ``template.yaml`` it is on; a key written twice in one
mapping is one of them (YAML would silently keep the last).
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lib.config import CONFIG_KEYS, SECRET_KEYS, TOPIC_URN
from lib.models import field_errors

ROOT = Path(__file__).resolve().parent.parent


class TemplateError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- schedules (OTC cron_expressions_for_a_function_timer_trigger.rst) -----------------------------------

_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
_CRON_FIELDS = [  # (name, min, max, names)
    ("seconds", 0, 59, None),
    ("minutes", 0, 59, None),
    ("hours", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
]


def _cron_value(text: str, low: int, high: int, names: str | None) -> bool:
    if names and re.fullmatch(names, text, re.IGNORECASE):
        return True
    return text.isdigit() and low <= int(text) <= high


def _cron_field(text: str, name: str, low: int, high: int, names: str | None) -> None:
    if text == "?" and name in ("day-of-month", "day-of-week"):
        return
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            raise ValueError(f"{name}: bad step in {part!r}")
        if base == "*":
            continue
        lo, _, hi = base.partition("-")
        if not _cron_value(lo, low, high, names) or (hi and not _cron_value(hi, low, high, names)):
            raise ValueError(f"{name}: {part!r} is outside {low}-{high}")


def check_cron(schedule: str) -> None:
    text = schedule.strip()
    if text.startswith("CRON_TZ="):
        _, _, text = text.partition(" ")
    if text.startswith("@every "):
        if not re.fullmatch(r"@every (\d+h)?(\d+m)?", text) or text == "@every ":
            raise ValueError("@every needs a duration such as 30m or 2h30m")
        return
    fields = text.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            f"a cron schedule has 6 fields (seconds minutes hours day-of-month month day-of-week), got {len(fields)}"
        )
    for value, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=False):
        _cron_field(value, name, low, high, names)


def check_rate(schedule: str) -> None:
    match = re.fullmatch(r"(\d+)([mhd])", schedule.strip())
    limits = {"m": 60, "h": 24, "d": 30}
    if match is None or not 1 <= int(match.group(1)) <= limits[match.group(2)]:
        raise ValueError("a rate is 1-60m, 1-24h or 1-30d, e.g. 30m")


# -- triggers -----------------------------------------------------------------------------------------------


# A Terraform variable reference stands for a value that the renderer does not know.
VAR_REF = r"\$\{var\.[A-Za-z_][A-Za-z0-9_]*\}"


class TimerEventData(_Strict):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    schedule_type: Literal["Cron", "Rate"]
    schedule: str
    user_event: str = Field(default="", max_length=2047)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str, info: ValidationInfo) -> str:
        # A variable is checked where its value is known: the Terraform variable's own validation.
        if not re.fullmatch(VAR_REF, value):
            (check_cron if info.data.get("schedule_type") == "Cron" else check_rate)(value)
        return value


class SmnEventData(_Strict):
    topic_urn: str = Field(pattern=rf"^({TOPIC_URN.strip('^$')}|{VAR_REF})$")


class KafkaEventData(_Strict):
    instance_id: str
    topic_ids: list[str] = Field(min_length=1)
    batch_size: int = Field(default=100, ge=1, le=1000)
    kafka_user: str | None = None
    kafka_password: str | None = None


class FuncInfo(_Strict):
    function_urn: str | None = None  # FunctionGraph knows it from the trigger's function; optional in the API
    invocation_type: Literal["sync", "async"] = "sync"
    timeout: int = Field(default=60000, ge=1, le=60000)
    version: str = "latest"


#: The API Gateway paths the function answers (lib/http/app.py and the chat routes).
ROUTES = ("/backups", "/backups/{backup_id}", "/slack", "/teams", "/mattermost")


class ApigEventData(_Strict):
    name: str
    type: int = 1
    path: str = Field(pattern=r"^/")
    protocol: Literal["HTTPS", "HTTP", "BOTH"] = "HTTPS"
    req_method: Literal["GET", "POST", "PUT", "DELETE", "ANY"]
    group_id: str
    group_name: str | None = None
    instance_id: str
    env_name: str = "RELEASE"
    env_id: str = "DEFAULT_ENVIRONMENT_RELEASE_ID"
    auth: Literal["NONE", "APP", "IAM"]
    match_mode: Literal["NORMAL", "SWA"] = "NORMAL"
    backend_type: Literal["FUNCTION"] = "FUNCTION"
    sl_domain: str | None = None
    func_info: FuncInfo = Field(default_factory=FuncInfo)

    @field_validator("path")
    @classmethod
    def _known_route(cls, value: str) -> str:
        if value not in ROUTES:
            raise ValueError(f"the function answers {', '.join(ROUTES)}")
        return value


_EVENT_DATA: dict[str, type[_Strict]] = {
    "TIMER": TimerEventData,
    "SMN": SmnEventData,
    "KAFKA": KafkaEventData,
    "OPENSOURCEKAFKA": KafkaEventData,
    "ROCKETMQ": KafkaEventData,
    "DEDICATEDGATEWAY": ApigEventData,
}


class Trigger(_Strict):
    trigger_type_code: Literal["TIMER", "SMN", "KAFKA", "OPENSOURCEKAFKA", "ROCKETMQ", "DEDICATEDGATEWAY"]
    trigger_status: Literal["ACTIVE", "DISABLED"] = "ACTIVE"
    event_data: dict[str, Any]

    @field_validator("event_data")
    @classmethod
    def _event_data(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = info.data.get("trigger_type_code")
        if kind in _EVENT_DATA:
            _EVENT_DATA[kind].model_validate(value)  # its errors are re-located field by field in load()
        return value


# -- function and async config -----------------------------------------------------------------------------


def handler_problem(handler: str, root: Path = ROOT, *more: Path) -> str | None:
    """None when ``file.function`` names a top-level function of a file in the code root (read, not imported):
    ``root``, else the first of ``more`` that holds the file."""
    module, _, function = handler.rpartition(".")
    if not module or not function:
        return "must be file.function, e.g. handler.handler"
    candidates = [where / (module.replace(".", "/") + ".py") for where in (root, *more)]
    path = next((c for c in candidates if c.is_file()), candidates[0])
    if not path.is_file():
        looked = " or ".join(str(c.parent) for c in candidates)
        return f"{path.name} does not exist in the code root (looked in {looked})"
    tree = ast.parse(path.read_text())
    if not any(isinstance(n, ast.FunctionDef) and n.name == function for n in tree.body):
        return f"{path.name} has no top-level function {function!r}"
    return None


def _known_variable(key: str) -> str:
    if key not in CONFIG_KEYS:
        close = difflib.get_close_matches(key, CONFIG_KEYS, n=1)
        known = f"did you mean {close[0]}?" if close else f"the function reads only {', '.join(sorted(CONFIG_KEYS))}"
        raise ValueError(f"unknown variable {key}: {known}")
    return key


def _plain_variable(key: str) -> str:
    """Secrets go to encrypted_user_data, never to user_data."""
    if _known_variable(key) in SECRET_KEYS:
        raise ValueError(f"{key} is a secret: put it in encrypted_user_data, not user_data")
    return key


#: FunctionGraph's limit on a function's environment variables, names and values together.
MAX_VARIABLE_CHARS = 4096


def variables_size(user_data: Any, encrypted: Any) -> int:
    both = [d for d in (user_data, encrypted) if isinstance(d, dict)]
    return sum(len(str(k)) + len(str(v)) for d in both for k, v in d.items())


class Function(_Strict):
    func_name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,59}$")
    package: str = "default"
    runtime: Literal["Python3.10", "Python3.12"]
    handler: str
    code_type: Literal["zip", "obs"] = "zip"
    code_filename: str = "dds-backup.zip"
    memory_size: int = Field(ge=128, le=10240)
    timeout: int = Field(ge=3, le=259200)
    xrole: str | None = None
    app_xrole: str | None = None
    description: str | None = None
    # Each key is checked on its own, so that each wrong one is named on its own line.
    user_data: dict[Annotated[str, AfterValidator(_plain_variable)], str] = Field(default_factory=dict)
    encrypted_user_data: dict[Annotated[str, AfterValidator(_known_variable)], str] = Field(default_factory=dict)

    @field_validator("handler")
    @classmethod
    def _handler(cls, value: str, info: ValidationInfo) -> str:
        # The code is next to the template; a copy of the template elsewhere is read with the code of here.
        root = (info.context or {}).get("root", ROOT)
        if (problem := handler_problem(value, root, Path.cwd())) is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _size(self) -> Function:
        total = variables_size(self.user_data, self.encrypted_user_data)
        if total > MAX_VARIABLE_CHARS:
            raise ValueError(size_problem(total))
        return self

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("Python")


class Destination(_Strict):
    destination: Literal["SMN", "OBS", "FunctionGraph", "DIS"]
    param: dict[str, Any]


class AsyncConfig(_Strict):
    max_async_retry_attempts: int = Field(ge=0, le=3)
    max_async_event_age_in_seconds: int = Field(ge=1, le=86400)
    on_success: Destination | None = None
    on_failure: Destination | None = None


class Template(_Strict):
    function: Function
    triggers: list[Trigger] = Field(default_factory=list)
    async_invoke_config: AsyncConfig | None = None


def size_problem(total: int) -> str:
    return f"environment variables total {total} characters; FunctionGraph allows {MAX_VARIABLE_CHARS}"


# -- loading with line numbers -----------------------------------------------------------------------------


Loc = tuple[Any, ...]


def _lines(node: yaml.Node, path: Loc, out: dict[Loc, int], twice: list[tuple[Loc, int, int]]) -> None:
    """The line of every field (a field is reported on its key's line), and every key written twice in one
    mapping: (path, its line, the line of its first occurrence)."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key, value in node.value:
            child = (*path, key.value)
            line = key.start_mark.line + 1
            if key.value in first:
                twice.append((child, line, first[key.value]))
            else:
                first[key.value] = line
                out[child] = line
            _lines(value, child, out, twice)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), out, twice)


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


def declared_timeout(path: Path) -> int | None:
    """``function.timeout`` of a template, or None when there is no readable one (nothing else is checked)."""
    try:
        data = yaml.safe_load(path.read_text())
        timeout = data["function"]["timeout"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return timeout if isinstance(timeout, int) and not isinstance(timeout, bool) else None


def load(path: Path) -> Template:
    """The template, validated; every problem found is in the one TemplateError, each with its line. The code
    the handler string names is looked for next to the template."""
    text = path.read_text()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark is not None else path.name
        raise TemplateError(f"{where}: not valid YAML: {exc}") from None
    lines: dict[tuple[Any, ...], int] = {}
    twice: list[tuple[tuple[Any, ...], int, int]] = []
    if node is not None:
        _lines(node, (), lines, twice)
    problems = [
        (line, f"{path.name}:{line}: {_dotted(at)}: written twice (first on line {first}); YAML keeps only the last")
        for at, line, first in twice
    ]
    try:
        template = Template.model_validate(data, context={"root": path.resolve().parent})
    except ValidationError as exc:
        for loc, error in _located_errors(exc, data):
            if loc[-1:] == ("[key]",):  # a mapping's key: reported as the key itself, on its line
                loc = loc[:-1]
                error.field = _dotted(loc)
            at = loc
            while at and at not in lines:
                at = at[:-1]
            line = lines.get(at, 1)
            problems.append((line, f"{path.name}:{line}: {error.field}: {error.message}"))
        problems += _size_beside(exc, data, path, lines)
    else:
        if not problems:
            return template
    raise TemplateError("\n".join(message for _, message in sorted(problems, key=lambda p: p[0])))


def _size_beside(
    exc: ValidationError, data: Any, path: Path, lines: dict[tuple[Any, ...], int]
) -> list[tuple[int, str]]:
    """The variables' total size, which the model checks only once every field is valid."""
    function = data.get("function") if isinstance(data, dict) else None
    if not isinstance(function, dict) or any(e["msg"].endswith(f"allows {MAX_VARIABLE_CHARS}") for e in exc.errors()):
        return []
    total = variables_size(function.get("user_data"), function.get("encrypted_user_data"))
    if total <= MAX_VARIABLE_CHARS:
        return []
    line = lines.get(("function", "user_data"), lines.get(("function",), 1))
    return [(line, f"{path.name}:{line}: function: {size_problem(total)}")]


def _located_errors(exc: ValidationError, data: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """(full loc, FieldError) pairs; an event_data error is re-validated to point at the field inside it."""
    out = []
    for err, fe in zip(exc.errors(), field_errors(exc), strict=True):
        loc = tuple(err["loc"])
        if len(loc) == 3 and loc[0] == "triggers" and loc[2] == "event_data":
            trigger = data["triggers"][loc[1]]
            try:
                _EVENT_DATA[trigger["trigger_type_code"]].model_validate(trigger["event_data"])
            except (ValidationError, KeyError, TypeError) as inner:
                if isinstance(inner, ValidationError):
                    for sub, sub_fe in zip(inner.errors(), field_errors(inner), strict=True):
                        full = (*loc, *sub["loc"])
                        sub_fe.field = ".".join(str(p) for p in full)
                        out.append((full, sub_fe))
                    continue
        out.append((loc, fe))
    return out
