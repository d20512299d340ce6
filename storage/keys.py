"""Every Redis key the project uses, in one place (arq's constants.py habit).

All keys start with the deployment's prefix so several deployments or test runs can share a server.
"""

from __future__ import annotations


class Keys:
    def __init__(self, prefix: str = "liaison:") -> None:
        self.prefix = prefix

    def dialogue(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}dialogue:{channel}:{user_id}"

    def delivery(self, channel: str, user_id: str, external_id: str) -> str:
        """Claimed by the copy of a delivery being processed (a lease); later copies wait for its replies.
        The sender is part of the key: a client may number its messages per user."""
        return f"{self.prefix}delivery:{channel}:{user_id}:{external_id}"

    def citizen_lock(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}lock:citizen:{channel}:{user_id}"

    def rate(self, channel: str, user_id: str, window: int) -> str:
        return f"{self.prefix}rate:{channel}:{user_id}:{window}"

    def rate_notice(self, channel: str, user_id: str, window: int) -> str:
        return f"{self.prefix}rate-notice:{channel}:{user_id}:{window}"

    def job_lock(self, name: str) -> str:
        """A lease held while one worker runs the job, renewed as it runs; lapses soon after that worker dies."""
        return f"{self.prefix}jobs:lock:{name}"

    def job_next_run(self, name: str) -> str:
        return f"{self.prefix}jobs:next:{name}"

    @property
    def failed_jobs(self) -> str:
        """The latest failures, newest first, for staff to see."""
        return f"{self.prefix}jobs:failed"

    def unsubscribed(self, channel: str, user_id: str) -> str:
        """Set while the person has unfollowed the account (WeChat): no pushes reach them."""
        return f"{self.prefix}unsubscribed:{channel}:{user_id}"

    def deputy_bind_code(self, code: str) -> str:
        """A one-time code binding a chat to a deputy; holds the deputy's code until used or expired."""
        return f"{self.prefix}deputy-bind:{code}"

    def wechat_answered(self, delivery: str) -> str:
        """How the first answer to a delivery went out (passive or late), so a late one never doubles it."""
        return f"{self.prefix}wechat:answered:{delivery}"

    def wechat_nonce(self, timestamp: str, nonce: str) -> str:
        """The first request signed with this timestamp and nonce (a digest), kept while the timestamp is fresh."""
        return f"{self.prefix}wechat:nonce:{timestamp}:{nonce}"

    def push_pace(self, channel: str, recipient: str | None = None) -> str:
        """When the next push may go out on the channel (recipient None) or to one recipient on it (GCRA)."""
        return f"{self.prefix}push-pace:{channel}" + (f":to:{recipient}" if recipient is not None else "")

    def wechat_quota(self, openid: str, window_start: int) -> str:
        """Customer-service messages sent in one 48-hour window (keyed by the window's start)."""
        return f"{self.prefix}wechat:quota:{openid}:{window_start}"

    @property
    def wechat_session(self) -> str:
        """wechatpy's session storage prefix: the access token, shared by every process."""
        return f"{self.prefix}wechat:session"

    @property
    def wechat_token_lock(self) -> str:
        """Held by the one process fetching a new access token."""
        return f"{self.prefix}wechat:token-lock"

    def console_session(self, token_hash: str) -> str:
        """A signed-in console user's session (a hash: user, csrf token), by the hash of the cookie's token."""
        return f"{self.prefix}console:session:{token_hash}"

    def sign_in_failures(self, who: str) -> str:
        """Failed sign-ins counted for one user name or one client address, within the lock-out window."""
        return f"{self.prefix}console:failures:{who}"

    @property
    def live(self) -> str:
        """The console's live events (a Redis Stream): every web worker writes and reads it, and an entry's id is
        the server-sent event's id, so a reconnecting browser resumes after the last event it saw."""
        return f"{self.prefix}console:live"

    def alerts_seen(self, user_id: int) -> str:
        """The newest alert (push id) a console user has seen; newer ones are counted as new."""
        return f"{self.prefix}console:alerts-seen:{user_id}"

    @property
    def alerts_announced(self) -> str:
        """The newest push to a user that open consoles were told of."""
        return f"{self.prefix}console:alerts-announced"
