"""How a message is written for each chat platform: its markup, and the escaping of anything a user typed."""

from __future__ import annotations

from dataclasses import dataclass

from lib.models import ChatPlatform


def _entities(text: str) -> str:
    # Slack: "&", "<" and ">" are control characters of its formatting (docs.slack.dev "Formatting message
    # text": escaping); in Teams' text they would be read as HTML.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markdown(text: str) -> str:
    return text.replace("`", "'")


@dataclass(frozen=True)
class Style:
    platform: ChatPlatform
    strong: str  # around bold text
    done: str = ":white_check_mark:"
    failed: str = ":x:"
    waiting: str = ":hourglass:"
    warning: str = ":warning:"
    backup: str = ":floppy_disk:"

    def escape(self, text: str) -> str:
        """User input (and anything echoed from it) made inert in this platform's markup."""
        return _entities(text) if self.platform in ("slack", "teams") else _markdown(text)

    def literal(self, text: str) -> str:
        """Our own text, markup kept, with the characters this platform would read as control escaped."""
        return _entities(text) if self.platform in ("slack", "teams") else text

    def bold(self, text: str) -> str:
        return f"{self.strong}{self.escape(text)}{self.strong}"

    def code(self, text: str) -> str:
        return f"`{self.escape(text).replace('`', chr(39))}`"


STYLES: dict[ChatPlatform, Style] = {
    "slack": Style("slack", "*"),
    "mattermost": Style("mattermost", "**"),
    # Teams renders no emoji shortcodes: the characters themselves.
    "teams": Style(
        "teams", "**", done="\u2705", failed="\u274c", waiting="\u231b", warning="\u26a0\ufe0f", backup="\U0001f4be"
    ),
}
