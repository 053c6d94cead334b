"""The DDS API's own rules for backup names and descriptions (OTC DDS API reference, "Creating a Manual Backup";
the carriage return from the user guide's page of the same name).

One place, used by the request model, the name template and the emulator, so that the three cannot drift.
Each function returns every violated rule as a sentence a user can act on; empty means valid.
"""

from __future__ import annotations

import re

NAME_MIN = 4
NAME_MAX = 64
DESCRIPTION_MAX = 256
DESCRIPTION_FORBIDDEN = ">!<\"&'="
#: What dds-backup keeps of every description for its own mark and the space before it (lib/planning/ownership.py):
#: a user's description may hold the rest.
MARK_ROOM = 38
_NAME_CHARS = re.compile(r"[A-Za-z0-9_-]*")


def name_violations(name: str) -> list[str]:
    problems: list[str] = []
    if not NAME_MIN <= len(name) <= NAME_MAX:
        problems.append(f"must be {NAME_MIN}-{NAME_MAX} characters long (got {len(name)})")
    if not name or not (name[0].isascii() and name[0].isalpha()):
        problems.append("must start with a letter (A-Z or a-z)")
    if not _NAME_CHARS.fullmatch(name):
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "-_"))})
        problems.append("may contain only letters, digits, '-' and '_' (found " + ", ".join(repr(c) for c in bad) + ")")
    return problems


def description_violations(description: str) -> list[str]:
    problems: list[str] = []
    if len(description) > DESCRIPTION_MAX:
        problems.append(f"must be at most {DESCRIPTION_MAX} characters long (got {len(description)})")
    bad = sorted({c for c in description if c in DESCRIPTION_FORBIDDEN})
    if bad:
        problems.append(
            f"must not contain any of {DESCRIPTION_FORBIDDEN} (found " + ", ".join(repr(c) for c in bad) + ")"
        )
    if "\r" in description:
        problems.append("must not contain a carriage return")
    return problems
