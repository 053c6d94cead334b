"""``dds-backup check``: a read-only preflight with the function's configuration.

It asks what the function will need: the configuration parses, the credentials authenticate, the DDS endpoint
answers, instances and backups can be listed, every configured request resolves to instances, every configured
topic exists, webhook secrets are well formed, each route runs its own check (or says that it trusts API
Gateway's), and (with ``--template``) each timer's request resolves, the timeout leaves room to wait, the
function can be deployed in REGION, and the routes have a domain for more than tests. It only reads: the one
write it may send is IAM's token request (password credentials). One ``Check`` per line, each failure with what
to change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

from dds_backup_dev import secret_rules
from dds_backup_dev.template import VAR_REF, Template
from dds_backup_dev.terraform import offered
from dds_backup_dev.terraform.variables import ROUTE_SWITCHES
from lib.cloud import regions
from lib.cloud.errors import ApiError, CloudError
from lib.config import TOPIC_URN, ConfigError, Settings, load_settings
from lib.dds.client import IAM_ACTIONS, DdsClient
from lib.http.app import route_checks
from lib.models import BackupRequest, ErrorInfo
from lib.runner.resolve import resolve
from lib.runtime import Invocation
from lib.service.clients import Clients, open_clients
from lib.smn.client import QUERY_ACTION
from lib.sources.common import parse_json_request

Status = Literal["ok", "fail", "skip", "warn"]
#: Told what the check is about to ask, for the progress lines of a slow answer.
Step = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# Time a waiting webhook needs beyond its wait: the create call before it, the answer after it.
WEBHOOK_MARGIN_S = 5
# A request that waits for its backup gets the invocation's remaining time; less than this rarely sees one end.
MIN_WAIT_TIMEOUT_S = 60
TOPIC_VARIABLES = ("RESULT_TOPIC_URN", "FANOUT_TOPIC_URN", "ALERT_TOPIC_URN")


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = {"ok": "ok  ", "fail": "FAIL", "skip": "skip", "warn": "WARN"}[self.status]
        return f"{mark}  {self.name}: {self.detail}" + (f" -> fix: {self.fix}" if self.fix else "")


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def warn(name: str, detail: str, fix: str) -> Check:
    """Works, but not as the user most likely wants: said, without failing the check."""
    return Check(name, "warn", detail, fix)


def report(checks: list[Check]) -> dict[str, Any]:
    return {"ok": all(c.status != "fail" for c in checks), "checks": [asdict(c) for c in checks]}


# -- what needs no network -------------------------------------------------------------------------------------


def secrets(invocation: Invocation) -> Iterator[Check]:
    """Each configured webhook secret against its sender's format (the value is never shown)."""
    for rule in secret_rules.RULES:
        value = invocation.lookup(rule.key)
        if value is None:
            continue
        problem = rule.problem(value.strip())
        yield (
            fail(rule.key, f"{rule.key} {problem}", rule.fix)
            if problem
            else ok(rule.key, f"well formed ({rule.shape})")
        )


def _gateway_auth(template: Template | None) -> dict[tuple[str, str], str]:
    """(method, path) -> the API Gateway route's own ``auth`` (NONE, APP, IAM), from the template's triggers."""
    out: dict[tuple[str, str], str] = {}
    for trigger in template.triggers if template else []:
        data = trigger.event_data
        if trigger.trigger_type_code == "DEDICATEDGATEWAY":
            out[(str(data.get("req_method", "")).upper(), str(data.get("path", "")))] = str(data.get("auth", "NONE"))
    return out


def routes(settings: Settings, template: Template | None) -> Iterator[Check]:
    """Each route of the function's route table: the check it runs and the secret it checks; a warning for a
    route that runs without its own check (its switch trusts API Gateway's authentication), a failure when the
    template's route for it has no authentication of its own either."""
    deployed = _gateway_auth(template)
    for route in route_checks():
        name = f"route {route.method} {route.path}"
        if route.trusts_gateway(settings):
            why = f"runs without its own check: {route.trust}=gateway trusts API Gateway's APP or IAM authentication"
            if deployed.get((route.method, route.path)) == "NONE":
                fix = f"set auth: APP (or IAM) on {route.path} in template.yaml, or unset {route.trust}"
                yield fail(name, f"{why}, and its route in template.yaml has auth: NONE: anyone can call it", fix)
            else:
                fix = f"give its API Gateway route APP or IAM auth, or unset {route.trust} to check {route.secret}"
                yield Check(name, "warn", why, fix)
        elif _configured(settings, route.secret):
            yield ok(name, f"{route.scheme} with {route.secret}")
        else:
            yield Check(name, "skip", f"{route.secret} is not set: the route answers 401 to every request")


def _configured(settings: Settings, variable: str) -> bool:
    return getattr(settings, variable.lower()) is not None


def topics(settings: Settings, invocation: Invocation, template: Template | None) -> list[tuple[str, str]]:
    """(where it is configured, URN) of every topic the function or its triggers use."""
    found = [(name, invocation.lookup(name)) for name in TOPIC_VARIABLES]
    out = [(name, urn) for name, urn in found if urn]
    for trigger in template.triggers if template else []:
        urn = str(trigger.event_data.get("topic_urn", ""))
        if trigger.trigger_type_code == "SMN" and urn and not re.fullmatch(VAR_REF, urn):
            out.append(("SMN trigger", urn))
    return out


def topic_shapes(found: list[tuple[str, str]]) -> Iterator[Check]:
    for where, urn in found:
        if not re.match(TOPIC_URN, urn):
            yield fail(f"topic {where}", f"{urn!r} is not a topic URN", "use urn:smn:<region>:<project id>:<name>")


def requests(settings: Settings, template: Template | None) -> list[tuple[str, BackupRequest | Check]]:
    """(name, request or the check that says why there is none) of DEFAULT_REQUEST and each timer."""
    out: list[tuple[str, BackupRequest | Check]] = []
    if settings.default_request is not None:
        out.append(("DEFAULT_REQUEST", settings.default_request))
    for trigger in template.triggers if template else []:
        if trigger.trigger_type_code != "TIMER":
            continue
        name = f"timer {trigger.event_data.get('name', '')}"
        text = str(trigger.event_data.get("user_event", "")).strip()
        if re.fullmatch(VAR_REF, text):
            out.append((name, Check(name, "skip", f"user_event is {text}: known when deployed")))
        elif text.startswith("{"):
            parsed = parse_json_request(text, "the timer's user_event")
            if isinstance(parsed, ErrorInfo):
                out.append((name, fail(name, parsed.message, "correct user_event in template.yaml")))
            else:
                out.append((name, parsed))
        elif settings.default_request is None:
            why = "user_event holds no JSON request, so the function uses DEFAULT_REQUEST, which is not set"
            out.append((name, fail(name, why, "set DEFAULT_REQUEST (Terraform: default_request)")))
        else:
            out.append((name, settings.default_request))
    return out


def timeout(settings: Settings, template: Template, waits: bool) -> Check:
    """Room to wait: webhook answers wait WEBHOOK_WAIT_SECONDS within the route's and the function's timeout;
    a request with ``wait`` needs a timeout a backup can end in."""
    limit = template.function.timeout
    wait = settings.webhook_wait
    for trigger in template.triggers:
        data = trigger.event_data
        if trigger.trigger_type_code == "DEDICATEDGATEWAY" and data.get("path") == "/backups":
            route_s = int(data.get("func_info", {}).get("timeout", 60000)) // 1000
            if wait + WEBHOOK_MARGIN_S > min(route_s, limit):
                room = min(route_s, limit) - WEBHOOK_MARGIN_S
                why = f"POST /backups waits {wait:g} s, the route allows {route_s} s and the function {limit} s"
                return fail("timeout", why, f"set WEBHOOK_WAIT_SECONDS to at most {room}, or raise func_info.timeout")
    if waits and limit < MIN_WAIT_TIMEOUT_S:
        why = f"a configured request has wait: true and the function's timeout is {limit} s"
        return fail("timeout", why, f"set timeout in template.yaml to at least {MIN_WAIT_TIMEOUT_S} s")
    return ok("timeout", f"{limit} s leaves room for waiting (webhooks wait {wait:g} s)")


# The routes' authentication, by route: the secret the function checks, or API Gateway's own (``WEBHOOK_AUTH``).
ROUTE_SECRETS = {
    "/backups": "WEBHOOK_SECRET",
    "/backups/{backup_id}": "WEBHOOK_SECRET",
    "/slack": "SLACK_SIGNING_SECRET",
    "/teams": "TEAMS_WEBHOOK_TOKEN",
    "/mattermost": "MATTERMOST_TOKEN",
}


def _terraform_input(name: str) -> str:
    """A Terraform variable as Terraform reads it from the environment (``TF_VAR_<name>``)."""
    return os.environ.get(f"TF_VAR_{name}", "").strip()


def _route_on(path: str, settings: Settings, invocation: Invocation) -> bool:
    """A route is meant to be on when its Terraform switch says so, or when the configuration authenticates it."""
    if _terraform_input(ROUTE_SWITCHES[path]).lower() == "true":
        return True
    gateway = settings.webhook_auth == "gateway" and path.startswith("/backups")
    return gateway or bool(invocation.lookup(ROUTE_SECRETS[path]))


def api_domain(settings: Settings, invocation: Invocation, template: Template) -> Check | None:
    """With routes on and no ``custom_domain``, callers get API Gateway's debug domain, which is for testing only:
    "For internal testing ... (maximum 1,000 times a day)", resolved "only to a server in the same VPC as the
    gateway" unless it has an EIP (OTC api-gateway umn/source/api_management/binding_a_domain_name.rst). A CI
    runner or a chat platform on the Internet cannot rely on it. None when no route is on."""
    paths = [str(t.event_data.get("path")) for t in template.triggers if t.trigger_type_code == "DEDICATEDGATEWAY"]
    on = [p for p in dict.fromkeys(paths) if p in ROUTE_SWITCHES and _route_on(p, settings, invocation)]
    if not on:
        return None
    domain = _terraform_input("custom_domain")
    routes = ", ".join(on)
    if domain:
        return ok("API domain", f"the routes ({routes}) are called at https://{domain}")
    why = (
        f"the routes ({routes}) would answer on the API group's debug domain, which is for testing only: reachable "
        "from the gateway's VPC alone (unless the gateway has an EIP) and 1000 calls a day"
    )
    return warn("API domain", why, "bind your own domain: custom_domain (TF_VAR_custom_domain), see docs/deployment.md")


def region(settings: Settings) -> Check | None:
    """The function can only be deployed where its cloud offers FunctionGraph (``offered.py``)."""
    if settings.region is None:
        return None
    cloud = regions.cloud(settings.region) or "huaweicloud"
    if offered.offered(cloud, offered.FUNCTIONGRAPH, settings.region):
        return ok("region", f"{settings.region} offers FunctionGraph")
    where = _names(list(offered.regions(cloud, offered.FUNCTIONGRAPH)), at_most=5)
    return warn(
        "region",
        f"{settings.region} does not offer FunctionGraph, so the function cannot be deployed there (the Terraform "
        f"refuses it); it is offered in {where}",
        "deploy the function in a region with FunctionGraph",
    )


# -- what asks the cloud ------------------------------------------------------------------------------------------


def credentials_source(settings: Settings) -> str:
    if settings.ak is not None:
        return "AK/SK of HUAWEICLOUD_SDK_AK"
    if settings.has_password:
        return f"IAM password token of {settings.os_username}"
    return "the agency"


def endpoint(settings: Settings) -> str:
    if settings.dds_endpoint:
        return settings.dds_endpoint
    found = regions.dds_endpoint(settings.region) if settings.region else None
    return found or "from the IAM catalog"


def refusal(exc: CloudError, settings: Settings, name: str, action: str) -> Check:
    """The check that names what to change for an error of the DDS or SMN API (``action``: the IAM action the
    call needs)."""
    status = exc.http_status
    if exc.code in ("APIG.0301", "APIG.0303", "DBS.280056") or status == 401:
        who = "HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK" if settings.ak else "the credentials"
        fix = f"check {who} (a key pair of this account that is enabled), and the machine's clock"
        return fail("authentication", f"the API refused them: {exc.message}", fix)
    if exc.code in ("DBS.280408", "DBS.280015") or ("project" in exc.message.lower() and status in (400, 403, 404)):
        fix = f"set PROJECT_ID to the project id of region {settings.region or '?'} (IAM console: My Credentials)"
        return fail("project", f"the API does not know the project: {exc.message}", fix)
    if status == 403:
        return fail(name, f"not allowed: {exc.message}", f"grant {action} to the user or agency running this")
    return fail(name, exc.message, "run again when the service answers" if exc.retryable else "see the message")


def not_run(because: str, *names: str) -> list[Check]:
    return [Check(name, "skip", f"not checked: {because}") for name in names]


async def instances(dds: DdsClient, settings: Settings) -> list[Check]:
    """One listing answers three questions: does the endpoint answer, are the credentials accepted, may we list."""
    try:
        found = await dds.list_instances()
    except CloudError as exc:
        if exc.http_status is None:
            fix = "check REGION (or DDS_ENDPOINT) and that this machine reaches the endpoint"
            return [fail("DDS endpoint", exc.message, fix), *not_run("no answer", "authentication", "list instances")]
        answered = ok("DDS endpoint", f"{endpoint(settings)} answers")
        return [answered, refusal(exc, settings, "list instances", IAM_ACTIONS["list_instances"])]
    return [
        ok("DDS endpoint", f"{endpoint(settings)} answers"),
        ok("authentication", f"accepted ({credentials_source(settings)})"),
        ok("list instances", f"{len(found)} instance(s) in project {dds.project_id}"),
    ]


def _names(names: list[str], at_most: int = 10) -> str:
    shown = ", ".join(names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")


async def request(dds: DdsClient, name: str, wanted: BackupRequest) -> Check:
    try:
        found = await resolve(dds, wanted)
    except CloudError as exc:
        return fail(name, exc.message, "correct the request")
    if found.missing:
        return fail(name, f"unknown instance id(s): {_names(found.missing)}", "correct the ids (see list instances)")
    if found.empty_selector:
        fix = "a name matches exactly, or in part after a leading *; tags (key=value) must be on the instances"
        return fail(name, "the selector matches no instance", fix)
    detail = f"{len(found.instances)} instance(s): {_names([i.name for i in found.instances])}"
    if wanted.audit is not None:
        return ok(name, detail + f"; an audit (reads only, {wanted.audit.max_age_hours} h)")
    busy = [i.name for i in found.instances if i.backup_blocker]
    if busy:
        detail += f"; not ready for a backup now: {_names(busy)}"
    if wanted.retention is not None:
        detail += f"; its retention needs {IAM_ACTIONS['delete_manual_backup']} (Terraform: enable_retention)"
    return ok(name, detail)


async def backups(dds: DdsClient, settings: Settings) -> Check:
    try:
        async for _ in dds.iter_backups():
            return ok("list backups", "works (the project has backups)")
    except CloudError as exc:
        return refusal(exc, settings, "list backups", IAM_ACTIONS["iter_backups"])
    return ok("list backups", "works (no backup yet)")


TOPIC_SWITCHES = {
    "RESULT_TOPIC_URN": "create_result_topic",
    "FANOUT_TOPIC_URN": "create_fanout_topic",
    "ALERT_TOPIC_URN": "create_alert_topic",
    "SMN trigger": "create_request_topic",
}


async def topic(clients: Clients, settings: Settings, where: str, urn: str) -> Check:
    name = f"topic {where}"
    assert clients.smn is not None  # built for the check whenever a topic is configured
    try:
        found = await clients.smn.get_topic(urn)
    except ApiError as exc:
        if exc.http_status == 404:
            fix = f"create it (Terraform: {TOPIC_SWITCHES[where]} = true) or correct the URN"
            return fail(name, f"{urn} does not exist", fix)
        return refusal(exc, settings, name, QUERY_ACTION)
    except CloudError as exc:
        return fail(name, exc.message, "check REGION (or SMN_ENDPOINT)")
    return ok(name, f"{found.topic_urn} exists")


# -- the whole check ---------------------------------------------------------------------------------------------


async def _with_clients(
    clients: Clients,
    settings: Settings,
    found: list[tuple[str, str]],
    wanted: list[tuple[str, BackupRequest | Check]],
    step: Step,
) -> list[Check]:
    step(f"listing the instances at {endpoint(settings)}")
    out = [ok("credentials", credentials_source(settings)), *await instances(clients.dds, settings)]
    if any(c.status == "fail" for c in out):
        names = [n for n, _ in wanted] + ["list backups"] + [f"topic {w}" for w, _ in found]
        return out + not_run("the DDS API could not be used", *names)
    for name, item in wanted:
        step(f"resolving what {name} selects")
        out.append(item if isinstance(item, Check) else await request(clients.dds, name, item))
    step("listing the backups")
    out.append(await backups(clients.dds, settings))
    for where, urn in found:
        step(f"looking up the topic of {where}")
        out.append(await topic(clients, settings, where, urn))
    return out


async def cloud(
    settings: Settings,
    invocation: Invocation,
    found: list[tuple[str, str]],
    wanted: list[tuple[str, Any]],
    step: Step = _quiet,
) -> list[Check]:
    wiring = settings
    if found and not (settings.result_topic_urn or settings.fanout_topic_urn):
        # open_clients builds an SMN client for the topics the function publishes to; the check asks about all.
        wiring = settings.model_copy(update={"result_topic_urn": found[0][1]})
    later = ["DDS endpoint", "authentication", "list instances", *(n for n, _ in wanted), "list backups"]
    later += [f"topic {w}" for w, _ in found]
    try:
        step("getting credentials")
        async with open_clients(wiring, invocation, invocation.deadline) as clients:
            return await _with_clients(clients, settings, found, wanted, step)
    except ConfigError as exc:
        return [fail("credentials", str(exc), "configure what the message names"), *not_run("no credentials", *later)]
    except CloudError as exc:
        fix = "check OS_USERNAME, OS_PASSWORD, OS_USER_DOMAIN_NAME and OS_PROJECT_NAME (or PROJECT_ID)"
        return [fail("credentials", exc.message, fix), *not_run("not authenticated", *later)]


def _summary(settings: Settings) -> str:
    given = {"REGION": settings.region, "DDS_ENDPOINT": settings.dds_endpoint, "PROJECT_ID": settings.project_id}
    return "valid (" + ", ".join(f"{k}={v}" for k, v in given.items() if v) + ")"


async def run(invocation: Invocation, template: Template | None = None, step: Step = _quiet) -> list[Check]:
    try:
        settings = load_settings(invocation.lookup)
    except ConfigError as exc:
        return [fail("configuration", str(exc), "correct the variable it names")]
    found = topics(settings, invocation, template)
    shapes = list(topic_shapes(found))
    bad = {c.name for c in shapes}
    found = [(w, u) for w, u in found if f"topic {w}" not in bad]
    wanted = requests(settings, template)
    cloud_checks = await cloud(settings, invocation, found, wanted, step)
    checks = [ok("configuration", _summary(settings)), *cloud_checks, *shapes]
    checks += list(secrets(invocation))
    checks += list(routes(settings, template))
    if template is not None:
        waits = any(isinstance(r, BackupRequest) and r.wait for _, r in wanted)
        checks.append(timeout(settings, template, waits))
        checks += [c for c in (region(settings), api_domain(settings, invocation, template)) if c is not None]
    return checks
