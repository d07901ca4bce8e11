"""`python -m review` (what `make review` runs): the review UI on REVIEW_HOST:REVIEW_PORT.
`python -m review users …` manages its accounts (review/cli.py)."""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Optional

from review.settings import ConfigError, ReviewSettings


def main() -> int:
    if sys.argv[1:2] == ["users"]:
        from review.cli import main as users_main

        return users_main(sys.argv[2:])
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs every request URL at INFO: Rasa's URLs carry the conversation id
    # (a phone number) and its token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    try:
        settings = ReviewSettings.from_env()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not redis_answers(settings):
        print(f"error: Redis does not answer at {settings.redis.host}:{settings.redis.port} "
              "(the review UI reads the conversations there)", file=sys.stderr)
        return 1
    problem = asyncio.run(first_admin(settings))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from review.app import create_app

    app = create_app(settings)
    print(f"review UI on http://{settings.host}:{settings.port}/", flush=True)
    # No access log: request paths carry conversation ids, which are phone numbers.
    app.run(host=settings.host, port=settings.port, access_log=False, motd=False, workers=1)
    return 0


async def first_admin(settings: ReviewSettings) -> Optional[str]:
    """First run: no account yet and REVIEW_TOKEN set creates the admin `admin` with the token
    as its password. Without either, nobody could log in: refuse to start."""
    from review.audit import AuditLog
    from review.passwords import Passwords
    from review.users import FIRST_ADMIN, Users

    client = settings.redis.async_client(timeout_s=10.0)
    try:
        users = Users(client, settings.key_prefix, Passwords(settings.password_cost))
        if settings.token and await users.first_admin(settings.token):
            await AuditLog(client, settings.key_prefix, settings.audit_retention_days).record(
                "REVIEW_TOKEN", "admin", "user_added", "", f"{FIRST_ADMIN} (admin, primeira execução)")
            print(f"first run: account `{FIRST_ADMIN}` (admin) created with REVIEW_TOKEN as its password; "
                  f"change it with `python -m review users reset {FIRST_ADMIN}`", flush=True)
        elif not await users.count():
            return ("no review account yet: create one with `python -m review users add NAME --role admin` "
                    "or set REVIEW_TOKEN for a first admin")
        elif settings.token:
            logging.getLogger(__name__).info("review.token_ignored reason=accounts_exist")
        return None
    finally:
        await client.close()


def redis_answers(settings: ReviewSettings) -> bool:
    import redis

    try:
        return bool(settings.redis.client().ping())
    except redis.RedisError:
        return False


if __name__ == "__main__":
    sys.exit(main())
