"""The one place where refusals become HTTP responses: JSON `{"code", "message", "detail", ...}`.

- `casework.errors.LiaisonError` (and every refusal built on it: lifecycle, bookings, deputies, the
  WeChat protocol, the doors) with its own code and status; `TryLater` also with `Retry-After`;
- FastAPI's `RequestValidationError`: 422, code `malformed_json` when the body is not JSON, else
  `invalid_request`, with the fields at fault (never the values sent: they may be infinite, or hold
  lone surrogates, and would make the answer itself fail);
- Starlette's `HTTPException` (401/403/404/405 from dependencies and the router): its status, a code
  named after it, and a Chinese message.

`detail` repeats `message` for callers written against the earlier answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from casework.errors import InvalidInput, LiaisonError, Refusal, TryLater
from texts import errors as texts

log = logging.getLogger("liaison.http")

HTTP_CODES = {
    400: ("malformed", texts.MALFORMED),
    401: ("unauthenticated", texts.UNAUTHENTICATED),
    403: ("forbidden", texts.FORBIDDEN),
    404: ("not_found", texts.NOT_FOUND),
    405: ("method_not_allowed", texts.METHOD_NOT_ALLOWED),
    409: ("conflict", texts.CONFLICT),
    413: ("body_too_large", texts.TOO_LARGE.format(limit=64)),
    422: ("invalid_request", texts.INVALID),
    503: ("unavailable", texts.UNAVAILABLE),
}


class SafeJSONResponse(JSONResponse):
    """JSON that cannot fail to render: no NaN or infinity, lone surrogates replaced."""

    def render(self, content: Any) -> bytes:
        return json.dumps(_safe(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
            "utf-8", "replace"
        )


def render(error: LiaisonError) -> JSONResponse:
    response = SafeJSONResponse(error.as_dict(), status_code=error.status)
    if isinstance(error, TryLater):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


async def liaison_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LiaisonError)
    if exc.status >= 400:
        client = request.client.host if request.client else "?"
        # A rule refusing a staff command is routine; a door refusing a request may be an attack or a bug.
        log.log(
            logging.INFO if isinstance(exc, Refusal) else logging.WARNING,
            "refused %s %s from %s: %s %s (%s)",
            request.method,
            request.url.path,
            client,
            exc.status,
            exc.code,
            exc.detail,
        )
    return render(exc)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [_safe(part) for part in e.get("loc", ())],
            "type": str(e.get("type", "")),
            "msg": _safe(str(e.get("msg", ""))),
        }
        for e in exc.errors()
    ]
    if any(e["type"] in ("json_invalid", "json_type") for e in errors):
        return render(InvalidInput(texts.MALFORMED_JSON, code="malformed_json"))
    fields = _field_names(errors)
    message = texts.INVALID_FIELDS.format(fields="、".join(fields)) if fields else texts.INVALID
    return render(InvalidInput(message, errors=errors))


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code, default = HTTP_CODES.get(exc.status_code, (f"http_{exc.status_code}", texts.ERROR))
    # Our own HTTPExceptions carry Chinese; the framework's ("Not Found"...) give way to ours.
    message = exc.detail if isinstance(exc.detail, str) and _has_chinese(exc.detail) else default
    response = render(LiaisonError(message, code=code, status=exc.status_code))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(LiaisonError, liaison_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)


def _field_names(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """`latitude`, `limit`...: the last named part of each location, in order, once."""
    names: list[str] = []
    for error in errors:
        parts = [str(p) for p in error["loc"] if isinstance(p, str) and p not in ("body", "query", "path")]
        name = parts[-1] if parts else ""
        if name and name not in names:
            names.append(name)
    return names


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _safe(value: Any) -> Any:
    """`value` as JSON can carry it: floats finite, strings encodable."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, Mapping):
        return {_safe(str(k)): _safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_safe(v) for v in value]
    return _safe(str(value))
