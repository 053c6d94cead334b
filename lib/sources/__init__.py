"""Platform events -> backup orders. One module per trigger (``timer``, ``smn``, ``kafka``, ``cloudevents``,
``direct``), their envelopes as pydantic models (``envelopes``); ``parse_event`` picks the source by the event's
shape."""

from lib.sources.common import ParsedEvent, SourceContext
from lib.sources.detect import parse_event

__all__ = ["ParsedEvent", "SourceContext", "parse_event"]
