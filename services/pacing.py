"""How fast pushes go out: each channel's overall pace and each recipient's, shared by every process.

The arithmetic is GCRA (the generic cell rate algorithm) with no burst: each limit keeps one number, the
theoretical arrival time (TAT) of the next send; a send may go at `now` when `now >= TAT`, and then moves the
TAT to `max(TAT, now) + interval`. Two sends under one limit are therefore at least `interval` apart, and any
window of `per_seconds` holds at most `messages` of them. A push passes when every limit on it (the channel's
and its recipient's) lets it pass, and then takes them all at once; otherwise it takes none and is told how
long to wait. A pause (the platform answered "too many requests, retry after N s") moves the TAT to `now + N`.

`admit` and `pause` are the arithmetic with the time passed in; `PushPacer` keeps the TATs in Redis and
changes them in one optimistic transaction (WATCH / MULTI), so several processes share the limits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import WatchError

from settings.deployment import ChannelPace, Pace, PushPacing
from storage.keys import Keys

T = TypeVar("T")

# Transactions lost to another process in a row before the caller is told to wait one interval instead.
MAX_CONFLICTS = 20
# A TAT is kept this long past its time (an expired key means "no send lately": the limit is free).
KEEP_MS = 1000


@dataclass(frozen=True)
class Admission:
    """`taken`: the send has its place, `wait` seconds from now (0: at once). Otherwise nothing is taken and
    `wait` says how long until it may; `whole_channel`: whether the channel's limit (rather than the
    recipient's) is what holds it back. `tats`: the limits' TATs after the decision."""

    taken: bool
    wait: float
    whole_channel: bool
    tats: tuple[float, ...]


def interval(pace: Pace) -> float:
    """Seconds between two sends under `pace`, its window widened by its margin."""
    return (pace.per_seconds + pace.margin_seconds) / pace.messages


def admit(
    tats: Sequence[float | None],
    intervals: Sequence[float],
    now: float,
    channel_wide: int = 0,
    *,
    within: float = 0.0,
) -> Admission:
    """Whether a send passes limits whose TATs are `tats` (None: no send lately) and whose spacing is
    `intervals`, at `now` or, reserving its place, within `within` seconds of it; `tats[:channel_wide]` are the
    channel's limits, the rest the recipient's. A place reserved ahead keeps the limit's schedule: a sender
    that wakes a little late for it does not push every later send back."""
    known = [tat if tat is not None else now for tat in tats]
    waits = [max(0.0, tat - now) for tat in known]
    wait = max(waits, default=0.0)
    if wait > within:
        return Admission(False, wait, max(waits[:channel_wide], default=0.0) >= wait, tuple(known))
    at = now + wait
    return Admission(True, wait, False, tuple(at + step for step in intervals))


def pause(tat: float | None, now: float, seconds: float) -> float:
    """The TAT of a limit that must send nothing for `seconds` from `now`."""
    return max(tat if tat is not None else now, now + seconds)


class PushPacer:
    """The push limits of config.yml `push_pacing`, kept in Redis. `clock`: seconds (time.time by default; every
    process on one machine shares it)."""

    def __init__(self, redis: Redis, keys: Keys, pacing: PushPacing, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.keys = keys
        self.pacing = pacing
        self.clock = clock

    def channel_pace(self, channel: str) -> ChannelPace:
        found = getattr(self.pacing, channel, None)
        return found if isinstance(found, ChannelPace) else ChannelPace()

    def recipient_spacing(self, channel: str) -> float:
        """Seconds between two sends to one recipient on `channel` (0 when unlimited)."""
        pace = self.channel_pace(channel).per_recipient
        return interval(pace) if pace else 0.0

    def _limits(self, channel: str, recipient: str | None) -> tuple[list[str], list[float], int]:
        """The keys and intervals of the limits on a push to `recipient`, the channel's first."""
        pace = self.channel_pace(channel)
        keys: list[str] = []
        steps: list[float] = []
        if pace.overall is not None:
            keys.append(self.keys.push_pace(channel))
            steps.append(interval(pace.overall))
        channel_wide = len(keys)
        if pace.per_recipient is not None and recipient:
            keys.append(self.keys.push_pace(channel, recipient))
            steps.append(interval(pace.per_recipient))
        return keys, steps, channel_wide

    async def take(self, channel: str, recipient: str | None, within: float = 0.0) -> Admission:
        """Take a place for one push, now or within `within` seconds, or learn how long to wait (nothing taken
        then)."""
        keys, steps, channel_wide = self._limits(channel, recipient)
        if not keys:
            return Admission(True, 0.0, False, ())

        def decide(stored: list[float | None], now: float) -> tuple[Admission, Sequence[float]]:
            admission = admit(stored, steps, now, channel_wide, within=within)
            return admission, admission.tats if admission.taken else ()

        found = await self._update(keys, decide)
        return found if found is not None else Admission(False, max(steps), channel_wide > 0, ())

    async def pause(self, channel: str, recipient: str | None, seconds: float, *, whole_channel: bool) -> None:
        """Send nothing to `recipient` (and on the whole channel when `whole_channel`) for `seconds`."""
        keys = [self.keys.push_pace(channel, recipient)] if recipient else []
        if whole_channel:
            keys.append(self.keys.push_pace(channel))
        await self._update(keys, lambda stored, now: (None, [pause(tat, now, seconds) for tat in stored]))

    async def _update(
        self, keys: list[str], decide: Callable[[list[float | None], float], tuple[T, Sequence[float]]]
    ) -> T | None:
        """Read the keys' theoretical arrival times, let `decide` say what to answer and which times to write
        (none: nothing written), and write them unless another process changed a key meanwhile (then read
        again). None after MAX_CONFLICTS lost races."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_CONFLICTS):
                try:
                    await pipe.watch(*keys)
                    stored = [_number(v) for v in await pipe.mget(keys)]
                    now = self.clock()
                    answer, tats = decide(stored, now)
                    if not tats:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return answer
                    pipe.multi()  # type: ignore[no-untyped-call]
                    for key, tat in zip(keys, tats, strict=True):
                        pipe.set(key, repr(tat), px=_keep_ms(tat, now))
                    await pipe.execute()
                    return answer
                except WatchError:
                    continue
        return None


def _number(value: bytes | str | None) -> float | None:
    return float(value) if value is not None else None


def _keep_ms(tat: float, now: float) -> int:
    return max(1, math.ceil((tat - now) * 1000)) + KEEP_MS
