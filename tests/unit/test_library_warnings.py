"""The pinned libraries' deprecation walls are silenced, the project's own warnings are not."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from scripts.library_warnings import THIRD_PARTY_MODULE

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = f"""
from scripts.library_warnings import silence_library_deprecations
silence_library_deprecations()
import rasa.core.agent, sanic_cors, rasa.shared.utils.validation  # the noisy imports of `rasa shell`
import warnings
warnings.warn_explicit("the project's own deprecation", DeprecationWarning, {str(ROOT / 'sdr' / 'x.py')!r}, 1,
                       module="sdr.x")
"""


def test_library_walls_go_and_our_warnings_stay() -> None:
    run = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "the project's own deprecation" in run.stderr
    assert "DeprecationWarning" not in run.stderr.replace("DeprecationWarning: the project's own", "")
    assert "MovedIn20Warning" not in run.stderr


def test_the_pattern_tells_our_modules_from_libraries() -> None:
    pattern = re.compile(THIRD_PARTY_MODULE)
    for library in ("rasa.core", "sanic_cors.extension", "pkg_resources", "sdrx", "actionsfoo"):
        assert pattern.match(library)
    for ours in ("sdr", "sdr.text", "actions.bill", "whatsapp.client", "tests.unit.x"):
        assert not pattern.match(ours)


def test_pytest_uses_the_same_pattern() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert pyproject.count(THIRD_PARTY_MODULE.replace("\\", "\\\\")) == 3
