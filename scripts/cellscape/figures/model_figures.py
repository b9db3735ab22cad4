"""Figures of the trained model: architecture (Fig. 1), confusion (Fig. 3), kernels (Fig. 4),
activation images (Figs. 5, 6) and the training curves."""
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.patches import FancyBboxPatch

from ..model.architecture import layer_shapes
from .common import channel_mix, channel_tiles, colour_note, compose_channels, hide_axes, hue_image

GREEN_RED = LinearSegmentedColormap.from_list("green_red", ["#00a000", "#000000", "#e00000"])


def architecture_figure(model, model_cfg, image_size, n_classes):
    """Paper Fig. 1: one block per layer, its height proportional to log(tensor size)."""
    shapes = layer_shapes(model_cfg, image_size, n_classes)
    c_in = model.in_channels
    blocks = [("input", "input", f"{c_in}x{image_size}x{image_size}", c_in * image_size ** 2)]
    k = 0
    for stage, channels in enumerate(model_cfg["conv_stages"], start=1):
        for _ in channels:
            s = shapes[k]
            blocks.append((s.name, "conv", f"{s.channels}x{s.height}x{s.width}", s.size))
            k += 1
        h = -(-shapes[k - 1].height // 2)
        blocks.append((f"pool{stage}", "pool", f"{shapes[k - 1].channels}x{h}x{h}\n+dropout {model_cfg['dropout']:.0%}",
                       shapes[k - 1].channels * h * h))
    for s in shapes[k:]:
        blocks.append((s.name, "dense", f"{s.channels}", s.size))
    colours = {"input": "#bbbbbb", "conv": "#4c9be8", "pool": "#f0a04b", "dense": "#6cc070"}
    n_params = sum(p.numel() for p in model.parameters())
    fig, ax = plt.subplots(figsize=(max(12, len(blocks) * 0.95), 4.8))
    peak = np.log10(max(b[3] for b in blocks))
    for i, (name, kind, label, size) in enumerate(blocks):
        h = 0.5 + 3.0 * np.log10(size) / peak
        ax.add_patch(FancyBboxPatch((i - 0.38, -h / 2), 0.76, h, boxstyle="round,pad=0.02",
                                    fc=colours[kind], ec="black", lw=0.8))
        ax.text(i, h / 2 + 0.15, name, ha="center", va="bottom", fontsize=9, weight="bold")
        ax.text(i, -h / 2 - 0.15, label, ha="center", va="top", fontsize=7.5)
        if i:
            ax.annotate("", (i - 0.4, 0), (i - 0.6, 0), arrowprops={"arrowstyle": "->", "lw": 0.8})
    handles = [plt.Rectangle((0, 0), 1, 1, fc=c, ec="black") for c in colours.values()]
    ax.legend(handles, ["input", "3x3 conv + ReLU", "2x2 max-pool + dropout", "dense (last: softmax)"],
              loc="upper left", ncol=4, fontsize=8, frameon=False)
    ax.set_xlim(-0.7, len(blocks) - 0.3)
    ax.set_ylim(-3.2, 3.0)
    ax.axis("off")
    ax.set_title(f"CellNet: feature-tensor shape after each layer (channels x height x width); "
                 f"{n_params:,} trainable parameters")
    return fig


def shown_name(network, layer):
    """A layer as figures name it: its module path in a network from elsewhere (``layer1.1.relu``)."""
    return dict(network.get("layers", {})).get(layer, layer)


def layers_figure(model, network, n_classes):
    """Fig. 1 for a network trained elsewhere: the input and each explored layer by its module
    path, with its tensor shape (the blocks between them are the network's own)."""
    from ..model.hooks import layer_outputs
    size, c_in = network["image_size"], len(network["channels"])
    blank = np.zeros((1, model.in_channels, size, size), np.float32)
    outputs = layer_outputs(model, blank, model.layer_names)
    blocks = [("input", "input", f"{c_in}x{size}x{size}", c_in * size * size)]
    for name in model.layer_names:
        shape = outputs[name].shape[1:]
        blocks.append((shown_name(network, name), "conv" if len(shape) == 3 else "dense",
                       "x".join(str(d) for d in shape), int(np.prod(shape))))
    colours = {"input": "#bbbbbb", "conv": "#4c9be8", "dense": "#6cc070"}
    n_params = sum(p.numel() for p in model.parameters())
    fig, ax = plt.subplots(figsize=(max(10, len(blocks) * 1.4), 4.8))
    peak = np.log10(max(b[3] for b in blocks))
    for i, (name, kind, label, size_) in enumerate(blocks):
        h = 0.5 + 3.0 * np.log10(max(size_, 1)) / peak
        ax.add_patch(FancyBboxPatch((i - 0.38, -h / 2), 0.76, h, boxstyle="round,pad=0.02",
                                    fc=colours[kind], ec="black", lw=0.8))
        ax.text(i, h / 2 + 0.15, name, ha="center", va="bottom", fontsize=8, weight="bold", rotation=20)
        ax.text(i, -h / 2 - 0.15, label, ha="center", va="top", fontsize=7.5)
        if i:
            ax.annotate("", (i - 0.4, 0), (i - 0.6, 0), arrowprops={"arrowstyle": "->", "lw": 0.8})
    handles = [plt.Rectangle((0, 0), 1, 1, fc=c, ec="black") for c in colours.values()]
    ax.legend(handles, ["input (model.input.channels)", "spatial output (C x H x W)", "vector output (last: logits)"],
              loc="upper left", ncol=3, fontsize=8, frameon=False)
    ax.set_xlim(-0.7, len(blocks) - 0.3)
    ax.set_ylim(-3.2, 3.2)
    ax.axis("off")
    what = f"{network['architecture']} ({network['source']})" if network.get("architecture") else f"{network['source']} network"
    ax.set_title(f"{what}: tensor shape after each explored layer; "
                 f"{n_params:,} parameters, {n_classes} classes")
    return fig


def _first_kernels(model):
    """(name, weight) of the network's first two convolution kernels (4-D parameters)."""
    kernels = [(name.removeprefix("inner."), p.detach().cpu().numpy()) for name, p in model.named_parameters()
               if p.dim() == 4]
    return kernels[:2]


def confusion_figure(metrics):
    """Paper Fig. 3: test-set confusion matrix, per-class accuracy on the rows."""
    classes = metrics["classes"]
    cm = np.asarray(metrics["confusion"])
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.2, 4.4), constrained_layout=True)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{cm[i, j]}\n{share[i, j]:.1%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), [f"{c}\n(acc. {metrics['per_class_accuracy'][c]:.1%})" for c in classes])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"Test set: accuracy {metrics['test_accuracy']:.1%} (n = {metrics['n_test']})")
    fig.colorbar(im, ax=ax, label="share of true class")
    return fig


def training_curves_figure(history):
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    if history.empty:  # a network trained elsewhere (rule evaluate): nothing was trained here
        for ax in (a, b):
            ax.text(0.5, 0.5, "trained elsewhere (model.source):\nno training history", ha="center", va="center")
            ax.axis("off")
        fig.suptitle("Training curves")
        return fig
    best = history["val_loss"].idxmin()
    for ax, key, label in ((a, "loss", "cross-entropy loss"), (b, "accuracy", "accuracy")):
        ax.plot(history["epoch"], history[f"train_{key}"], "o-", label="training (augmented)")
        ax.plot(history["epoch"], history[f"val_{key}"], "s-", label="validation")
        ax.axvline(history["epoch"][best], color="gray", ls="--", label="kept weights")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend()
    fig.suptitle("Training curves")
    return fig


def kernels_figure(model, channels):
    """Paper Fig. 4: conv1 kernels (3x3xC) as the composite of their per-channel weights in the
    ``channels``' colours; conv2 kernels (3x3x32) green-to-red. A network from elsewhere: its
    first two kernels, each as the signed mosaic."""
    if hasattr(model, "layer_paths"):
        return foreign_kernels_figure(_first_kernels(model))
    w1 = model.layer("conv1")[0].weight.detach().cpu().numpy()  # (32, C, 3, 3)
    w2 = model.layer("conv2")[0].weight.detach().cpu().numpy()  # (32, 32, 3, 3)
    n1 = len(w1)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(15, 7.5), constrained_layout=True,
                                  gridspec_kw={"width_ratios": [1, 2.2]})
    tiles = kernel_composite(w1, channels)  # (32, 3, 3, 3)
    cols = 4
    rows = -(-n1 // cols)
    mosaic1 = np.ones((rows * 4 - 1, cols * 4 - 1, 3))
    for i in range(n1):
        r, c = divmod(i, cols)
        mosaic1[r * 4:r * 4 + 3, c * 4:c * 4 + 3] = tiles[i]
    ax.imshow(mosaic1, interpolation="nearest")
    ax.set_xticks(np.arange(cols) * 4 + 1, range(1, cols + 1))
    ax.set_yticks(np.arange(rows) * 4 + 1, [f"{r * cols + 1}-{r * cols + cols}" for r in range(rows)], fontsize=7)
    note = textwrap.fill(colour_note(channels) + " weight", 48)
    ax.set_title(f"conv1: {n1} kernels 3x3x{w1.shape[1]}\n({note};\nmin-max scaled)")
    c_in = w2.shape[1]
    mosaic = np.full((len(w2) * 4 - 1, c_in * 4 - 1), np.nan)
    for i in range(len(w2)):
        for j in range(c_in):
            mosaic[i * 4:i * 4 + 3, j * 4:j * 4 + 3] = w2[i, j]
    lim = np.nanmax(np.abs(w2))
    im = ax2.imshow(mosaic, cmap=GREEN_RED, vmin=-lim, vmax=lim, interpolation="nearest")
    ax2.set_xlabel("input channel (conv1 output)")
    ax2.set_ylabel("conv2 kernel")
    ax2.set_xticks(np.arange(c_in) * 4 + 1, range(1, c_in + 1), fontsize=6)
    ax2.set_yticks(np.arange(len(w2)) * 4 + 1, range(1, len(w2) + 1), fontsize=6)
    ax2.set_title("conv2: 32 kernels 3x3x32")
    fig.colorbar(im, ax=ax2, label="weight", shrink=0.6)
    return fig


def kernel_composite(weights, channels):
    """(K, C, h, w) weights, min-max scaled to [0, 1] over all, as composites (K, h, w, 3); dimmed
    as a whole when the colours of several channels would add past 1, so no kernel saturates."""
    scaled = (weights - weights.min()) / (weights.max() - weights.min() + 1e-12)
    mixed = channel_mix(scaled, channels)
    return compose_channels(scaled, channels, gain=1 / max(1.0, float(mixed.max())))


def foreign_kernels_figure(kernels, most=32):
    """Fig. 4 of a network from elsewhere: each of its first kernels (at most ``most`` outputs
    x ``most`` inputs) as a green-to-red mosaic, one row per output channel."""
    fig, axes = plt.subplots(1, len(kernels), figsize=(7.5 * len(kernels), 7.5), constrained_layout=True, squeeze=False)
    for ax, (name, w) in zip(axes[0], kernels):
        shown = w[:most, :most]
        k_h, k_w = shown.shape[2:]
        mosaic = np.full((len(shown) * (k_h + 1) - 1, shown.shape[1] * (k_w + 1) - 1), np.nan)
        for i in range(len(shown)):
            for j in range(shown.shape[1]):
                mosaic[i * (k_h + 1):i * (k_h + 1) + k_h, j * (k_w + 1):j * (k_w + 1) + k_w] = shown[i, j]
        lim = np.nanmax(np.abs(shown)) or 1.0
        im = ax.imshow(mosaic, cmap=GREEN_RED, vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_xlabel("input channel")
        ax.set_ylabel("kernel")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name}: {w.shape[0]} kernels {k_h}x{k_w}x{w.shape[1]}"
                     + (f" (first {most} shown)" if max(w.shape[:2]) > most else ""))
        fig.colorbar(im, ax=ax, label="weight", shrink=0.6)
    return fig


def conv2_activations_figure(image, maps, cell_label, channels, layer="conv2"):
    """Paper Fig. 5: the cell (composite and each of its ``channels`` alone), then every conv2
    channel normalised, in its own hue, and the combined image."""
    c = len(maps)
    hues = np.linspace(0, 1, c, endpoint=False)
    cols = 8
    top = -(-(2 + len(channels)) // cols)
    rows = top + -(-c // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.5, rows * 1.6), constrained_layout=True)
    for ax in axes.ravel():
        hide_axes(ax)
        ax.set_frame_on(False)
    heads = axes[:top].ravel()
    heads[0].imshow(compose_channels(image, channels))
    heads[0].set_title("cell", fontsize=8)
    heads[1].imshow(hue_image(maps, hues))
    heads[1].set_title(f"all {layer} channels", fontsize=8)
    for ax in heads[2:2 + len(channels)]:
        ax.set_frame_on(True)
    channel_tiles(heads[2:], image, channels, fontsize=8)
    for k in range(c):
        ax = axes[top + k // cols, k % cols]
        ax.imshow(hue_image(maps[k:k + 1], hues[k:k + 1]))
        ax.set_title(f"ch {k}", fontsize=7)
    fig.suptitle(f"{layer} activations of {cell_label}, each channel normalised in its own hue\n"
                 f"(cell: {colour_note(channels)}; each channel alone in grey)", fontsize=10)
    return fig


def combined_activations_figure(image, maps_by_layer, cell_label, channels):
    """Paper Fig. 6: the combined activation image of one cell at each of the first conv layers."""
    n = len(maps_by_layer) + 1
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 3), constrained_layout=True)
    axes[0].imshow(compose_channels(image, channels))
    axes[0].set_title("cell")
    for ax, (name, maps) in zip(axes[1:], maps_by_layer.items()):
        ax.imshow(hue_image(maps))
        ax.set_title(f"{name}: {maps.shape[0]} ch, {maps.shape[1]}x{maps.shape[2]}")
    for ax in axes:
        hide_axes(ax)
    fig.suptitle(f"Combined activation images of {cell_label} (one hue per channel)\ncell: {colour_note(channels)}")
    return fig
