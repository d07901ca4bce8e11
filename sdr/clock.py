"""The time proactive jobs go by.

Production reads the system clock. Tests of business hours and of the weekly
report need to be somewhere else in the week without waiting for it: when
`AISDR_CLOCK_OFFSET_FILE` names a file, the number of seconds it holds is added
to the system clock (read again whenever the file changes). Never set it in
production.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Optional, Tuple

logger = logging.getLogger(__name__)

OFFSET_FILE_ENV = "AISDR_CLOCK_OFFSET_FILE"


class Clock:
    def __init__(self, offset_file: Optional[str] = None) -> None:
        self.offset_file = offset_file
        self._seen: Tuple[float, float] = (-1.0, 0.0)  # (file mtime, offset)
        if offset_file:
            logger.warning("clock.offset_file_in_use: proactive jobs follow %s, not the system clock", offset_file)

    @classmethod
    def from_env(cls) -> Clock:
        return cls(os.environ.get(OFFSET_FILE_ENV) or None)

    def now(self) -> float:
        return time.time() + self._offset()

    def _offset(self) -> float:
        if not self.offset_file:
            return 0.0
        try:
            mtime = os.stat(self.offset_file).st_mtime
            if mtime != self._seen[0]:
                with open(self.offset_file, encoding="utf-8") as handle:
                    self._seen = (mtime, float(handle.read().strip() or 0))
        except (OSError, ValueError):
            return 0.0
        return self._seen[1]
