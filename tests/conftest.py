"""Shared fixtures of the unit tests: the configuration as the workflow sees it; how the tests are
shared between pytest-xdist workers."""
import ast
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


def tiny_run_files(root):
    """The test files (as pytest names them, from the rootdir ``root``) with a test that takes the
    shared tiny run (the ``tiny_run`` fixture): read from their source, so the controller of the
    workers, which collects no tests, knows them too."""
    found = set()
    for path in sorted(Path(root, "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and "tiny_run" in [a.arg for a in node.args.args]:
                found.add(path.relative_to(root).as_posix())
                break
    return found


def test_group(nodeid, tiny_files):
    """The group a test runs in: its file's, or the tiny run's for every file that reads it."""
    file = nodeid.split("::")[0]
    return TINY_RUN_GROUP if file in tiny_files else file


def pytest_collection_modifyitems(config, items):
    """The groups that take longest start first (with pytest-xdist each group runs in one
    worker: see ``pytest_xdist_make_scheduler``); the tests of a file keep their order."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    tiny_files = tiny_run_files(config.rootpath)
    rank = {TINY_RUN_GROUP: 0, **{file: 1 + k for k, file in enumerate(HEAVY_FILES)}}
    items.sort(key=lambda item: rank.get(test_group(item.nodeid, tiny_files), len(rank) + 1))  # stable


def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs two pytest-xdist workers: every test file runs in one worker, so a
    module's fixtures are built once, and every file that reads the shared tiny run runs in one
    group, so the run is made once (xdist's own ``loadgroup`` cannot rename the tests of this
    pytest). Groups are handed out in collection order (``--no-loadscope-reorder``)."""
    from xdist.scheduler import LoadScopeScheduling
    tiny_files = tiny_run_files(config.rootpath)

    class FileGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return test_group(nodeid, tiny_files)

    return FileGroupScheduling(config, log)


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

