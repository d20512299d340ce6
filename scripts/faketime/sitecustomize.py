"""Loaded by every Python process that scripts/test-clocks.sh starts (this folder is put first on PYTHONPATH).

The clocks run is libfaketime with the monotonic clock left real (FAKETIME_DONT_FAKE_MONOTONIC=1): asyncio
and timeouts keep real, steadily ticking timers while the wall clock shows the chosen moment. libfaketime
0.9.10 (Debian 12's) then mistranslates an absolute sleep on the monotonic clock
(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME): libfaketime issue #426) into a negative one, and from
Python 3.11 on time.sleep() is exactly that call: it fails with "OSError: [Errno 22] Invalid argument", and
so does subprocess.run(timeout=...), which polls with it. The other choice, a faked monotonic clock, is
worse: Python's lock timeouts (threading.Event.wait(t), queue.get(timeout=t)) go through sem_clockwait(),
which that libfaketime does not intercept, and hang for decades.

So time.sleep() sleeps a relative interval instead (select() with a timeout, which libfaketime passes
through untouched when no speed-up is set), as Python 3.10 did. Nothing else changes, and nothing here is
loaded outside the clocks run.
"""

from __future__ import annotations

import os
import select
import time


def _relative_sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    select.select([], [], [], seconds)  # resumed after a signal with the time left (PEP 475), like time.sleep


if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":
    time.sleep = _relative_sleep
