"""Where the CLI finds the project's files: relative to the current directory, as a user types them.

The installed ``dds-backup`` runs from any directory. Commands that need a file of the project (``template.yaml``,
``requirements.lock``, ``handler.py`` and ``lib/`` to package, a sample event) look for it where the user is, or
where the user points, and otherwise say where they looked and what to do, never where the tool happens to be
installed.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = "template.yaml"
LOCK = "requirements.lock"
#: What makes a folder the function's code root (what the zip is built from).
CODE = ("handler.py", "lib/__init__.py")


class NotFound(Exception):
    """A file of the project is not where it was looked for; the message says where, and what to do."""


def here() -> Path:
    return Path.cwd()


def _shown(path: Path) -> str:
    return str(path if path.is_absolute() else here() / path)


def template(given: str | None) -> Path:
    """``--template`` as given, else ``template.yaml`` in the current directory."""
    path = Path(given) if given else Path(TEMPLATE)
    if path.is_file():
        return path
    if given:
        raise NotFound(f"--template {given}: no such file (looked at {_shown(path)})")
    raise NotFound(
        f"no {TEMPLATE} in {here()}: run this in the dds-backup project (the folder of the clone), "
        "or give --template path/to/template.yaml"
    )


def code_root(template_path: Path) -> Path:
    """The project folder a template belongs to: the folder it is in, which must hold the code."""
    root = template_path.resolve().parent
    missing = [name for name in (*CODE, LOCK) if not (root / name).is_file()]
    if missing:
        raise NotFound(
            f"{root} holds {template_path.name} but not {', '.join(missing)}: packaging needs the whole project "
            "(a clone of the repository)"
        )
    return root


def event_file(given: str) -> Path:
    """An event file as given; a missing one is explained, with the way to get one anywhere."""
    path = Path(given)
    if path.is_file():
        return path
    from dds_backup_dev.events import KINDS

    kind = path.stem.split("-")[0]
    hint = (
        "; the sample events are in the project's events/ folder (run from the clone), or make one anywhere with "
        f"`dds-backup generate-event {kind if kind in KINDS else 'timer'} | dds-backup invoke -`"
    )
    raise NotFound(f"cannot read {given}: no such file (looked at {_shown(path)}){hint}")
