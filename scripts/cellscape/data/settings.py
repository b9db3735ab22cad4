"""What the data stage's rules pass their scripts (``params.settings``), built from the validated
config in one place: ``rules/data.smk`` and the ingestion benchmark both call
:func:`data_settings`, so the benchmark ingests exactly as the workflow does. Torch-free (the
Snakefile imports it at planning).
"""
from .channels import resolve_channels

#: the split drawn when ``data.split`` is none (a network trained elsewhere sees every cell; the
#: project's own regression network still trains on this split)
DEFAULT_SPLIT = {"train": 0.6, "val": 0.2, "test": 0.2}
#: short-form keys that :func:`resolve_channels` has already turned into the channel list
SHORT_FORM_KEYS = ("channel_files", "stack_channels")


def split_fractions(config):
    """The {train, val, test} fractions ingestion draws, from the validated ``config``."""
    return dict(DEFAULT_SPLIT) if config["data"]["split"] == "none" else config["data"]["split"]


def data_settings(config, channels=None):
    """The settings ingestion and Fig. 2 read: ``{data, qc, classes, image_size, seed}``, with
    ``data.channels`` resolved (:func:`resolve_channels`; pass ``channels`` when already resolved)
    and ``data.split`` the fractions of :func:`split_fractions`. A channel's display colour is left
    out: changing it reruns the figures, not ingestion."""
    data = config["data"]
    channels = resolve_channels(data) if channels is None else channels
    return {"data": {**{k: v for k, v in data.items() if k not in SHORT_FORM_KEYS},
                     "rgb": {"crop": data["rgb"]["crop"]},
                     "split": split_fractions(config),
                     "channels": [{k: v for k, v in c.items() if k != "colour"} for c in channels]},
            "qc": config["qc"], "classes": config["classes"],
            "image_size": config["image_size"], "seed": config["seed"]}
