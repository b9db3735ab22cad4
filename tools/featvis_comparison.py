"""Compare feature-visualisation recipes on a trained model: the table of docs/featvis.md.

Renders the same channels of a few conv layers (default conv2, conv4, conv9: the leading live
channels of each layer's channel order) with every candidate recipe (a set of ``featvis``
settings over the configuration's), as a chunk job would (``cellscape.featvis.tasks``), and
reports per recipe: the median (and worst) saturated share, the objective relative to the
best real test cell for the channel (median and worst), the high-frequency energy, the
filtering feedback, and seconds per image (per layer, measured in this run one recipe after
the other; compare ratios within one run only, and only on a quiet machine).

    .venv/bin/python tools/featvis_comparison.py --results /work/fv_run/results \\
        [--configfile configs/x.yaml] [--layers conv2 conv4 conv9] [--channels 4] \\
        [--recipes today,default] [--doc docs/featvis.md] [--out docs/featvis]

``--results`` is a results folder of a finished run with at least model/weights.pt,
data/images.npy, featvis/channel_profiles.npz (``snakemake ... results/featvis/channel_order.csv``);
the configuration must be the one that run used. Writes ``<out>/comparison.csv`` (one row per
recipe and channel), ``<out>/comparison_<layer>.png`` (the images, one row per recipe) and,
with ``--doc``, replaces the table between the markers of that markdown file.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from cellscape.data.channels import display, resolve_channels  # noqa: E402
from cellscape.featvis.channel_order import channel_order  # noqa: E402
from cellscape.featvis.tasks import channel_profiles, data_prior, render_channels  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402

START, END = "<!-- comparison:start -->", "<!-- comparison:end -->"

#: the candidate recipes: (name, what it is, featvis overrides of the configuration). "default" is
#: the configuration's recipe (the one the measurements chose: docs/featvis.md); the rows after it
#: change one thing of it each, so each row says what that piece does. "today" is lucid's plain
#: recipe: grey start and fill, plain channel objective, no penalty, lr 0.05, 256 steps.
PLAIN = {"start": "grey", "fill": "grey", "objective": "channel", "cap": 0.0, "tv": 0.0, "blur": 0.0, "range": 0.0,
         "dark": 0.0, "decay_power": 1.0, "saturation_stop": 0.0, "lr": 0.05, "steps": 256, "plateau_stop": True}
RECIPES = [
    ("default", "the configuration's featvis settings", {}),
    ("today", "lucid's plain recipe: grey start and fill, channel objective, lr 0.05, 256 steps", PLAIN),
    ("today-512", "today at 512 steps (configs/paper.yaml)", {**PLAIN, "steps": 512}),
    ("today+stop", "today + saturation stop 0.05", {**PLAIN, "saturation_stop": 0.05}),
    ("today+dark", "today with the data start and black fill", {**PLAIN, "start": "data", "fill": "black"}),
    ("default-512", "default at 512 steps (configs/paper.yaml)", {"steps": 512}),
    ("no cap", "default without the objective cap", {"cap": 0.0}),
    ("no range", "default without the range penalty", {"range": 0.0}),
    ("no tv", "default without total variation", {"tv": 0.0}),
    ("tv -> blur", "default with the blur penalty 10 instead of total variation", {"tv": 0.0, "blur": 10.0}),
    ("1/f", "default with lucid's 1/f spectrum", {"decay_power": 1.0}),
    ("1/f^1.5", "default with a 1/f^1.5 spectrum", {"decay_power": 1.5}),
    ("grey start", "default with grey start and fill", {"start": "grey", "fill": "grey"}),
    ("uniform fill", "default with lucid's random uniform fill", {"fill": "uniform"}),
    ("lr 0.05", "default at lr 0.05", {"lr": 0.05}),
    ("lr 0.05, 256", "default at lr 0.05, 256 steps", {"lr": 0.05, "steps": 256}),
    ("no stop", "default without the saturation stop", {"saturation_stop": 0.0}),
    ("stop 0.05", "default with saturation stop 0.05", {"saturation_stop": 0.05}),
    ("+dark 0.3", "default + brightness (L1) penalty 0.3", {"dark": 0.3}),
    ("relative", "default with the relative (magnitude-free) objective", {"objective": "relative"}),
    ("neuron", "default with the neuron (centre) objective", {"objective": "neuron"}),
]


def load_config(configfiles):
    """config.yaml, then ``configfiles`` over it (as Snakemake merges them), validated with every
    schema default filled in."""
    from snakemake.utils import update_config, validate
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    for path in configfiles:
        update_config(cfg, yaml.safe_load(Path(path).read_text()) or {})
    validate(cfg, str(ROOT / "schemas" / "config.schema.yaml"), set_default=True)
    return cfg


def load_trained(results, cfg, device):
    """The run's trained classifier (``results/model/weights.pt``)."""
    network = {"model": cfg["model"], "image_size": cfg["image_size"], "n_outputs": len(cfg["classes"])}
    return load_network(Path(results) / "model" / "weights.pt", network, device)


def shown_channels(profiles, centres, layer, n, floor):
    """The first ``n`` channels of the layer's order under the activity ``floor``, with each
    channel's best-cell value (mean and centre)."""
    order = channel_order(profiles[layer], floor)[:n]
    return order, profiles[layer][:, order].max(axis=0), centres[layer][:, order].max(axis=0)


def run(results, cfg, layers, n_channels, recipes, floor, device="cpu"):
    """One row per recipe, layer and channel: the numbers of the table, and the images."""
    results = Path(results)
    model = load_trained(results, cfg, device)
    images = np.load(results / "data" / "images.npy", mmap_mode="r")
    rows = np.load(results / "featvis" / "channel_profiles.npz")["rows"]
    profiles, centres = channel_profiles(model, images, rows, layers, device, progress=False)
    picked = {layer: shown_channels(profiles, centres, layer, n_channels, floor) for layer in layers}
    table, drawn = [], {}
    for name, what, overrides in recipes:
        fv = {**cfg["featvis"], **overrides}
        prior = data_prior(fv, images, seed=cfg["seed"])
        for layer in layers:
            channels, best_mean, best_centre = picked[layer]
            best = best_centre if fv["objective"] == "neuron" else best_mean
            started = time.perf_counter()
            out = render_channels(model, layer, channels, fv, cfg["image_size"], cfg["seed"], device, prior, best,
                                  progress=False)
            seconds = time.perf_counter() - started  # render + filtering, as a chunk job
            drawn[(name, layer)] = out["images"]
            for i, c in enumerate(channels):
                table.append({"recipe": name, "layer": layer, "channel": int(c), "steps": fv["steps"],
                              "steps_run": int(out["steps_run"][i]), "render_steps": int(out["render_steps"]),
                              "objective": float(out["objective"][i]),
                              "best_cell": float(best[i]), "best_cell_ratio": float(out["best_cell_ratio"][i]),
                              "saturated": float(out["saturated"][i]),
                              "high_frequency": float(out["high_frequency"][i]),
                              "feedback": float(out["feedback"][i]), "seconds_per_image": seconds / len(channels)})
            print(f"{name:14s} {layer}: sat {np.median(out['saturated']):.3f}, ratio "
                  f"{np.median(out['best_cell_ratio']):.2f} (min {out['best_cell_ratio'].min():.2f}), feedback "
                  f"{np.median(out['feedback']):.2f}, {seconds / len(channels):.2f} s/image", flush=True)
    return pd.DataFrame(table), drawn, picked


def direction_table(results, cfg, layer, powers=(0.0, 1.0, 2.0), device="cpu"):
    """Fig. 17's neuron-group directions of the example cell rendered with the configuration's
    recipe and each cosine power (``featvis.direction_cosine``): one row per power."""
    from cellscape.featvis.nmf_groups import NeuronGroups
    from cellscape.featvis.quality import high_frequency_energy, saturated_share
    from cellscape.featvis.tasks import direction_value, example_cells, render_directions
    from cellscape.model.hooks import layer_outputs
    from cellscape.runtime.tables import read_cell_table
    results = Path(results)
    model = load_trained(results, cfg, device)
    images = np.load(results / "data" / "images.npy", mmap_mode="r")
    cell = example_cells(read_cell_table(results / "model" / "predictions.csv"), 1).iloc[0]
    image = np.asarray(images[int(cell["row"])], dtype=np.float32)
    tensor = layer_outputs(model, image[None], [layer], device=device)[layer][0]
    groups = NeuronGroups(cfg["featvis"]["nmf_groups"], random_state=cfg["seed"]).fit(tensor)
    scale = direction_value(tensor.mean(axis=(1, 2))[None], groups.channel_weights_)[0]
    rows = []
    for power in powers:
        fv = {**cfg["featvis"], "direction_cosine": power}
        started = time.perf_counter()
        drawn, value = render_directions(model, layer, groups.channel_weights_, fv, cfg["image_size"], cfg["seed"],
                                         device, data_prior(fv, images, seed=cfg["seed"]), scale)
        seconds = (time.perf_counter() - started) / len(drawn)
        acts = layer_outputs(model, drawn, [layer], device=device)[layer]
        flat = acts.reshape(len(acts), acts.shape[1], -1)
        w = groups.channel_weights_ / np.linalg.norm(groups.channel_weights_, axis=1, keepdims=True)
        cos = np.einsum("kc,kcp->kp", w, flat) / (np.linalg.norm(flat, axis=1) + 1e-9)
        rows.append({"direction_cosine": power, "saturated (median)": np.median(saturated_share(drawn)),
                     "saturated (max)": saturated_share(drawn).max(),
                     "value / the cell's (min)": (value / scale).min(),
                     "cosine to the direction (median)": np.median(cos.mean(axis=1)),
                     "high-frequency energy x1e3 (median)": 1e3 * np.median(high_frequency_energy(drawn)),
                     "s/image": seconds})
    return pd.DataFrame(rows)


def summary(table, recipes, time_layer="conv4"):
    """One row per recipe: the comparison's numbers over all its channels."""
    described = {name: what for name, what, _ in recipes}
    rows = []
    for name, group in table.groupby("recipe", sort=False):
        by_layer = group.groupby("layer", sort=False)
        timing = group[group["layer"] == time_layer]["seconds_per_image"]
        rows.append({
            "recipe": name, "what": described[name],
            "saturated (median)": group["saturated"].median(),
            "saturated (max)": group["saturated"].max(),
            "worst layer median saturated": by_layer["saturated"].median().max(),
            "objective / best cell (median)": group["best_cell_ratio"].median(),
            "objective / best cell (min)": group["best_cell_ratio"].min(),
            "high-frequency energy x1e3 (median)": 1e3 * group["high_frequency"].median(),
            "feedback (median)": group["feedback"].median(),
            f"s/image {time_layer}": timing.mean() if len(timing) else np.nan,
            "s/image all": group["seconds_per_image"].mean(),
            "render steps (mean)": group.groupby("layer", sort=False)["render_steps"].first().mean(),
        })
    return pd.DataFrame(rows)


def markdown(frame):
    """A pipe table with numbers to 2-3 significant places."""
    def cell(value):
        if isinstance(value, (float, np.floating)):
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def save_images(drawn, picked, recipes, layer, path, image_channels):
    """One row per recipe, one column per channel, composed in ``image_channels``' colours."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cellscape.figures.featvis_figures import feature_rows_figure
    channels = picked[layer][0]
    fig = feature_rows_figure([(name, drawn[(name, layer)]) for name, _, _ in recipes],
                              [f"{layer} ch {c}" for c in channels], f"{layer}: one row per recipe", image_channels)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    from PIL import Image
    Image.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)  # small enough for docs/


def write_doc(doc, text):
    doc = Path(doc)
    body = doc.read_text() if doc.exists() else f"{START}\n{END}\n"
    if START not in body or END not in body:
        raise SystemExit(f"{doc} has no {START} ... {END} markers")
    head, rest = body.split(START, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="results folder of a finished run")
    parser.add_argument("--configfile", nargs="*", default=[], help="the run's config files over config.yaml")
    parser.add_argument("--layers", nargs="+", default=["conv2", "conv4", "conv9"])
    parser.add_argument("--channels", type=int, default=4, help="channels per layer (the leading live ones)")
    parser.add_argument("--recipes", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--floor", type=float, default=None, help="activity floor (default: featvis.live_floor)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--doc", default=None, help="markdown file whose marked table to replace")
    parser.add_argument("--out", default=str(ROOT / "docs" / "featvis"), help="folder for the CSV and PNGs")
    parser.add_argument("--directions", action="store_true",
                        help="also Fig. 17's NMF directions with cosine powers 0, 1, 2 (its own table)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.configfile)
    recipes = RECIPES if args.recipes is None else [r for r in RECIPES if r[0] in args.recipes.split(",")]
    floor = cfg["featvis"]["live_floor"] if args.floor is None else args.floor
    table, drawn, picked = run(args.results, cfg, args.layers, args.channels, recipes, floor)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "comparison.csv", index=False)
    for layer in args.layers:
        save_images(drawn, picked, recipes, layer, out / f"comparison_{layer}.png",
                    display(resolve_channels(cfg["data"])))
    frame = summary(table, recipes)
    text = markdown(frame)
    first = table[table["recipe"] == recipes[0][0]]
    by_layer = first.groupby("layer", sort=False).agg(
        **{"saturated (median)": ("saturated", "median"), "saturated (max)": ("saturated", "max"),
           "objective / best cell (min)": ("best_cell_ratio", "min"), "feedback (median)": ("feedback", "median"),
           "feedback (min)": ("feedback", "min"), "high-frequency energy x1e3 (median)": ("high_frequency", "median"),
           "render steps": ("render_steps", "first")}).reset_index()
    by_layer["high-frequency energy x1e3 (median)"] *= 1e3
    text += f"\n\nRecipe `{recipes[0][0]}` by layer:\n\n" + markdown(by_layer)
    channels = "; ".join(f"{layer} {picked[layer][0].tolist()}" for layer in args.layers)
    note = (f"Channels: {channels} (the first {args.channels} of each layer's order with activity floor {floor}); "
            f"{len(table)} images; generated by `tools/featvis_comparison.py`.")
    if args.directions:
        layer = cfg["featvis"]["nmf_layer"]
        directions = direction_table(args.results, cfg, layer)
        text += (f"\n\nFig. 17's directions ({cfg['featvis']['nmf_groups']} NMF groups of the example cell's {layer} "
                 f"tensor), default recipe, by `featvis.direction_cosine`:\n\n" + markdown(directions))
    print(text)
    print(note)
    if args.doc:
        write_doc(args.doc, f"{text}\n\n{note}")


if __name__ == "__main__":
    main()
