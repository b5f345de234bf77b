"""CI installs the tools some checks need; there, a missing tool fails instead of skipping.

On a developer's laptop the browser test, the strace half of the privacy tests and the OCR
tests skip when Chromium, strace or Tesseract (with Chinese) is not installed. CI
(``.ci/run``) sets ``REQUIRE_CHECK_TOOLS=1`` (not a ``RAGKIT_`` name: the tests clear those),
so a green CI run means those checks ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ragkit.parse import ocr

from .test_page_browser import CHROMIUM


def tesseract_languages() -> set[str]:
    """The languages the installed Tesseract reads (empty when there is none)."""
    if not ocr.available():
        return set()
    listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=60)
    return {line.strip() for line in listed.stdout.splitlines()[1:]}


def missing_tools() -> list[str]:
    """The check tools that are not installed, each with its Debian package."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("chromium (apt-get install chromium)")
    if shutil.which("strace") is None:
        missing.append("strace (apt-get install strace)")
    if not {"eng", "chi_sim"} <= tesseract_languages():
        missing.append("tesseract with English and Chinese (apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
    return missing


def test_every_check_tool_is_installed_where_required() -> None:
    missing = missing_tools()
    if os.environ.get("REQUIRE_CHECK_TOOLS") != "1":
        if missing:
            pytest.skip("not required here; missing: " + ", ".join(missing))
        return
    assert not missing, "CI needs these for its checks: " + ", ".join(missing)
