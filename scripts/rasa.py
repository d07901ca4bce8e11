"""The Rasa command line without the pinned libraries' deprecation walls (scripts/
library_warnings.py); everything else is Rasa's own: ``python -m scripts.rasa shell …``."""
import sys

from scripts.library_warnings import silence_library_deprecations

silence_library_deprecations()

from rasa.__main__ import main  # noqa: E402  (after the filters, which apply at import)

if __name__ == "__main__":
    sys.argv[0] = "rasa"
    sys.exit(main())
