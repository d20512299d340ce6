"""The base class every channel's push sender implements, and how a send fails.

It sits below `services.pushes` and `services.context` so that the channels (which implement it) and
the services (which call it) meet here without importing each other.
"""

from __future__ import annotations

import abc

from storage.models import Push

# The kind of push that carries a staff member's words to a citizen (WeChat sends it from the staff account).
STAFF_MESSAGE = "staff_message"


class SendError(Exception):
    """The channel refused or failed; `retryable` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool, code: str = "") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class Throttled(Exception):
    """The channel refused the message for going too fast (nothing was delivered) and asks to wait
    `retry_after` seconds: before sending to this recipient again, or to anyone when `whole_channel`."""

    def __init__(self, message: str, *, retry_after: float, whole_channel: bool) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.whole_channel = whole_channel


class WindowClosed(Exception):
    """The channel allows no message to this person now (e.g. WeChat's 48-hour window); the push waits."""


class PushSender(abc.ABC):
    """One per channel. Quirks of a channel stay inside its sender."""

    # A channel that cannot message first (the web API, the terminal): what is sent waits in the conversation
    # and goes out with the citizen's next reply.
    waits_for_next_message = False

    @abc.abstractmethod
    async def send(self, push: Push) -> None:
        """Deliver the push or raise SendError / Throttled / WindowClosed. Must not be called twice for one push
        (unless it raised Throttled: then nothing was delivered)."""

    async def entry_link(self, scene: str) -> str | None:
        """What a printed QR code carries so that scanning it opens a conversation with the station on this
        channel, tagged with `scene` (a deputy's card: "deputy:<code>"); None when the channel has no such
        codes. Raises SendError when the platform refuses."""
        return None

    async def close(self) -> None:
        return None
