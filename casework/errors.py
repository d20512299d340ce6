"""One hierarchy for every refusal, whichever layer raises it; `bot.http.errors` renders them all.

Each error carries a machine `code` (stable, for programs and logs), an HTTP `status` and a Chinese
`message` for the caller (by default its class's sentence in `texts.errors`); `detail` is an English
note for the log only, and `fields` are extra values a caller needs (rendered beside code and message).

    LiaisonError                       400 error
    ├── Ignored                        200 ignored: a delivery we do not support; acknowledged, not retried
    ├── Malformed                      400 malformed: not parseable, or broken where the platform never is
    ├── InvalidInput                   422 invalid_request: parseable, but a value is out of bounds
    ├── Forged                         403 bad_signature: a missing or wrong signature, key or secret
    ├── Unauthenticated                401 unauthenticated: no valid token or key
    ├── Forbidden                      403 forbidden: the actor may not do this
    ├── NotFound                       404 not_found
    ├── TooLarge                       413 body_too_large
    ├── TooManyAttempts                429 too_many_attempts: sign-ins locked out for a while
    ├── NotConfigured                  503 not_configured: the door's channel has no credentials
    ├── TryLater                       503 try_later (+ Retry-After): a message that cannot be taken now
    └── Refusal                        a rule of the loop refuses; status from the code (below)
        ├── casework.lifecycle.IllegalTransition (services.cases.CaseChanged, CaseNotFound)
        ├── casework.bookings.Refused
        └── services.deputies.DeputyRefused

As in Zulip's `zerver/lib/exceptions.py`, "not supported, ignored" (Ignored, 200, so the platform does
not send it again) is a different class from "malformed or forged" (Malformed, Forged: 4xx).
"""

from __future__ import annotations

from typing import Any

from texts import errors as texts


class LiaisonError(Exception):
    """A request or command refused on purpose. Subclasses set `code`, `status` and `text`."""

    code = "error"
    status = 400
    text = texts.ERROR

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        detail: str = "",
        **fields: Any,
    ) -> None:
        self.message = message or self.text
        self.code = code or type(self).code
        self.status = status or type(self).status
        self.detail = detail or self.message
        self.fields = fields
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        """The JSON a caller gets. `detail` repeats the message: the API answered {"detail": …} before."""
        return {**self.fields, "code": self.code, "message": self.message, "detail": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class Ignored(LiaisonError):
    """A delivery the door understands but does not support (an edit, a join...): acknowledged with 200 so
    the platform does not send it again, and nothing is stored."""

    code = "ignored"
    status = 200
    text = texts.IGNORED


class Malformed(LiaisonError):
    """A body that cannot be parsed, or has a shape the platform never sends."""

    code = "malformed"
    status = 400
    text = texts.MALFORMED


class InvalidInput(LiaisonError):
    """Parsed, but a value is out of bounds, of the wrong type, or cannot be stored."""

    code = "invalid_request"
    status = 422
    text = texts.INVALID


class Forged(LiaisonError):
    code = "bad_signature"
    status = 403
    text = texts.FORGED


class Unauthenticated(LiaisonError):
    code = "unauthenticated"
    status = 401
    text = texts.UNAUTHENTICATED


class Forbidden(LiaisonError):
    code = "forbidden"
    status = 403
    text = texts.FORBIDDEN


class NotFound(LiaisonError):
    code = "not_found"
    status = 404
    text = texts.NOT_FOUND


class TooLarge(LiaisonError):
    code = "body_too_large"
    status = 413
    text = texts.TOO_LARGE.format(limit=64)

    def __init__(self, limit_bytes: int = 64 * 1024, *, detail: str = "") -> None:
        super().__init__(texts.TOO_LARGE.format(limit=limit_bytes // 1024), detail=detail)


class TooManyAttempts(LiaisonError):
    """Too many failed sign-ins for one name or from one address: locked for a while, whatever the password."""

    code = "too_many_attempts"
    status = 429
    text = texts.TOO_MANY_ATTEMPTS.format(minutes=15)


class NotConfigured(LiaisonError):
    code = "not_configured"
    status = 503
    text = texts.NOT_CONFIGURED


class TryLater(LiaisonError):
    """A message that cannot be taken now: the citizen's previous message (or another copy of this delivery)
    is still being answered past the wait. 503 with Retry-After, so the channel sends it again; a message
    is never answered 200 with nothing in its place."""

    code = "try_later"
    status = 503
    text = texts.TRY_LATER.format(seconds=5)

    def __init__(self, retry_after: int = 5, *, detail: str = "") -> None:
        super().__init__(texts.TRY_LATER.format(seconds=retry_after), detail=detail, retry_after=retry_after)
        self.retry_after = retry_after


# Refusal codes that mean "not you" rather than "not now".
FORBIDDEN_CODES = frozenset({"forbidden_role", "not_your_department", "not_your_case", "not_on_duty", "same_person"})


def refusal_status(code: str) -> int:
    """404 when the thing is not there, 403 when the actor may not, 409 when the state does not allow it."""
    return 404 if code == "not_found" else 403 if code in FORBIDDEN_CODES else 409


class Refusal(LiaisonError):
    """A rule of the loop refuses a command; `code` names the rule, `message` (Chinese) explains it."""

    code = "refused"
    status = 409
    text = texts.REFUSED

    def __init__(self, code: str, message: str, **fields: Any) -> None:
        super().__init__(message, code=code, status=refusal_status(code), **fields)


__all__ = [
    "FORBIDDEN_CODES",
    "Forbidden",
    "Forged",
    "Ignored",
    "InvalidInput",
    "LiaisonError",
    "Malformed",
    "NotConfigured",
    "NotFound",
    "Refusal",
    "TooLarge",
    "TooManyAttempts",
    "TryLater",
    "Unauthenticated",
    "refusal_status",
]
