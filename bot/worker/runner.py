"""`liaison worker`: runs the timed jobs. Several workers may run at once: a Redis lock per job lets
one of them run it at a time, and the jobs themselves are safe to run again after a crash.

The lock is a lease: it lapses LEASE seconds after its worker last renewed it, and a running job renews it
every RENEW_EVERY seconds. A worker that dies mid-job (kill -9) stops renewing, so another worker takes the
job over within LEASE seconds, however long the job's timeout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket

from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError, RedisError

from bot.runtime import Runtime
from bot.worker.jobs import JOBS, Job
from storage.models import utcnow

log = logging.getLogger("liaison.worker")
KEEP_FAILURES = 200
LEASE = 10.0  # seconds
RENEW_EVERY = LEASE / 4


class Worker:
    def __init__(self, services: Runtime, jobs: tuple[Job, ...] = JOBS) -> None:
        self.services = services
        self.jobs = jobs
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    async def run_due(self, now: dt.datetime | None = None, *, burst: bool = False) -> dict[str, int]:
        """Run every job whose time has come (every job when `burst`); return what each did."""
        now = now or utcnow()
        results: dict[str, int] = {}
        for job in self.jobs:
            if burst or await self._is_due(job, now):
                done = await self._run(job, now)
                if done is not None:
                    results[job.name] = done
        return results

    async def run_forever(self, stop: asyncio.Event, tick: float = 1.0) -> None:
        log.info("worker %s started with jobs %s", self.name, ", ".join(j.name for j in self.jobs))
        while not stop.is_set():
            started = asyncio.get_running_loop().time()
            await self.run_due()
            # `tick` is the period: after a long round (a backlog of pushes) the next starts at once.
            rest = tick - (asyncio.get_running_loop().time() - started)
            if rest > 0:
                try:
                    await asyncio.wait_for(stop.wait(), rest)
                except TimeoutError:
                    pass

    async def _is_due(self, job: Job, now: dt.datetime) -> bool:
        next_run = await self.services.redis.get(self.services.keys.job_next_run(job.name))
        return next_run is None or float(next_run) <= now.timestamp()

    async def _run(self, job: Job, now: dt.datetime) -> int | None:
        redis, keys = self.services.redis, self.services.keys
        lease = redis.lock(keys.job_lock(job.name), timeout=LEASE, blocking=False)
        if not await lease.acquire():
            return None
        work = asyncio.create_task(asyncio.wait_for(job.run(self.services, now), job.timeout.total_seconds()))
        keeper = asyncio.create_task(self._keep(lease, job, work))
        try:
            done = await work
            await redis.set(keys.job_next_run(job.name), (now + job.every).timestamp())
            return done
        except asyncio.CancelledError:
            if keeper.done() and not keeper.cancelled():  # the keeper cancelled the job: its lease was lost
                return None
            raise
        except Exception as exc:  # noqa: BLE001 - a failed job is recorded and retried at its next turn
            log.exception("job %s failed", job.name)
            record = {"job": job.name, "worker": self.name, "at": now.isoformat(), "error": repr(exc)[:2000]}
            await redis.lpush(keys.failed_jobs, json.dumps(record, ensure_ascii=False))
            await redis.ltrim(keys.failed_jobs, 0, KEEP_FAILURES - 1)
            return None
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            try:
                await lease.release()
            except LockError:
                log.warning("job %s outlived its lease", job.name)

    async def _keep(self, lease: Lock, job: Job, work: asyncio.Task[int]) -> None:
        """Renew the lease while the job runs. Once it is lost (another worker may have taken the job), stop the
        job here, so that one worker at a time runs it; a stopped job is safe to run again."""
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                await lease.reacquire()
            except LockNotOwnedError:
                log.error("job %s lost its lease; stopped here, another worker may run it", job.name)
                work.cancel()
                return
            except RedisError as exc:  # Redis unreachable for now: the lease may hold; try again
                log.warning("job %s could not renew its lease: %r", job.name, exc)
