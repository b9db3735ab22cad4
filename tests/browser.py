"""Browser helpers for the explorer tests: find (or install) Chromium, else skip with a reason.

On a developer machine without Chromium the browser tests skip, saying why; with CI=true a
missing browser is a failure, so CI never silently skips them.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cellscape.explorer.browser import chromium, chromium_path, open_page  # noqa: E402,F401


def _try_install():
    """apt-get install Debian's chromium when we are root and apt-get exists."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "apt-get not available (or not root)"
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True,
                       capture_output=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except (subprocess.SubprocessError, OSError) as exc:
        return f"apt-get install chromium failed: {exc}"
    return None


def require_browser():
    """Make sure Playwright and Chromium are usable; skip (or fail under CI=true) otherwise."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright Python package is not installed (pip install playwright)"
    if problem is None and chromium_path() is None:
        reason = _try_install()
        if chromium_path() is None:
            problem = f"Chromium is missing and could not be installed: {reason}"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI: {problem}")
        pytest.skip(problem)


def canvas_signature(page, selector):
    """The canvas as a PNG data URL: equal strings mean identical pixels."""
    return page.evaluate("sel => document.querySelector(sel).toDataURL()", selector)


def canvas_pixel(page, selector, x, y):
    """RGBA of one canvas pixel."""
    return tuple(page.evaluate(
        """([sel, x, y]) => Array.from(document.querySelector(sel).getContext('2d')
                                      .getImageData(x, y, 1, 1).data)""", [selector, x, y]))
