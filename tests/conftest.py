"""Shared fixtures of the unit tests: the configuration as the workflow sees it."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from support.config import validated_config  # noqa: E402


@pytest.fixture
def default_config():
    """A fresh, fully defaulted config (tests may change it freely)."""
    return validated_config()


@pytest.fixture(scope="session", autouse=True)
def shared_numba_cache(tmp_path_factory):
    """One numba cache for every workflow run of the session (jobs inherit the variable; the
    rules' own default is one cache per working directory): UMAP, pynndescent and openTSNE
    compile once per session instead of once per test's fresh directory."""
    import os
    if "NUMBA_CACHE_DIR" in os.environ:
        yield
        return
    os.environ["NUMBA_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "numba-cache")
    yield
    os.environ.pop("NUMBA_CACHE_DIR", None)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for a module's page tests (skips, or fails under CI=true, without one)."""
    from support.browser import chromium, require_browser
    require_browser()
    with chromium() as launched:
        yield launched
