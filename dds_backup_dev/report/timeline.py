"""The 30-day strip of one instance: an inline SVG with one mark per backup, placed by when it began, coloured by
its status and shaped by who made it. Failed backups sit on a lower lane, so that they stand apart without
colour too. The shapes are defined once per page (``DEFS``) and each mark refers to one (``<use>``), which keeps
a page of 50,000 marks small."""

from __future__ import annotations

from collections import Counter
from html import escape

from dds_backup_dev.report.model import BackupEntry
from dds_backup_dev.report.who import Who

WIDTH = 480  # SVG units for the whole window; the strip scales to its cell, shapes keep their proportions
HEIGHT = 32
LANE = {"FAILED": 23.0}
MAIN_LANE = 9.0

#: What each status is called on the page (and the CSS class of its colour).
STATUS_LABELS = {
    "COMPLETED": "completed",
    "FAILED": "failed",
    "BUILDING": "being made",
    "DISABLED": "being deleted",
}

#: Who made it, as the page groups it: (shape id, label). Queue, CloudEvents and direct calls share one shape.
SHAPES: dict[Who, tuple[str, str]] = {
    Who.TIMER: ("timer", "timer"),
    Who.WEBHOOK: ("webhook", "webhook"),
    Who.CHAT: ("chat", "chat"),
    Who.QUEUE: ("other", "queue"),
    Who.CLOUDEVENTS: ("other", "CloudEvents"),
    Who.DIRECT: ("other", "direct call"),
    Who.AUTOMATED: ("automated", "automated policy"),
    Who.BY_HAND: ("hand", "by hand"),
}

#: The legend's shapes, in the order the page lists them.
SHAPE_LEGEND = (
    ("timer", "timer"),
    ("webhook", "webhook"),
    ("chat", "chat"),
    ("other", "other source (queue, CloudEvents, direct call)"),
    ("automated", "automated policy"),
    ("hand", "by hand (no mark of this tool)"),
)

# Each shape centred on (0, 0); fill and stroke come from the mark's status (CSS on the <use>).
DEFS = """<svg class="defs" aria-hidden="true" focusable="false" width="0" height="0"><defs>
<circle id="timer" r="5"/>
<path id="webhook" d="M0-6.5L6.5 0L0 6.5L-6.5 0Z"/>
<path id="chat" d="M0-6.5L6.5 5.5L-6.5 5.5Z"/>
<rect id="other" x="-5" y="-5" width="10" height="10"/>
<rect id="automated" x="-1.75" y="-7" width="3.5" height="14"/>
<path id="hand" d="M-5-5L5 5M5-5L-5 5" fill="none" stroke-width="2.6"/>
</defs></svg>"""


def swatch(shape: str, status: str = "COMPLETED") -> str:
    """One shape alone (the legend's)."""
    return (
        f'<svg class="swatch" viewBox="-8 -8 16 16" width="16" height="16" aria-hidden="true" focusable="false">'
        f'<use href="#{shape}" class="s-{status.lower()}"/></svg>'
    )


def _x(entry: BackupEntry, days: int) -> float:
    """From the left edge (``days`` ago) to the right (the report's time), by the backup's age."""
    age = entry.age_hours if entry.age_hours is not None else days * 24.0
    return round(WIDTH * (1 - age / (days * 24.0)), 1)


def week_lines(days: int) -> list[float]:
    """Where one, two and three weeks ago fall (within the window)."""
    return [round(WIDTH * (1 - d / days), 1) for d in (7, 14, 21) if d < days]


def axis(days: int) -> str:
    """The scale above the strips: the weeks back from now."""
    ticks = "".join(
        f'<text x="{x:g}" y="13" text-anchor="middle">{d} d</text>'
        for x, d in zip(week_lines(days), (7, 14, 21), strict=False)
    )
    return (
        f'<svg class="axis" viewBox="-8 0 {WIDTH + 16} 17" aria-hidden="true" focusable="false">'
        f'<text x="0" y="13">{days} days ago</text>{ticks}<text x="{WIDTH}" y="13" text-anchor="end">now</text></svg>'
    )


def summary(backups: list[BackupEntry], days: int) -> str:
    """The strip in words: how many backups of each status, and by whom."""
    if not backups:
        return f"no backup in the last {days} days"
    statuses = Counter(STATUS_LABELS.get(b.status, b.status.lower()) for b in backups)
    makers = Counter(SHAPES[b.who][1] for b in backups)
    by_status = ", ".join(f"{n} {label}" for label, n in statuses.most_common())
    by_maker = ", ".join(f"{label} {n}" for label, n in makers.most_common())
    return f"{len(backups)} backups in {days} days: {by_status}; who: {by_maker}"


def strip(backups: list[BackupEntry], days: int) -> str:
    """The SVG of one instance's window (``backups`` began within it, newest first)."""
    grid = "".join(f'<line x1="{x:g}" x2="{x:g}" y1="2" y2="30"/>' for x in week_lines(days))
    marks = []
    for entry in reversed(backups):  # oldest first, so that the newest is drawn on top
        shape, who = SHAPES[entry.who]
        status = entry.status if entry.status in STATUS_LABELS else "OTHER"
        y = LANE.get(status, MAIN_LANE)
        label = STATUS_LABELS.get(status, entry.status.lower())
        marks.append(
            f'<use href="#{shape}" x="{_x(entry, days)}" y="{y}" class="s-{status.lower()}">'
            f"<title>{escape(entry.begin_time)} UTC, {label}, {escape(who)}: {escape(entry.name)}</title></use>"
        )
    words = escape(summary(backups, days))
    return (
        f'<svg class="strip" viewBox="-8 0 {WIDTH + 16} {HEIGHT}" role="img" '
        f'aria-label="{words}"><g class="grid">{grid}<line class="lane" x1="0" x2="{WIDTH}" y1="{LANE["FAILED"]}" '
        f'y2="{LANE["FAILED"]}"/></g>{"".join(marks)}</svg>'
    )
