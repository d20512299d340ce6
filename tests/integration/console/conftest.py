"""What the console's tests share: the app served by uvicorn on a real port (browsers and event streams need
one)."""

from __future__ import annotations

import threading

import uvicorn


class LiveServer:
    """The app on a real port, in a thread of its own (its own event loop), as `liaison serve` runs it."""

    def __init__(self, app, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        for _ in range(600):
            if self.server.started:
                return self
            if not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            threading.Event().wait(0.1)
        raise RuntimeError("the app did not start within a minute")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
