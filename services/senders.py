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


class WindowClosed(Exception):
    """The channel allows no message to this person now (e.g. WeChat's 48-hour window); the push waits."""


class PushSender(abc.ABC):
    """One per channel. Quirks of a channel stay inside its sender."""

    # A channel that cannot message first (the web API, the terminal): what is sent waits in the conversation
    # and goes out with the citizen's next reply.
    waits_for_next_message = False

    @abc.abstractmethod
    async def send(self, push: Push) -> None:
        """Deliver the push or raise SendError / WindowClosed. Must not be called twice for one push."""

    async def close(self) -> None:
        return None
