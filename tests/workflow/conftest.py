"""One completed tiny run for every workflow test that needs finished results (dry runs on it)."""
import pytest

from support.workflow import REPO, snakemake


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A working directory holding a complete run of configs/tiny.yaml."""
    workdir = tmp_path_factory.mktemp("tiny")
    # the users' command line: --cores 8 whatever the machine has
    r = snakemake(workdir, "--cores", "8", "--configfile", str(REPO / "configs" / "tiny.yaml"))
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    return workdir
