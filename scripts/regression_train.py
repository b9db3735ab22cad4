"""Rule train_regression: the classifier's network with one output, trained on the measured target."""
import json

import numpy as np
import pandas as pd
import torch

from cellscape.runtime.rulerun import start

config = start(snakemake, uses_torch=True)
from cellscape.runtime.io import atomic_path, write_csv, write_json  # noqa: E402
from cellscape.model.network import build_model, resolve_device  # noqa: E402
from cellscape.mda.target import ground_truth_agreement, prediction_error  # noqa: E402
from cellscape.model.training import RegressionTask, fit, predict_outputs  # noqa: E402

device = resolve_device(config["device"])
images = np.load(snakemake.input.images, mmap_mode="r")
targets = pd.read_csv(snakemake.input.targets, dtype={"id": str})
targets = targets[np.isfinite(targets["target"])].reset_index(drop=True)
best, history, n_params = fit(images, targets, [], config["model"], snakemake.params.training, config["image_size"],
                              config["seed"], device, snakemake.params.checkpoint, task="regression",
                              target_column="target")
out = snakemake.output
with atomic_path(out.weights) as tmp:
    torch.save(best, tmp)
write_csv(pd.DataFrame(history), out.history)
task = RegressionTask(targets, "target")
write_json({"column": "target", "mean": task.mean, "std": task.std}, out.scaling)

model = build_model(config["model"], config["image_size"], 1).to(device)
model.load_state_dict(best)
outputs = predict_outputs(model, images, device)
predictions = targets[["row", "id", "split", "class", "target"]].copy()
predictions["predicted"] = task.to_original_units(outputs[targets["row"].to_numpy()])
predictions["error"] = predictions["predicted"] - predictions["target"]
write_csv(predictions, out.predictions)

test = predictions["split"] == "test"
summary = prediction_error(predictions.loc[test, "target"], predictions.loc[test, "predicted"])
summary.update(n_parameters=int(n_params), best_epoch=int(pd.DataFrame(history)["val_loss"].idxmin() + 1),
               target_mean=task.mean, target_std=task.std, device=str(device))
if "truth" in targets:  # simulated data: how close the measured target and the net get to the ground truth
    summary["measured_vs_truth"] = ground_truth_agreement(targets.loc[test, "target"], targets.loc[test, "truth"])
    summary["predicted_vs_truth"] = ground_truth_agreement(predictions.loc[test, "predicted"],
                                                           targets.loc[test, "truth"])
write_json(summary, out.test_error)
print(json.dumps(summary, indent=1))
