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
