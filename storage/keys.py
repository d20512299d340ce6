"""Every Redis key the project uses, in one place (arq's constants.py habit).

All keys start with the deployment's prefix so several deployments or test runs can share a server.
"""

from __future__ import annotations


class Keys:
    def __init__(self, prefix: str = "liaison:") -> None:
        self.prefix = prefix

    def dialogue(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}dialogue:{channel}:{user_id}"

    def delivery(self, channel: str, external_id: str) -> str:
        """Claimed by the first copy of a delivery; later copies wait for its replies."""
        return f"{self.prefix}delivery:{channel}:{external_id}"

    def citizen_lock(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}lock:citizen:{channel}:{user_id}"

    def rate(self, channel: str, user_id: str, window: int) -> str:
        return f"{self.prefix}rate:{channel}:{user_id}:{window}"

    def rate_notice(self, channel: str, user_id: str, window: int) -> str:
        return f"{self.prefix}rate-notice:{channel}:{user_id}:{window}"

    def job_lock(self, name: str) -> str:
        """Held while one worker runs the job; expires with the job's timeout if that worker dies."""
        return f"{self.prefix}jobs:lock:{name}"

    def job_next_run(self, name: str) -> str:
        return f"{self.prefix}jobs:next:{name}"

    @property
    def failed_jobs(self) -> str:
        """The latest failures, newest first, for staff to see."""
        return f"{self.prefix}jobs:failed"
