"""Training recipes compared on finished image sets, over seeds: the measurement behind the
training defaults (docs/performance.md, "Training recipe").

For each image set (a results/<run>/data folder: images.npy, index.csv, classes.json), each
recipe and each seed, the workflow's own ``fit`` trains the paper's network on the set's
60:20:20 split (the split is the ingestion's; the seed changes the initialisation, the batch
order and the augmentation), then the best weights are evaluated on the test split as the
``train`` rule evaluates them. One CSV row per run: test accuracy, balanced accuracy, the
validation accuracy of every epoch, the spread of the last three, the epoch early stopping kept,
training seconds.

    PYTHONPATH=scripts python bench/training_recipe.py --data results/data results/pbc/data \
        --recipes constant10 cosine6 --seeds 0 1 2 --out results/bench/recipe.csv
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from cellscape.model.evaluation import predict_proba, predictions_table, test_metrics
from cellscape.model.precision import resolve_precision
from cellscape.model.sources.train import inference_model
from cellscape.model.training import fit
from cellscape.runtime.tables import read_cell_table

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schemas" / "config.schema.yaml"


def recipe(epochs, lr, schedule, patience=None, nesterov=False, ema_epochs=0, optimiser="sgd", warmup_epochs=1):
    """Every training setting a recipe decides, spelled out (nothing taken from the config)."""
    return {"optimiser": optimiser, "schedule": schedule, "nesterov": nesterov, "ema_epochs": ema_epochs,
            "warmup_epochs": warmup_epochs if schedule == "cosine" else 0, "epochs": epochs,
            "patience": patience or epochs, "batch_size": 32, "lr": lr}


def constant(epochs, patience, nesterov=False, ema_epochs=0):
    """A constant rate of 0.003, early stopping after ``patience`` epochs without a better
    validation loss; optionally Nesterov or a weight average."""
    return recipe(epochs, 0.003, "constant", patience, nesterov, ema_epochs)


def cosine(epochs, lr=0.003, ema_epochs=0):
    """One epoch of warm-up, then a cosine decay to 0 over ``epochs``; Nesterov; no early stop."""
    return recipe(epochs, lr, "cosine", nesterov=True, ema_epochs=ema_epochs)


def adamw(epochs, lr=0.001):
    """AdamW under the cosine schedule; no early stop."""
    return recipe(epochs, lr, "cosine", optimiser="adamw")


#: the recipes compared (docs/performance.md, "Training recipe"); the rest of the training
#: section (momentum, weight decay, class weights, augmentation, precision) is the schema's
RECIPES = {
    "constant10": constant(10, patience=4),
    "cosine6": cosine(6), "cosine6_lr6": cosine(6, lr=0.006), "cosine6_lr10": cosine(6, lr=0.01),
    "cosine8_lr6": cosine(8, lr=0.006), "cosine10": cosine(10), "cosine10_lr6": cosine(10, lr=0.006),
    "cosine7_lr6_ema": cosine(7, lr=0.006, ema_epochs=1), "cosine8_lr6_ema": cosine(8, lr=0.006, ema_epochs=1),
    "ema10": constant(10, patience=10, ema_epochs=1),
    "cosine4": cosine(4), "adamw6": adamw(6), "adamw6_lr3": adamw(6, lr=0.0003),
}


def schema_defaults(section):
    schema = yaml.safe_load(SCHEMA.read_text())["properties"][section]["properties"]
    return {key: spec["default"] for key, spec in schema.items() if "default" in spec}


def run(data, recipe, seed, model_cfg):
    images = np.load(data / "images.npy", mmap_mode="r")
    index = read_cell_table(data / "index.csv")
    classes = json.loads((data / "classes.json").read_text())
    training = {**schema_defaults("training"), **RECIPES[recipe]}
    image_size = images.shape[-1]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        best, history, n_params = fit(images, index, classes, model_cfg, training, image_size, seed, "cpu",
                                      Path(tmp) / "checkpoint.pt")
    seconds = time.perf_counter() - t0
    model = inference_model(best, model_cfg, image_size, len(classes), "cpu", training["channels_last"])
    metrics = test_metrics(predictions_table(index, predict_proba(model, images, "cpu"), classes), classes, n_params)
    val = [h["val_accuracy"] for h in history]
    return {"data": str(data), "recipe": recipe, "seed": seed, "precision": resolve_precision(training["precision"], "cpu"),
            "epochs_run": len(history), "best_epoch": int(np.argmin([h["val_loss"] for h in history]) + 1),
            "test_accuracy": metrics["test_accuracy"], "balanced_accuracy": metrics["balanced_accuracy"],
            "last3_val_spread": float(np.ptp(val[-3:])), "val_accuracy": " ".join(f"{v:.4f}" for v in val),
            "n_test": metrics["n_test"], "train_seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", type=Path, required=True)
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model_cfg = schema_defaults("model")
    done = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame(columns=["data", "recipe", "seed"])
    for data in args.data:
        for recipe in args.recipes:
            for seed in args.seeds:
                if ((done["data"] == str(data)) & (done["recipe"] == recipe) & (done["seed"] == seed)).any():
                    continue
                row = run(data, recipe, seed, model_cfg)
                print(json.dumps(row), flush=True)
                done = pd.concat([done, pd.DataFrame([row])], ignore_index=True)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                done.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
