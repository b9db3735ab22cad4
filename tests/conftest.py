"""Shared fixtures of the data-stage tests: the configuration as the workflow sees it."""
import copy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "config.schema.yaml"
sys.path.insert(0, str(ROOT / "scripts"))


def validated_config(cfg=None):
    """``cfg`` validated against the config schema with every default filled in (as the Snakefile does)."""
    from snakemake.utils import validate
    cfg = copy.deepcopy(cfg or {})
    validate(cfg, str(SCHEMA), set_default=True)
    return cfg


@pytest.fixture
def default_config():
    """A fresh, fully defaulted config (tests may change it freely)."""
    return validated_config()
