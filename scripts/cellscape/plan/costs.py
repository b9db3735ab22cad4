"""The one cost model behind every rule's ``mem_mb`` and ``runtime`` (torch-free: the Snakefile
plans with it).

Each rule's cost is a line in what drives it (the events, the cells after training, the values a
dump writes, a render's FLOPs), fitted to every job's ``benchmark:`` file by ``bench/scaling.py``
on the runs of docs/scaling.md (``CALIBRATION``; rerun the benchmark to refit it on another
machine). A job asks for ``SAFETY`` x its modelled seconds, rounded up to whole minutes (at least
one: SLURM counts minutes), so every job of 15 s or more asks for 2x-4x its measured time, and
``HEADROOM`` x its modelled peak memory (at least ``FLOOR_MB``). A retry (``attempt``) multiplies
both: the SLURM profile retries a job killed for time or memory once, with twice the request.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..data.channels import resolve_channels
from ..model.architecture import parameter_count

SAFETY = 2          # runtime asked / modelled: a node slower than the calibration machine
HEADROOM = 1.5      # mem_mb asked / modelled peak
FLOOR_MB = 256      # the interpreter with numpy, pandas and matplotlib: 100-250 MB measured
TORCH_MB = 1500     # a job that imports torch and holds a network (1.0-1.5 GB measured)
#: bfloat16 (the calibration machine) against float32 (an AVX2-only CPU) for the trainings,
#: measured on the default run (docs/performance.md): training is modelled at float32's cost
FLOAT32_TRAINING = 2.3
TRAINING_SAFETY = 1.5  # on top of the float32 model: 1.5x float32, 3.5x bfloat16

#: what each rule's cost grows with: (time driver, memory driver); None where the memory is
#: modelled from what the job holds (trainings, dumps, profiles, the renders of one channel). "fixed": nothing the
#: config sizes; "events": simulated (or a directory's assumed) events; "cells": selected after
#: training (activations.max_cells); "chunk_events": a simulator chunk's events; "epoch_events":
#: events x epochs; "method_cells": cells x embedding methods; "values": millions of activation
#: values a dump writes; "render": GFLOP of a feature-image job (plan.featvis); "channel_passes":
#: test cells x the channel ablation's conditions (1 + 2 x channels)
DRIVERS = {
    "simulate_chunk": ("chunk_events", "fixed"), "ingest": ("events", "events"),
    "fig02_preprocessing": ("events", "events"), "train": ("epoch_events", None),
    "fig01_06_model": ("fixed", "fixed"), "select_images": ("events", "events"),
    "dump_layers": ("values", None), "mda_layers": ("values", None), "attribution": ("fixed", "fixed"),
    "fig19_attribution": ("fixed", "fixed"), "embed": ("method_cells", "cells"),
    "layer_metrics": ("cells", "cells"), "fig07_11_embedding": ("cells", "cells"),
    "fig12_umap_layers": ("fixed", "fixed"), "fig12_separation": ("fixed", "fixed"),
    "featvis_channel_order": ("fixed", None), "featvis_chunk": ("render", None),
    "featvis_evolution": ("render", None), "featvis_nmf": ("render", "cells"), "featvis_clusters": ("render", "cells"),
    "featvis_merge": ("fixed", "fixed"), "fig13_feature_evolution": ("fixed", "fixed"),
    "fig14_feature_layers": ("fixed", "fixed"), "fig15_feature_grid": ("fixed", "fixed"),
    "fig16_neuron_examples": ("fixed", "fixed"), "fig17_neuron_groups": ("fixed", "fixed"),
    "fig18_cluster_features": ("fixed", "fixed"), "mda_targets": ("events", "events"),
    "mda_train": ("epoch_events", None), "mda_embed": ("method_cells", "cells"),
    "mda_classifier": ("method_cells", "cells"), "mda_metrics": ("fixed", "fixed"),
    "fig20_21_mda": ("fixed", "cells"), "fig22_mda_classifier": ("fixed", "cells"),
    "explorer": ("cells", "cells"),
    "neighbours": ("cells", "cells"), "attribution_cells": ("fixed", "fixed"), "export": ("events", "events"),
    "evaluate": ("events", "events"), "channel_use": ("channel_passes", "events"),
    "label_free_separation": ("cells", "cells"), "cell_features": ("events", "events"), "probes": ("cells", "cells"),
    "cka": ("values", None), "concepts": ("values", None),
}
#: rules that run another rule's script with its resources (``use rule``): calibrated as one
SHARED = {"mda_selection": "select_images", "dump_activations": "dump_layers", "mda_activations": "mda_layers",
          "label_free_train": "train", "label_free_layers": "dump_layers", "untrained_layers": "dump_layers",
          "replicate_train": "train", "replicate_layers": "dump_layers"}
#: rule -> {"time": (seconds at 0, seconds per driver unit), "memory": (MB at 0, MB per unit)},
#: fitted by bench/scaling.py to every job of the runs in docs/scaling.md (bfloat16 here);
#: a rule it has not measured gets UNCALIBRATED
CALIBRATION = json.loads((Path(__file__).with_name("calibration.json")).read_text())
UNCALIBRATED = {"time": (300, 0.0), "memory": (1000, 0.0)}
DIRECTORY_EVENTS = 30000  # events assumed for a directory source that cannot be listed at planning
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


def directory_events(config, channels=None):
    """The events of a directory source, from a listing of its files (no image is opened); when
    it cannot be listed (missing, a class folder empty...: ingestion then says why),
    DIRECTORY_EVENTS. ``channels``: resolved (None: resolved here from the config)."""
    from ..data.readers import InputError, discover_events
    data = config["data"]
    channels = resolve_channels(data) if channels is None else channels
    try:
        return len(discover_events(data["directory"], config["classes"], channels,
                                   data.get("labels"))) or DIRECTORY_EVENTS
    except (InputError, OSError, TypeError):
        return DIRECTORY_EVENTS


def source_events(config, channels):
    """The events the data source holds, as planning can count them: the simulator's setting,
    the .cif files' headers, or a listing of the directory (DIRECTORY_EVENTS when unknown)."""
    data = config["data"]
    if data["source"] == "synthetic":
        return config["simulator"]["events"]
    if data["source"] == "cif":  # the files' headers say how many objects they hold
        from ..data.cif.source import total_objects
        return total_objects(data) or DIRECTORY_EVENTS
    return directory_events(config, channels)


def calibrated(rule):
    """The calibration lines of ``rule`` (UNCALIBRATED when bench/scaling.py has not measured it)."""
    return {**UNCALIBRATED, **CALIBRATION.get(rule, {})}


def request_minutes(seconds, attempt=1, safety=SAFETY):
    """Whole minutes for a job modelled at ``seconds`` (at least one)."""
    return max(1, math.ceil(safety * seconds / 60)) * attempt


def request_mb(peak_mb, attempt=1):
    """Memory for a job modelled to peak at ``peak_mb``."""
    return max(FLOOR_MB, math.ceil(HEADROOM * peak_mb)) * attempt


@dataclass
class CostModel:
    """Snakemake resource callables (``wildcards, attempt``) for one configuration.

    ``config``: the validated config; ``shapes``: the network's LayerShapes; ``n_parameters``:
    a network trained elsewhere's (None: the paper network's, from the config); ``channels``:
    the image set's, resolved (None: resolved here); ``n_images``: the events the source holds,
    when the planning has counted them (None: counted here).
    """

    config: dict
    shapes: list
    n_parameters: int = None
    channels: list = None
    n_images: int = None

    def __post_init__(self):
        self.shape = {s.name: s for s in self.shapes}
        data = self.config["data"]
        if self.channels is None:
            self.channels = resolve_channels(data)
        if self.n_images is None:
            self.n_images = source_events(self.config, self.channels)
        split = data["split"]
        every = self.config["activations"]["split"] == "all" or split == "none"  # none: all cells are new to the net
        share = 1.0 if every else split["test"] / sum(split.values())
        cap = self.config["activations"].get("max_cells")
        self.n_selected = min(int(self.n_images * share) + 1, cap or float("inf"))
        self.n_channels = len(self.channels)
        self.n_evaluated = self.n_images if split == "none" else int(self.n_images * split["test"] / sum(split.values())) + 1

    # ---- the calibrated lines
    #: set by the plan (cellscape.plan.build): the feature-image jobs (their render GFLOP) and the
    #: MDA stage's layers (its one-pass dump's values)
    featvis = None
    mda_layers = None
    #: set by the plan (cellscape.plan.studies): the compared layers' sizes and the tested layers
    similarity_sizes = None
    concept_layers = None

    def driver_value(self, rule, wildcards=None):
        """The value of ``rule``'s time driver for one job (``wildcards``): what its runtime is
        computed from, and what bench/scaling.py fits the calibration to. ``rule``: the rule's
        own name (``SHARED`` rules are calibrated as another)."""
        driver = DRIVERS[SHARED.get(rule, rule)][0]
        if rule == "cka":
            return self.similarity_values(self.similarity_sizes)
        if rule == "concepts":  # a gradient of every class at every tested layer
            return self.layer_values(self.concept_layers) * len(self.config["classes"])
        if driver == "render":
            return self.featvis.job_gflop(rule, wildcards)
        if driver == "values":  # one layer's dump, the one-pass dump of every layer, or MDA's layers
            if getattr(wildcards, "layer", None) is not None:
                return self.layer_values([wildcards.layer])
            return self.layer_values(self.mda_layers if rule in ("mda_layers", "mda_activations") else list(self.shape))
        if driver == "chunk_events":  # the simulator's chunks: the first take the remainder
            n, k = self.config["simulator"]["events"], self.config["simulator"]["chunks"]
            return n // k + (1 if int(wildcards.chunk) < n % k else 0)
        if driver == "epoch_events":
            training = self.config["mda"]["training"] if rule == "mda_train" else self.config["training"]
            return self.n_images * training["epochs"]
        if driver == "method_cells":
            methods = {"embed": len(self.config["embeddings"]["methods"]),
                       "mda_embed": len(self.config["mda"]["methods"])}.get(rule, 1)  # mda_classifier: MDA alone
            return self.n_selected * methods
        if driver == "channel_passes":
            return self.channel_passes(self.n_channels)
        return self.memory_value(driver)

    def memory_value(self, driver):
        """The value of a driver the config alone sizes (every memory driver)."""
        return {"fixed": 0, "events": self.n_images, "cells": self.n_selected}[driver]

    def mem_mb(self, rule):
        """``mem_mb`` callable of ``rule`` from its calibrated memory line."""
        driver, (c, d) = DRIVERS[SHARED.get(rule, rule)][1], calibrated(SHARED.get(rule, rule))["memory"]

        def mem_mb(wildcards, attempt):
            return request_mb(c + d * self.memory_value(driver), attempt)
        return mem_mb

    def runtime(self, rule):
        """``runtime`` callable (minutes) of ``rule`` from its calibrated time line."""
        a, b = calibrated(SHARED.get(rule, rule))["time"]

        def runtime(wildcards, attempt):
            return request_minutes(a + b * self.driver_value(rule, wildcards), attempt)
        return runtime

    def runtime_training(self, rule, epochs):
        """A training: the calibrated line (bfloat16 here) at float32's cost, the slower of the
        precisions a node may use, with ``TRAINING_SAFETY`` on top."""
        a, b = calibrated(rule)["time"]
        seconds = (a + b * self.n_images * epochs) * FLOAT32_TRAINING

        def runtime(wildcards, attempt):
            return request_minutes(seconds, attempt, safety=TRAINING_SAFETY)
        return runtime

    def channel_passes(self, n_channels):
        """Images the channel ablation classifies: the evaluated cells once per condition (all
        channels, and without and with only each of ``n_channels``)."""
        return self.n_evaluated * (1 + 2 * n_channels)

    def layer_values(self, layers):
        """Millions of activation values a dump of ``layers`` writes (cells x layer sizes)."""
        return self.n_selected * sum(self.shape[layer].size for layer in layers) / 1e6

    def dump_values(self, wildcards):
        """Millions of values one layer's dump writes (rule dump_activations)."""
        return self.layer_values([wildcards.layer])

    def cka_cells(self):
        """The cells CKA compares (similarity.max_cells of the shown ones)."""
        return min(self.n_selected, self.config["similarity"]["max_cells"])

    def similarity_values(self, sizes):
        """Millions of activation values the CKA job reads: its cells x the compared layers'
        ``sizes`` (features per cell, every network's layers)."""
        return self.cka_cells() * sum(sizes) / 1e6

    # ---- memory from what a job holds
    def image_set_mb(self):
        """The image set (float32, every channel) with working room (x1.5)."""
        size = self.config["image_size"]
        return self.n_images * self.n_channels * size * size * 4 / MB * 1.5

    def mem_mb_train(self, wildcards, attempt):
        """A training job: the network, its optimiser and a batch's activations with gradients
        (~700 MB beside the interpreter), and the pages of the memory-mapped image set it touches
        every epoch (measured: 1.9 GB at 6,000 events, 3.5 GB at 24,000)."""
        return int(TORCH_MB + 700 + self.image_set_mb()) * attempt

    def _dump_mb(self, layers):
        """The images, one batch of each layer and each layer's reduction matrices (D x k)."""
        size = sum(self.shape[layer].size for layer in layers)
        k = self.config["activations"]["reduced_dim"] + 10
        return TORCH_MB + self.image_set_mb() + (size * k * 4 * 3 + size * 256 * 4) / MB

    def mem_mb_dump(self, wildcards, attempt):
        """One layer's dump (rule dump_activations)."""
        return int(self._dump_mb([wildcards.layer])) * attempt

    def mem_mb_dump_layers(self, layers):
        """A one-pass dump of ``layers`` (rule dump_layers): every layer's working memory at once."""
        def mem_mb(wildcards, attempt):
            return int(self._dump_mb(layers)) * attempt
        return mem_mb

    def mem_mb_cka(self, n_layers):
        """The CKA job: one float32 cells x cells matrix per compared layer (every network), the
        float64 sum of the layer being read and a block of 4,096 features of it."""
        n = self.cka_cells()
        held = n_layers * n * n * 4 + 3 * n * n * 8 + n * 4096 * (2 + 4 + 4)

        def mem_mb(wildcards, attempt):
            return request_mb(FLOOR_MB + held / MB, attempt)
        return mem_mb

    def mem_mb_concepts(self, layers, n_directions):
        """The concepts job: the network, the shown cells' images, every tested layer's directions
        (float32), a batch's gradients at every layer and one cells x cells Gram matrix."""
        size = sum(self.shape[layer].size for layer in layers)
        cells = self.n_selected
        images = cells * self.n_channels * self.config["image_size"] ** 2 * 4
        batch = self.config["activations"]["batch_size"] * size * 4 * 4
        held = images + size * n_directions * 4 + batch + 3 * cells * cells * 8

        def mem_mb(wildcards, attempt):
            return request_mb(TORCH_MB + held / MB, attempt)
        return mem_mb

    def mem_mb_profiles(self, layers, n_images, batch_size=64):
        """A pass over ``n_images`` test cells (at most) that keeps a batch of every one of ``layers`` at once
        (channel profiles): about six float32 copies of the batch (the layers' outputs, the pass's
        intermediates, the copies handed back) and a growth of ~1.2 MB per image measured with
        the paper network's conv layers (2.5 GB at 600 images, 3.0 GB at 1,000)."""
        def mem_mb(wildcards, attempt):
            batch = batch_size * sum(self.shape[layer].size for layer in layers) * 4 * 6
            split = self.config["data"]["split"]
            test = 0.2 if split == "none" else split["test"] / sum(split.values())
            images = min(n_images, self.n_images * test) * 1.3 * MB
            return int(TORCH_MB + self.image_set_mb() + (batch + images) / MB) * attempt
        return mem_mb

    # ---- disk
    def disk_bytes(self):
        """What the run writes to ``results/``, by part (bytes): the largest outputs are the
        activation dumps (float16 by default, one value per feature and selected cell); MDA's
        dumps are temporary but on disk together while its one-pass job runs."""
        size, channels = self.config["image_size"], self.n_channels
        itemsize = 2 if self.config["activations"]["dtype"] == "float16" else 4
        layers = [s.name for s in self.shapes]
        mda = self.config["mda"]
        mda_layers = [layer for layer in (mda["layers"] or layers) if layer in self.shape] if mda["enabled"] else []
        weights = 4 * (self.n_parameters or parameter_count(self.config["model"], size, len(self.config["classes"])))
        parts = {
            "raw images": (self.n_images * channels * self.frame_size() ** 2 * RAW_BYTES_PER_PIXEL
                           if self.config["data"]["source"] == "synthetic" else 0),
            "image set": self.n_images * channels * size * size * 4,
            "networks": weights * 4 * ((2 if mda["enabled"] else 1) + self.config["similarity"]["replicates"]),  # weights, best, checkpoint, momentum
            "activation dumps": self.n_selected * sum(self.shape[layer].size for layer in layers) * itemsize,
            "MDA dumps": self.n_selected * sum(self.shape[layer].size for layer in mda_layers) * itemsize,
            # the classifier's copies (similarity.replicates): on disk until the CKA job has read them
            "replicate dumps (temporary)": (self.config["similarity"]["replicates"] * self.n_selected
                                            * sum(self.shape[layer].size for layer in layers) * itemsize),
            "embeddings, explorer, export": self.n_selected * SHOWN_BYTES_PER_CELL,
            "figures, feature images": FIGURE_BYTES,
        }
        return parts

    def frame_size(self):
        return self.config.get("simulator", {}).get("frame_size") or self.config["image_size"]

    def largest_request_mb(self):
        """The largest ``mem_mb`` any job asks for at a first attempt: the one-pass dump of every
        layer, a training, or the channel profiles of every conv layer."""
        layers = [s.name for s in self.shapes]
        conv = [s.name for s in self.shapes if s.kind == "conv"]
        profiles = self.mem_mb_profiles(conv, self.config["featvis"]["profile_images"])(None, 1)
        return max(self._dump_mb(layers), self.mem_mb_train(None, 1), profiles)


def disk_summary(parts, free_bytes):
    """One line for the planning message: the total, its largest parts and the free space."""
    total = sum(parts.values())
    shown = ", ".join(f"{name} {value / GB:.2f} GB" for name, value in
                      sorted(parts.items(), key=lambda item: -item[1]) if value >= 0.01 * total)
    return (f"cellscape: this run writes about {total / GB:.1f} GB to its results directory ({shown}); "
            f"{free_bytes / GB:.0f} GB free there")
