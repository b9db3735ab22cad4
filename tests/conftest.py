"""Shared fixtures of the unit tests: the configuration as the workflow sees it."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from support.config import validated_config  # noqa: E402


#: files whose tests start long runs or wait on other processes, in the order a second worker should
#: take them up (pytest-xdist, ``make test``); the shared tiny run's group goes first
HEAVY_FILES = ("tests/workflow/test_external_models.py", "tests/workflow/test_slurm.py",
               "tests/bench/test_bench_smoke.py", "tests/workflow/test_real_export_run.py",
               "tests/workflow/test_channel_use_run.py")
TINY_RUN_GROUP = "tiny_run"


def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (``make test`` runs two workers) every test file runs in one worker, so a
    module's fixtures are built once, and every file that reads the shared tiny run (``tiny_run``)
    runs in one group, so the run is made once. The groups that take longest start first; the
    order of the tests within a file stays as written."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    path = lambda item: item.nodeid.split("::")[0]
    tiny_files = {path(item) for item in items if "tiny_run" in getattr(item, "fixturenames", ())}
    group = {file: (TINY_RUN_GROUP if file in tiny_files else file) for file in map(path, items)}
    rank = {TINY_RUN_GROUP: 0, **{file: 1 + k for k, file in enumerate(HEAVY_FILES)}}
    items.sort(key=lambda item: rank.get(group[path(item)], len(rank) + 1))  # stable: files keep their order
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group[path(item)]))


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
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # one cache for the workers too (basetemp/popen-gw0, ...)
        base = base.parent
    os.environ["NUMBA_CACHE_DIR"] = str(base / "numba-cache")
    yield
    os.environ.pop("NUMBA_CACHE_DIR", None)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for a module's page tests (skips, or fails under CI=true, without one)."""
    from support.browser import chromium, require_browser
    require_browser()
    with chromium() as launched:
        yield launched
