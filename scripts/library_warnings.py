"""Silences the deprecation walls the pinned libraries print at import, and only theirs.

Rasa 3.6 and its pins (TensorFlow, SQLAlchemy 1.4, pkg_resources, matplotlib's pyparsing,
google-api-core on Python 3.10…) print dozens of Deprecation/Future warnings before "Bot
loaded": noise nobody can act on. A warning raised from one of this project's own modules,
or from a library because our code called it (warnings are attributed to the caller), still
shows.

    python -m scripts.rasa shell …     # the Rasa CLI with these filters (make shell, make test)
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Optional, TextIO

__all__ = ["OUR_PACKAGES", "THIRD_PARTY_MODULE", "silence_library_deprecations"]

OUR_PACKAGES = (
    "observability", "sdr", "whatsapp", "crm", "meetings", "connectors", "actions", "review", "components",
    "scripts", "bench", "tests",
)
# A module name that is not one of ours (the same pattern pytest's filterwarnings uses).
THIRD_PARTY_MODULE = rf"(?!({'|'.join(OUR_PACKAGES)})(\.|$))"
CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def silence_library_deprecations() -> None:
    # SQLAlchemy's one-line "2.0 migration" banner has its own switch.
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    _install()
    _guard_display()
    # Sanic puts its own "once" filter for DeprecationWarning in front of every filter when
    # it is imported (sanic/app.py); ours go back in front of it.
    import sanic  # noqa: F401

    _install()


def _install() -> None:
    for category in CATEGORIES:
        warnings.filterwarnings("ignore", category=category, module=THIRD_PARTY_MODULE)


def _guard_display() -> None:
    """Some libraries put their own filters in front of ours while they load (Sanic) or show
    warnings from inside blocks with filters of their own; the display is the last gate."""
    show = warnings.showwarning
    ours = Path(__file__).resolve().parents[1]  # the repository
    venv = ours / ".venv"

    def showwarning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    file: Optional[TextIO] = None, line: Optional[str] = None) -> None:
        path = Path(filename).resolve()
        from_us = path.is_relative_to(ours) and not path.is_relative_to(venv)
        if issubclass(category, CATEGORIES) and not from_us:
            return
        show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
