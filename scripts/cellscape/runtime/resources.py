"""The one cost model behind every rule's ``mem_mb`` and ``runtime`` (torch-free: the Snakefile
plans with it).

A job's runtime is its work divided by a rate measured on one core of the 2-core development
machine (docs/performance.md, "Resource estimates"), times a safety factor, plus a fixed start-up
allowance; a retry (``attempt``) scales both estimates. Memory is the bytes a job holds (the
image set when it reads it, its own arrays) plus a fixed interpreter allowance. Estimates are
generous on purpose: on a cluster a job that runs over its request is killed, one that asks for
too much only queues a little longer.
"""
from dataclasses import dataclass

#: work per second on one core of the reference machine (docs/performance.md)
RATES = {
    "simulate_events": 300,        # events drawn and written
    "ingest_events": 300,          # events read, filtered, checked
    "train_images": 40,            # training images (forward + backward), 3 passes per epoch
    "dump_values": 2e9 / 60,       # activation values written (features x cells)
    "embed_cells": 200 / 60,       # cells embedded (UMAP/t-SNE with the kNN graph)
    "flops": 5e9,                  # forward-pass FLOP/s for feature visualisation
}
SAFETY = 3            # runtime = SAFETY x measured work time
BASE_MINUTES = 5      # interpreter, imports, reading inputs
BASE_MB = 1500        # interpreter, torch, numpy
DIRECTORY_EVENTS = 30000  # events assumed for a directory source (its size is unknown at planning)
MB = 2 ** 20


def minutes(work, rate, base=BASE_MINUTES, safety=SAFETY):
    """Minutes for ``work`` units at ``rate`` units per second."""
    return base + safety * work / rate / 60


@dataclass
class CostModel:
    """Snakemake resource callables (``wildcards, attempt``) for one configuration.

    ``config``: the validated config; ``shapes``: the network's LayerShapes.
    """

    config: dict
    shapes: list

    def __post_init__(self):
        self.shape = {s.name: s for s in self.shapes}
        data = self.config["data"]
        synthetic = data["source"] == "synthetic"
        self.n_images = self.config["simulator"]["events"] if synthetic else DIRECTORY_EVENTS
        split = data["split"]
        share = 1.0 if self.config["activations"]["split"] == "all" else split["test"] / sum(split.values())
        self.n_selected = int(self.n_images * share) + 1

    # ---- memory
    def image_set_mb(self):
        """The image set (float32, 2 channels) with working room (x1.5)."""
        size = self.config["image_size"]
        return self.n_images * 2 * size * size * 4 / MB * 1.5

    def mem_mb_images(self, wildcards, attempt):
        """Rules that hold (or memory-map and touch) the image set."""
        return int(BASE_MB + self.image_set_mb()) * attempt

    def mem_mb_dump(self, wildcards, attempt):
        """The images, one batch of the layer, and the reduction's (D x k) working matrices."""
        d = self.shape[wildcards.layer].size
        k = self.config["activations"]["reduced_dim"] + 10
        return int(BASE_MB + self.image_set_mb() + (d * k * 4 * 3 + d * 256 * 4) / MB) * attempt

    def mem_mb_embed(self, wildcards, attempt):
        """Reduced features (n x k) and the kNN graph are small; t-SNE/UMAP working memory dominates."""
        return int(BASE_MB + self.n_selected * 0.2) * attempt

    # ---- runtime
    def runtime_simulate(self, events):
        def runtime(wildcards, attempt):
            return int(minutes(events(wildcards), RATES["simulate_events"]) * attempt)
        return runtime

    def runtime_ingest(self, wildcards, attempt):
        return int(minutes(self.n_images, RATES["ingest_events"], base=10) * attempt)

    def runtime_train(self, wildcards, attempt):
        """Three passes per epoch over the 60% training share (train, then val/test predictions)."""
        per_epoch = 0.6 * self.n_images
        epochs = self.config["training"]["epochs"]
        return int(minutes(per_epoch * epochs, RATES["train_images"], base=15) * attempt)

    def runtime_dump(self, wildcards, attempt):
        values = self.n_selected * self.shape[wildcards.layer].size
        return int(minutes(values, RATES["dump_values"], base=10, safety=1) * attempt)

    def runtime_embed(self, wildcards, attempt):
        return int(minutes(self.n_selected, RATES["embed_cells"], safety=1) * attempt)

