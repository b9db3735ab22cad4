"""The configuration as the workflow sees it, for tests: the schema with every default filled in."""
import copy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def validated_config(cfg=None):
    """``cfg`` validated against the config schema with every default filled in (as the Snakefile does)."""
    from snakemake.utils import validate
    cfg = copy.deepcopy(cfg or {})
    validate(cfg, str(SCHEMA), set_default=True)
    from cellscape.data.channels import resolve_channels
    cfg["data"]["channels"] = resolve_channels(cfg["data"])  # as the rules' params hold them
    return cfg
