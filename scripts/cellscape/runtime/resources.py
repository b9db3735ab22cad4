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

from ..model.architecture import parameter_count

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
GB = 2 ** 30
#: bytes on disk per raw pixel of the simulator's TIFFs (uint16 plus each file's header),
#: measured on the default run
RAW_BYTES_PER_PIXEL = 2.8
#: bytes on disk per selected cell of everything but the dumps (explorer thumbnails, embeddings,
#: tables, export), and of the figures and feature images whatever the cells, measured on the
#: default run (14 MB for 547 cells, 41 MB)
SHOWN_BYTES_PER_CELL = 30e3
FIGURE_BYTES = 50 * MB


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
        cap = self.config["activations"].get("max_cells")
        self.n_selected = min(int(self.n_images * share) + 1, cap or float("inf"))

    # ---- memory
    def image_set_mb(self):
        """The image set (float32, 2 channels) with working room (x1.5)."""
        size = self.config["image_size"]
        return self.n_images * 2 * size * size * 4 / MB * 1.5

    def mem_mb_images(self, wildcards, attempt):
        """Rules that hold (or memory-map and touch) the image set."""
        return int(BASE_MB + self.image_set_mb()) * attempt

    def mem_mb_train(self, wildcards, attempt):
        """A training job: the network, its optimiser and a batch's activations with gradients
        (~700 MB beside the interpreter), and the pages of the memory-mapped image set it touches
        every epoch (measured: 1.9 GB at 6,000 events, 3.2 GB at 24,000)."""
        return int(BASE_MB + 700 + self.image_set_mb()) * attempt

    def _dump_mb(self, layers):
        """The images, one batch of each layer and each layer's reduction matrices (D x k)."""
        size = sum(self.shape[layer].size for layer in layers)
        k = self.config["activations"]["reduced_dim"] + 10
        return BASE_MB + self.image_set_mb() + (size * k * 4 * 3 + size * 256 * 4) / MB

    def mem_mb_dump(self, wildcards, attempt):
        """One layer's dump (rule dump_activations)."""
        return int(self._dump_mb([wildcards.layer])) * attempt

    def mem_mb_dump_layers(self, layers):
        """A one-pass dump of ``layers`` (rule dump_layers): every layer's working memory at once."""
        def mem_mb(wildcards, attempt):
            return int(self._dump_mb(layers)) * attempt
        return mem_mb

    def mem_mb_profiles(self, layers, n_images, batch_size=64):
        """A pass over ``n_images`` test cells (at most) that keeps a batch of every one of ``layers`` at once
        (channel profiles): about six float32 copies of the batch (the layers' outputs, the pass's
        intermediates, the copies handed back) and a growth of ~1.2 MB per image measured with
        the paper network's conv layers (2.5 GB at 600 images, 3.0 GB at 1,000)."""
        def mem_mb(wildcards, attempt):
            batch = batch_size * sum(self.shape[layer].size for layer in layers) * 4 * 6
            split = self.config["data"]["split"]
            images = min(n_images, self.n_images * split["test"] / sum(split.values())) * 1.3 * MB
            return int(BASE_MB + self.image_set_mb() + (batch + images) / MB) * attempt
        return mem_mb

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

    def _dump_minutes(self, layers):
        values = self.n_selected * sum(self.shape[layer].size for layer in layers)
        return minutes(values, RATES["dump_values"], base=10, safety=1)

    def runtime_dump(self, wildcards, attempt):
        return int(self._dump_minutes([wildcards.layer]) * attempt)

    def runtime_dump_layers(self, layers):
        def runtime(wildcards, attempt):
            return int(self._dump_minutes(layers) * attempt)
        return runtime

    def runtime_embed(self, wildcards, attempt):
        return int(minutes(self.n_selected, RATES["embed_cells"], safety=1) * attempt)

    def runtime_embed_methods(self, methods):
        """A job that embeds one layer with each of ``methods``."""
        def runtime(wildcards, attempt):
            return int(minutes(self.n_selected * len(methods), RATES["embed_cells"], safety=1) * attempt)
        return runtime

    # ---- disk
    def disk_bytes(self):
        """What the run writes to ``results/``, by part (bytes): the largest outputs are the
        activation dumps (float16 by default, one value per feature and selected cell); MDA's
        dumps are temporary but on disk together while its one-pass job runs."""
        size, channels = self.config["image_size"], 2
        itemsize = 2 if self.config["activations"]["dtype"] == "float16" else 4
        layers = [s.name for s in self.shapes]
        mda = self.config["mda"]
        mda_layers = [layer for layer in (mda["layers"] or layers) if layer in self.shape] if mda["enabled"] else []
        weights = 4 * parameter_count(self.config["model"], size, len(self.config["classes"]))
        parts = {
            "raw images": (self.n_images * channels * self.frame_size() ** 2 * RAW_BYTES_PER_PIXEL
                           if self.config["data"]["source"] == "synthetic" else 0),
            "image set": self.n_images * channels * size * size * 4,
            "networks": weights * 4 * (2 if mda["enabled"] else 1),  # weights, best, checkpoint, momentum
            "activation dumps": self.n_selected * sum(self.shape[layer].size for layer in layers) * itemsize,
            "MDA dumps (temporary)": self.n_selected * sum(self.shape[layer].size for layer in mda_layers) * itemsize,
            "embeddings, explorer, export": self.n_selected * SHOWN_BYTES_PER_CELL,
            "figures, feature images": FIGURE_BYTES,
        }
        return parts

    def frame_size(self):
        return self.config.get("simulator", {}).get("frame_size") or self.config["image_size"]

    def largest_request_mb(self):
        """The largest ``mem_mb`` any job asks for at a first attempt: the one-pass dump of every
        layer, a training, the channel profiles of every conv layer, or an embedding."""
        layers = [s.name for s in self.shapes]
        conv = [s.name for s in self.shapes if s.kind == "conv"]
        profiles = self.mem_mb_profiles(conv, self.config["featvis"]["profile_images"])(None, 1)
        return max(self._dump_mb(layers), self.mem_mb_train(None, 1), profiles, self.mem_mb_embed(None, 1))


def disk_summary(parts, free_bytes):
    """One line for the planning message: the total, its largest parts and the free space."""
    total = sum(parts.values())
    shown = ", ".join(f"{name} {value / GB:.2f} GB" for name, value in
                      sorted(parts.items(), key=lambda item: -item[1]) if value >= 0.01 * total)
    return (f"cellscape: this run writes about {total / GB:.1f} GB to its results directory ({shown}); "
            f"{free_bytes / GB:.0f} GB free there")
