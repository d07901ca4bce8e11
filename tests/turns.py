"""When a WhatsApp turn is over, read from the channel's own state in Redis.

A test that says something to the assistant used to wait for a second without a new reply
(a turn may send several messages). The channel knows better: a lead's messages stay in
`<prefix>:evo:due` until their turn ran to the end (replies sent, tracker saved, follow-up
planned), and `<prefix>:evo:lock:<lead>` is held while the turn runs
(connectors/evolution/worker.py). A Rasa server whose Redis is registered here with
`watch_turns` lets `WhatsAppLead.wait_for_turn` wait for exactly that; for any other server
it waits for the quiet second as before.
"""
from __future__ import annotations

import threading
import time
from typing import Dict, Optional

import redis

POLL_S = 0.05


class TurnProbe:
    def __init__(self, host: str, port: int, key_prefix: str) -> None:
        self.client = redis.Redis(host=host, port=port, decode_responses=True, socket_timeout=10)
        self.prefix = f"{key_prefix}:evo"

    def busy(self, sender_id: str) -> bool:
        """The lead has a message waiting for its turn, or a turn running."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zscore(f"{self.prefix}:due", sender_id).exists(f"{self.prefix}:lock:{sender_id}")
            due, locked = pipe.execute()
        return due is not None or bool(locked)

    def knows(self, sender_id: str) -> bool:
        """The channel took a message of this lead here (it keeps the lead's reply JID): this is
        the Redis and prefix of the server the lead talks to."""
        return bool(self.client.exists(f"{self.prefix}:jid:{sender_id}"))

    def wait_until_idle(self, sender_id: str, timeout_s: float) -> bool:
        """True once the lead has no turn waiting or running; False when this probe cannot
        tell (another server's Redis, Redis stopped by the test, or the timeout)."""
        deadline = time.monotonic() + timeout_s
        try:
            if not self.knows(sender_id):
                return False
        except redis.RedisError:
            return False
        while True:
            try:
                if not self.busy(sender_id):
                    return True
            except redis.RedisError:
                return False  # the tests that stop Redis: the caller waits the old way
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)


_lock = threading.Lock()
_watched: Dict[str, TurnProbe] = {}  # by Rasa server URL


def watch_turns(rasa_url: str, host: str, port: int, key_prefix: str) -> None:
    """The Rasa server at `rasa_url` keeps its Evolution channel state in this Redis, under
    REDIS_KEY_PREFIX `key_prefix`."""
    with _lock:
        _watched[rasa_url.rstrip("/")] = TurnProbe(host, port, key_prefix)


def probe_for(rasa_url: str) -> Optional[TurnProbe]:
    with _lock:
        return _watched.get(rasa_url.rstrip("/"))
