"""`python -m review` (what `make review` runs): the review UI on REVIEW_HOST:REVIEW_PORT."""
from __future__ import annotations

import logging
import os
import sys

from review.settings import ConfigError, ReviewSettings


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = ReviewSettings.from_env()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from review.app import create_app

    app = create_app(settings)
    print(f"review UI on http://{settings.host}:{settings.port}/ (log in with REVIEW_TOKEN)", flush=True)
    # No access log: request paths carry conversation ids, which are phone numbers.
    app.run(host=settings.host, port=settings.port, access_log=False, motd=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
