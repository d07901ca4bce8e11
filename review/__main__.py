"""`python -m review` (what `make review` runs): the review UI on REVIEW_HOST:REVIEW_PORT."""
from __future__ import annotations

import logging
import os
import sys

from review.settings import ConfigError, ReviewSettings


def main() -> int:
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
    from review.app import create_app

    app = create_app(settings)
    print(f"review UI on http://{settings.host}:{settings.port}/ (log in with REVIEW_TOKEN)", flush=True)
    # No access log: request paths carry conversation ids, which are phone numbers.
    app.run(host=settings.host, port=settings.port, access_log=False, motd=False, workers=1)
    return 0


def redis_answers(settings: ReviewSettings) -> bool:
    import redis

    try:
        return bool(settings.redis.client().ping())
    except redis.RedisError:
        return False


if __name__ == "__main__":
    sys.exit(main())
