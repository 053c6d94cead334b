"""Writes ``docs/report.schema.json``, the JSON Schema of ``dds-backup report --json``, from its models:
``python -m dds_backup_dev.report.schema`` (a test keeps the file and the models in step)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dds_backup_dev.report.model import FleetReport

PATH = Path(__file__).resolve().parents[2] / "docs" / "report.schema.json"


def schema_text() -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **FleetReport.model_json_schema()}
    return json.dumps(schema, indent=2) + "\n"


def main() -> int:
    PATH.write_text(schema_text())
    print(f"{PATH}: the schema of dds-backup report --json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
