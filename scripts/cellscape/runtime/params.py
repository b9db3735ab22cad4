"""How a rule's params are written so that Snakemake sees a change only when there is one."""
import json


def canonical(settings):
    """``settings`` with every mapping's keys sorted: Snakemake compares params by their text,
    so the order in which config files and defaults filled a dict must not look like a change."""
    return json.loads(json.dumps(settings, sort_keys=True))
