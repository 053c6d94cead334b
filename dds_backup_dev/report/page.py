"""The fleet report as one self-contained HTML page: inline CSS and SVG, no script, and nothing fetched from
anywhere (its Content-Security-Policy forbids it), so that it opens offline and travels as an attachment.

Every text that comes from the API (names, ids, descriptions) is escaped. Each instance is one table row with
``data-instance-id`` and ``data-freshness`` for scripts; colours always come with words or shapes beside them.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from importlib import resources

from dds_backup_dev.report import timeline
from dds_backup_dev.report.model import BackupEntry, FleetReport, InstanceReport
from lib.models import BackupRequest

#: Nothing may be loaded: no script, font, image or stylesheet from anywhere, the page's own inline CSS aside.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"

FRESHNESS_LABELS = {
    "fresh": "fresh",
    "stale": "stale",
    "never": "never backed up",
    "unknown": "not listed",
}


def _css() -> str:
    return resources.files("dds_backup_dev.report").joinpath("page.css").read_text()


def size(kb: int) -> str:
    """KB (as the API counts) in the largest unit that keeps a number of at least 1."""
    value, unit = float(kb), "KB"
    for bigger in ("MB", "GB", "TB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.0f} {unit}" if unit == "KB" else f"{value:.1f} {unit}"


def age(hours: float) -> str:
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _policy(report: FleetReport) -> str:
    counted = "automated backups count" if report.policy.include_automated else "only manual backups count"
    return f"a completed backup within {report.policy.max_age_hours} hours; {counted}"


def _selection(report: FleetReport) -> str:
    request = BackupRequest.model_validate(report.selection)
    if request.instance_id is not None:
        return f"instance {request.instance_id}"
    if request.instance_ids is not None:
        return f"{len(request.instance_ids)} instances by id"
    sel = request.selector
    if sel is None or sel.all:
        return "every instance of the project"
    parts = [f"name {sel.name}"] if sel.name else []
    parts += [f"tag {k}={v}" for k, v in sel.tags.items()]
    parts += [f"mode {sel.mode}"] if sel.mode else []
    return "selected by " + ", ".join(parts)


def _header(report: FleetReport, generated: str) -> str:
    where = report.region or report.endpoint
    rows = (
        ("Project", f"<code>{escape(report.project_id)}</code>"),
        ("Region" if report.region else "Endpoint", escape(where)),
        ("Generated", escape(generated)),
        ("Policy", escape(_policy(report))),
        ("Instances", escape(_selection(report))),
    )
    items = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in rows)
    return f'<header><h1>DDS backups</h1><dl class="meta">{items}</dl></header>'


def _tile(kind: str, number: str, label: str) -> str:
    return f'<li class="tile {kind}"><span class="n">{number}</span> <span class="what">{label}</span></li>'


def _summary(report: FleetReport) -> str:
    s = report.summary
    days = report.window_days
    tiles = [
        _tile("all", str(s.instances), "instances"),
        _tile("fresh", str(s.fresh), "fresh"),
        _tile("stale", str(s.stale), "stale"),
        _tile("never", str(s.never), "never backed up"),
    ]
    if s.unknown:
        tiles.append(_tile("unknown", str(s.unknown), "could not be read"))
    tiles += [
        _tile("failed" if s.failed_in_window else "all", str(s.failed_in_window), f"failed backups in {days} days"),
        _tile("all", str(s.building), "being made now"),
        _tile("all", escape(size(s.size_kb)), "in completed backups"),
    ]
    return (
        f'<section aria-labelledby="fleet"><h2 id="fleet">Fleet</h2><ul class="summary">{"".join(tiles)}</ul></section>'
    )


def _legend(days: int) -> str:
    statuses = "".join(
        f"<li>{timeline.swatch('timer', status)} {label}{' (lower lane)' if status == 'FAILED' else ''}</li>"
        for status, label in timeline.STATUS_LABELS.items()
    )
    shapes = "".join(f"<li>{timeline.swatch(shape)} {label}</li>" for shape, label in timeline.SHAPE_LEGEND)
    return (
        '<div class="legend"><p>Each mark is one backup of the last '
        f"{days} days, placed by when it began; hover a mark for its name.</p>"
        f'<ul aria-label="Colour: the backup\'s status">{statuses}</ul>'
        f'<ul aria-label="Shape: who made it">{shapes}</ul></div>'
    )


def _badge(row: InstanceReport) -> str:
    label = FRESHNESS_LABELS[row.freshness]
    return f'<span class="badge {row.freshness}">{label}</span>'


def _newest(row: InstanceReport, limit: int) -> str:
    if row.age_hours is None:
        return '<span class="none">none</span>'
    share = min(row.age_hours / limit, 2.0) * 50  # the limit sits in the middle of the gauge
    over = "over" if row.age_hours > limit else "within"
    gauge = (
        f'<svg class="gauge {over}" viewBox="0 0 100 8" aria-hidden="true" focusable="false">'
        f'<rect class="track" width="100" height="8"/><rect class="bar" width="{share:.1f}" height="8"/>'
        '<line x1="50" x2="50" y1="0" y2="8"/></svg>'
    )
    return f"{age(row.age_hours)} ago <small>(limit {limit} h)</small>{gauge}"


def _failure(row: InstanceReport, days: int) -> str:
    last: BackupEntry | None = row.last_failure
    if last is None:
        return f'<span class="none">none in {days} days</span>'
    who = timeline.SHAPES[last.who][1]
    more = f"; {row.failed_in_window} failed in {days} days" if row.failed_in_window > 1 else ""
    return f'{escape(last.begin_time[:16])} UTC, {escape(who)}{more}<br><code class="name">{escape(last.name)}</code>'


def _row(row: InstanceReport, report: FleetReport) -> str:
    days = report.window_days
    limit = report.policy.max_age_hours
    state = "" if row.status.lower() == "normal" else f' <small class="state">instance {escape(row.status)}</small>'
    if row.freshness == "unknown":  # nothing was listed: nothing to draw or to count
        newest = strip = failure = '<span class="none">not listed</span>'
        words = ""
    else:
        newest, failure = _newest(row, limit), _failure(row, days)
        strip, words = timeline.strip(row.backups, days), escape(timeline.summary(row.backups, days))
    return (
        f'<tr data-instance-id="{escape(row.id)}" data-freshness="{row.freshness}">'
        f'<th scope="row" data-label="Instance"><span class="name">{escape(row.name)}</span>'
        f'<code class="id">{escape(row.id)}</code></th>'
        f'<td data-label="Mode">{escape(row.mode)}</td>'
        f'<td data-label="Status">{_badge(row)}{state}<p class="verdict">{escape(row.verdict)}</p></td>'
        f'<td data-label="Newest completed">{newest}</td>'
        f'<td data-label="Last {days} days (left: {days} days ago, right: now)" class="timeline">'
        f'{strip}<p class="count">{words}</p></td>'
        f'<td data-label="Last failure">{failure}</td>'
        "</tr>"
    )


def _table(report: FleetReport) -> str:
    days = report.window_days
    rows: Iterable[str] = (_row(r, report) for r in report.instances)
    body = "".join(rows) or '<tr><td colspan="6" class="none">No instance matches the selection.</td></tr>'
    return (
        '<section aria-labelledby="instances"><h2 id="instances">Instances, worst first</h2>'
        f"{_legend(days)}"
        "<table><caption>One row per instance, worst first: not listed, never backed up, stale, fresh; within "
        "each, more failures first, then older.</caption>"
        '<thead><tr><th scope="col">Instance</th><th scope="col">Mode</th><th scope="col">Status</th>'
        '<th scope="col">Newest completed</th>'
        f'<th scope="col" class="timeline">Last {days} days{timeline.axis(days)}</th>'
        '<th scope="col">Last failure</th></tr></thead>'
        f"<tbody>{body}</tbody></table></section>"
    )


def _footer() -> str:
    return (
        "<footer><p>Read-only report by <code>dds-backup report</code>. Fresh, stale and never come from the same "
        "verdict as the function's audit requests. A backup is the function's when its description carries the "
        "function's mark; the mark also names the source that asked for it. Backups of type Auto come from the "
        "instance's automated backup policy. DDS lists that a backup failed, not why: the reason is with the "
        "backup's task in the DDS console's Task Center.</p></footer>"
    )


def render(report: FleetReport) -> str:
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    where = report.region or report.endpoint
    title = f"DDS backups: {report.project_id} ({where}), {generated}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{_css()}</style></head><body>"
        f"{timeline.DEFS}{_header(report, generated)}<main>{_summary(report)}{_table(report)}</main>"
        f"{_footer()}</body></html>\n"
    )
