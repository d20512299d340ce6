"""Query strings never reach a log.

uvicorn's access log writes each request line, query string included. WeChat signs only the query string
(signature, timestamp, nonce) and names the citizen in it (openid): a logged /wechat URL would let whoever reads
the log speak as that citizen. Every path loses its query string, not only the doors': a query string is where
signed URLs and tokens travel, the path and the status are what an access log is for, and a list of paths to
clean would have to be kept up to date by whoever adds the next route.

`install` is called by the app factory, so that whichever ASGI server runs the app (`liaison serve` and
`liaison run` start uvicorn) logs through a `uvicorn.access` logger that has the filter.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class WithoutQueryString(logging.Filter):
    """Drops the query string from uvicorn's access records: args (client, method, path?query, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def install() -> None:
    """Put the filter on uvicorn's access logger (once: the app factory may run several times in a process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, WithoutQueryString) for f in logger.filters):
        logger.addFilter(WithoutQueryString())
