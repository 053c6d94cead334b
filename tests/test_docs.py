"""The documents stay true: every error code the code can emit and every outcome are in docs/codes.md, every
configuration variable in docs/configuration.md, every CLI command in docs/cli.md, who retries each trigger in
docs/triggers.md is what lib/delivery.py says, every link between the documents leads somewhere, and the README
stays a quick start."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from dds_backup_dev.cli import build_parser
from lib.codes import ErrorCode
from lib.config import CONFIG_KEYS
from lib.delivery import HUAWEICLOUD, OTC, TABLE, Retry
from lib.models import Outcome, Trigger
from tests.conftest import ROOT

DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
CODES = (DOCS / "codes.md").read_text()
CONFIGURATION = (DOCS / "configuration.md").read_text()
CLI_DOC = (DOCS / "cli.md").read_text()
TRIGGERS = (DOCS / "triggers.md").read_text()
# Every row of the codes table: its code.
_ROWS = re.compile(r"^\| `([A-Z][A-Z_.]+)` \|", re.MULTILINE)
# A string that is one of our codes, written out instead of named.
_SPELLED = re.compile(r"[\"']([A-Z][A-Z_]*(?:\.[A-Z_]+)?)[\"']")


def test_the_codes_document_lists_exactly_the_codes_of_the_enum() -> None:
    # Each code of ErrorCode, with its meaning and retryability beside it, is a row of docs/codes.md (serve's
    # three are told in the text below the table), and the table holds no code the enum does not.
    serve = {ErrorCode.BAD_HTTP_REQUEST, ErrorCode.REQUEST_TIMEOUT, ErrorCode.HANDLER_RAISED}
    rows = set(_ROWS.findall(CODES))
    assert sorted(c.value for c in ErrorCode if c not in serve and c.value not in rows) == []
    assert sorted(rows - {c.value for c in ErrorCode}) == []
    assert all(f"`{c.value}`" in CODES for c in serve)
    # the document's retryable column says what the enum says
    for code in ErrorCode:
        row = re.search(rf"^\| `{re.escape(code.value)}` \| [^|]+ \| ([^|]+) \|", CODES, re.MULTILINE)
        if row is not None and code is not ErrorCode.INTERNAL_ERROR:  # the one that depends (its row says on what)
            assert row.group(1).strip() == ("yes" if code.retryable else "no"), code


def test_no_code_of_ours_is_spelled_out_in_lib() -> None:
    # Every site names its code (ErrorCode.X): a typo is a NameError at import, never a new code in a result.
    ours = {c.value for c in ErrorCode}
    spelled = [
        f"{path.relative_to(ROOT)}: {text}"
        for path in (ROOT / "lib").rglob("*.py")
        if path != ROOT / "lib/codes.py"
        for text in _SPELLED.findall(path.read_text())
        if text in ours
    ]
    assert spelled == []


def test_every_outcome_is_in_the_codes_document() -> None:
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", CODES, re.MULTILINE))
    assert sorted(o.value for o in Outcome if o.value not in rows) == []


def test_every_configuration_variable_is_in_the_configuration_document() -> None:
    assert sorted(k for k in CONFIG_KEYS if f"`{k}`" not in CONFIGURATION) == []


def test_every_cli_command_is_in_the_cli_document() -> None:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert "invoke" in sub.choices
    assert sorted(c for c in sub.choices if f"`dds-backup {c}" not in CLI_DOC) == []


_RETRY_WORDS = {Retry.PLATFORM: "the platform", Retry.CALLER: "the caller", Retry.UNCERTAIN: "not guaranteed"}


def test_who_retries_each_trigger_is_what_the_delivery_table_says() -> None:
    """docs/triggers.md's table against lib/delivery.py (which cites the platform's documents), on both clouds."""
    section = TRIGGERS[TRIGGERS.index("## Who retries") :]
    rows = dict(re.findall(r"^\| (`[a-z`, ]+`) \| (.+) \|$", section, re.MULTILINE))
    said: dict[str, str] = {}
    for names, text in rows.items():
        for name in re.findall(r"`([a-z]+)`", names):
            said[name] = text
    assert sorted(said) == sorted(t.value for t in Trigger)
    for trigger in Trigger:
        for cloud in (OTC, HUAWEICLOUD):
            words = _RETRY_WORDS[TABLE[(trigger, cloud)].retry]
            assert said[trigger.value].startswith(words), (trigger, cloud, said[trigger.value])


def test_operations_does_not_promise_platform_retries_for_timers() -> None:
    operations = (DOCS / "operations.md").read_text()
    assert "Timers, Kafka and RocketMQ are not reliably retried by the platform" in operations
    assert "triggers.md#who-retries" in operations
    assert "nothing: the platform retries" not in operations


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _markdown() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", _markdown(), ids=lambda p: p.name)
def test_every_link_between_the_documents_leads_somewhere(page: Path) -> None:
    text = page.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), (page.name, target)
        if anchor and linked.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", linked.read_text(), re.MULTILINE)
            assert anchor in {_anchor(h) for h in headings}, (page.name, target)


def test_the_readme_is_a_quick_start() -> None:
    lines = README.splitlines()
    assert len(lines) <= 200
    for heading in ("## Quick start", "## A 60-second tour", "## Where to go next"):
        assert heading in lines
    for doc in ("triggers", "configuration", "deployment", "operations", "testing", "benchmarks", "codes"):
        assert f"](docs/{doc}.md)" in README
    # The reference lives in docs/, not here
    assert "| `INVALID_REQUEST`" not in README and "| `MAX_CONCURRENCY`" not in README


def test_the_documents_never_overwrite_tracked_sample_events() -> None:
    for page in _markdown():
        assert not re.search(r">\s*events/", page.read_text()), page.name


def test_the_github_delivery_header_is_described_once_and_as_the_code_reads_it() -> None:
    """It is trusted only where API Gateway authenticated the caller (lib/http/auth.py); a signed GitHub
    delivery is identified by its body."""
    mentions = {page.name: page.read_text().count("X-GitHub-Delivery") for page in _markdown()}
    assert {name for name, count in mentions.items() if count} == {"webhooks.md"}
    webhooks = " ".join((DOCS / "webhooks.md").read_text().split())
    assert "The `X-GitHub-Delivery` header is not signed, so it is not trusted" in webhooks
    assert (
        "`WEBHOOK_AUTH=gateway` (API Gateway authenticated the caller, no signature): the caller's `webhook-id`"
        in webhooks
    )
    auth = (ROOT / "lib/http/auth.py").read_text()
    gateway_branch = auth[auth.index("def _gateway_delivery(") : auth.index("# -- the chat platforms")]
    assert "x-github-delivery" in gateway_branch and auth.count("x-github-delivery") == 1


def test_the_python_versions_are_said_as_make_and_the_template_accept_them() -> None:
    from dds_backup_dev.template import Function

    makefile = (ROOT / "Makefile").read_text()
    assert "3.10|3.11|3.12) ;;" in makefile
    assert "Python 3.10, 3.11 or 3.12" in README  # what make accepts for the tools
    runtimes = Function.model_fields["runtime"].annotation.__args__  # type: ignore[union-attr]
    assert runtimes == ("Python3.10", "Python3.12")
    assert "Python 3.10 or\n3.12 runtime" in README  # what FunctionGraph runs the function on


def test_the_deployment_guides_first_test_runs_from_the_top_folder() -> None:
    """The pipeline script is at examples/ of the clone; Terraform's output is read from its own folder with
    -chdir, so the one command works from the clone's top folder, where make terraform wrote that folder."""
    guide = (DOCS / "deployment.md").read_text()
    step = guide[guide.index("## 4. A first test invocation") : guide.index("## 5.")]
    block = step[step.index("```sh") : step.index("```", step.index("```sh") + 5)]
    assert "terraform -chdir=dist/terraform/otc output -raw api_url" in block
    assert "sh examples/predeploy-backup.sh" in block and (ROOT / "examples/predeploy-backup.sh").exists()
    assert "cd dist/terraform" not in block
