"""Headless Chromium for the explorer tests and benchmark (Playwright, Debian's Chromium).

Never downloads a browser: it drives /usr/bin/chromium (or $CHROMIUM). Every page opened
through ``open_page`` records console errors and uncaught exceptions in ``page.errors``. On a
developer machine without Chromium the browser tests skip, saying why; with CI=true a missing
browser is a failure, so CI never silently skips them.
"""
import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path():
    """The Chromium executable, or None when there is none."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@contextlib.contextmanager
def chromium():
    """Yield a launched headless Playwright Chromium browser; closed afterwards."""
    from playwright.sync_api import sync_playwright
    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium found (apt-get install chromium, or set $CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, html_path, width=1400, height=900, timeout_ms=30000):
    """Open a page from disk, wait until its script marks ``body[data-ready]``; errors collected."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.errors = []
    page.on("console", lambda msg: page.errors.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    page.goto(Path(html_path).resolve().as_uri())
    try:
        page.wait_for_function("document.body.dataset.ready === '1' || !!document.body.dataset.error",
                               timeout=timeout_ms)
    except Exception as exc:
        raise RuntimeError(f"{html_path} did not get ready: {page.errors}") from exc
    return page


def screenshots(explorer_dir, out_dir, browser=None):
    """Screenshot every page after a representative interaction; return the PNG paths.

    Pass ``browser`` when one is already running (Playwright allows one sync session).
    """
    if browser is None:
        with chromium() as launched:
            return screenshots(explorer_dir, out_dir, launched)
    explorer_dir, out_dir = Path(explorer_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ("index", "embedding", "ifealid", "gallery"):
        page = open_page(browser, explorer_dir / f"{name}.html")
        if name == "embedding":
            visible = page.evaluate("embeddingExplorer.visibleCells()")
            if visible:
                page.mouse.move(*page.evaluate(f"embeddingExplorer.screenPosition({visible[0]})"))
        if name == "ifealid":
            box = page.locator("#marks").bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        path = out_dir / f"{name}.png"
        page.screenshot(path=str(path))
        page.close()
        paths.append(path)
    return paths


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
