"""The feature-visualisation stage's job plan: which layers the feature-image figures use, how
many chunk jobs each layer has, which channels each render job draws and what a render costs.

Torch-free: the Snakefile plans with it. Channel *identities* are chosen later, from the trained
model (``featvis.channel_order``); a chunk job renders a fixed range of positions ("slots") in its
layer's channel order, so the job list is known at parse time while the channels themselves
depend on the model.

With ``featvis.channels: shown`` a layer renders only as many leading channels of its order
as the figures show (Figs. 14-16); with ``all`` every channel of every conv layer is drawn.
"""
import math

from ..model.architecture import ArchitectureError, resolve_layer
from .costs import TORCH_MB


def figure_layers(featvis_cfg, conv_layers, notes=None, external=False):
    """The layer each figure uses: {evolution, grid, neurons, nmf, clusters (list, unique)};
    a configured layer the network lacks follows ``model.architecture.resolve_layer`` (in a
    network from elsewhere, ``external``, conv<k> is its k-th layer with a 4-D output)."""
    if not conv_layers:
        raise ArchitectureError("feature visualisation needs conv layers (4-D outputs); the network has none")
    kinds = dict.fromkeys(conv_layers, "conv") if external else None
    clusters = []
    for name in featvis_cfg["cluster_layers"]:
        layer = resolve_layer(name, conv_layers, "featvis.cluster_layers", notes, kinds)
        if layer not in clusters:
            clusters.append(layer)
    chosen = {figure: resolve_layer(featvis_cfg[key], conv_layers, f"featvis.{key}", notes, kinds)
              for figure, key in (("evolution", "evolution_layer"), ("grid", "grid_layer"),
                                  ("neurons", "neuron_layer"), ("nmf", "nmf_layer"))}
    return {**chosen, "clusters": clusters}


def render_counts(featvis_cfg, conv_channels, external=False):
    """{conv layer: number of leading channels of its order to render}.

    ``conv_channels``: {layer: channel count}, in forward order. ``shown``: Fig. 14's
    ``overview_channels`` everywhere, ``neuron_channels`` in Fig. 16's layer, every channel
    in Fig. 15's grid layer. ``all``: every channel.
    """
    layers = list(conv_channels)
    if featvis_cfg["channels"] == "all":
        return dict(conv_channels)
    chosen = figure_layers(featvis_cfg, layers, external=external)
    counts = {}
    for layer, c in conv_channels.items():
        n = featvis_cfg["overview_channels"]
        if layer == chosen["neurons"]:
            n = max(n, featvis_cfg["neuron_channels"])
        if layer == chosen["grid"]:
            n = c
        counts[layer] = min(n, c)
    return counts


def chunk_ids(n_channels, chunk_size):
    """Chunk wildcard values ("0", "1", ...) for a layer rendering ``n_channels`` channels."""
    return [str(k) for k in range(math.ceil(n_channels / chunk_size))]


def chunk_slots(chunk, chunk_size, n_channels):
    """(start, stop) positions in the layer's channel order that chunk ``chunk`` renders."""
    start = int(chunk) * chunk_size
    if not 0 <= start < n_channels:
        raise ValueError(f"chunk {chunk} is outside the {n_channels} channels to render")
    return start, min(start + chunk_size, n_channels)


def forward_flops(shapes, layer, in_channels=2):
    """Multiply-adds x 2 of one image's forward pass up to ``layer`` (3x3 convs, dense layers).

    ``shapes``: ``architecture.layer_shapes`` output. A render step costs about three times
    this (forward, backward to the image) plus the transforms; used for runtime estimates and
    the paper-scale cost table.
    """
    flops, c_in, flat = 0, in_channels, None
    for s in shapes:
        if s.kind == "conv":
            flops += 2 * 9 * c_in * s.channels * s.height * s.width
            c_in = s.channels
            flat = s.channels * ((s.height + 1) // 2) * ((s.width + 1) // 2)
        else:
            flops += 2 * flat * s.channels
            flat = s.channels
        if s.name == layer:
            return flops
    raise ValueError(f"unknown layer {layer!r}")


class FeatvisJobs:
    """The feature-visualisation stage's job plan for one config, as Snakemake callables.

    Bound methods serve as input, params and resource functions of ``rules/featvis.smk``, so
    the rule file holds rules only. ``featvis_dir`` is the results folder of the stage.
    Runtimes follow the project's cost model (``plan.costs``): the forward FLOPs of the
    layer at its rate, three passes per step (forward, backward ~2x forward).
    """

    def __init__(self, featvis_cfg, shapes, featvis_dir, external=False, flops=None, in_channels=2):
        self.cfg = featvis_cfg
        self.in_channels = in_channels  # the image set's channels: the first convolution's input
        self.shapes = list(shapes)
        self.conv_layers = [s.name for s in self.shapes if s.kind == "conv"]
        self.shape = {s.name: s for s in self.shapes}
        self.dir = featvis_dir
        self.notes = []  # configured layers the network lacks, and their stand-ins
        self.flops = flops  # {layer: forward FLOPs up to it} of a network from elsewhere (None: the paper's)
        self.layers = figure_layers(featvis_cfg, self.conv_layers, self.notes, external)
        self.counts = render_counts(featvis_cfg, {name: self.shape[name].channels for name in self.conv_layers},
                                    external)

    RENDER_KEYS = ("steps", "lr", "param", "decorrelate", "channels_last", "bf16", "redirect_relu_steps",
                   "plateau_stop", "start", "fill", "objective", "cap", "tv", "blur", "range", "dark", "decay_power", "saturation_stop",
                   "direction_cosine", "filter_every", "filter_weight")

    def render_settings(self, *extra):
        """The featvis settings a render depends on (plus ``extra`` keys), as a rule param: a
        changed setting reruns exactly the renders it affects."""
        return {key: self.cfg[key] for key in self.RENDER_KEYS + tuple(extra)}

    def chunk_files(self, wildcards):
        """Every chunk file of one layer (input of the merge)."""
        n = self.counts[wildcards.layer]
        return [f"{self.dir}/{wildcards.layer}/chunk{k}.npz" for k in chunk_ids(n, self.cfg["chunk_size"])]

    def slots(self, wildcards):
        """(start, stop) positions of the layer's channel order that one chunk renders."""
        return chunk_slots(wildcards.chunk, self.cfg["chunk_size"], self.counts[wildcards.layer])

    def render_gflop(self, layer, images, steps):
        """The modelled work of rendering ``images`` feature images of ``layer`` for ``steps``
        steps (GFLOP): three forward passes' worth per step (forward, backward ~2x forward)."""
        flops = self.flops[layer] if self.flops else forward_flops(self.shapes, layer, self.in_channels)
        return images * steps * 3 * flops / 1e9

    def job_gflop(self, rule, wildcards):
        """A render job's work: the driver of its calibrated time line (plan.costs.CostModel)."""
        if rule == "featvis_chunk":
            start, stop = self.slots(wildcards)
            return self.render_gflop(wildcards.layer, stop - start, self.cfg["steps"])
        if rule == "featvis_evolution":
            return self.render_gflop(wildcards.layer, self.cfg["evolution_channels"], max(self.cfg["evolution_steps"]))
        n = max(self.cfg["nmf_groups"], self.cfg["max_clusters"])  # featvis_nmf, featvis_clusters
        return self.render_gflop(wildcards.layer, n, self.cfg["steps"])

    def mem_mb(self, wildcards, attempt):
        """A render holds a batch of every layer's activations up to the target, with
        gradients (about 4 copies); the image set is memory-mapped."""
        upto = self.conv_layers[: self.conv_layers.index(wildcards.layer) + 1]
        batch = max(self.cfg["chunk_size"], self.cfg["nmf_groups"], self.cfg["max_clusters"])
        per_image = sum(self.shape[name].size for name in upto) * 4 * 4
        return int(TORCH_MB + batch * per_image / 2**20) * attempt
