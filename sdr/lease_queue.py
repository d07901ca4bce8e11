"""The one Redis script behind every leased queue (follow-ups, lead events): take what is due.

Two sorted sets per queue: ``due`` (member → when it is due) and ``claims`` (member → until when a
server holds it). One atomic script moves what is due into ``claims`` with a lease, so two servers
never take the same member, and first returns to ``due`` any claim whose lease ran out (its
server died), so nothing is stranded.
"""
from __future__ import annotations

__all__ = ["CLAIM_DUE"]

# KEYS: due, claims | ARGV: now, lease_until, limit
CLAIM_DUE = """
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], ARGV[1], id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[2], id)
end
return due
"""
