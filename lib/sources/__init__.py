"""Platform events -> backup requests. One module per trigger; ``parse_event`` picks by the event's shape
(functiongraph.md section 3)."""

from __future__ import annotations

from lib.sources.base import Item, ParsedEvent, SourceContext
from lib.sources.detect import parse_event

__all__ = ["Item", "ParsedEvent", "SourceContext", "parse_event"]
