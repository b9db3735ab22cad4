"""Rule mda_train: the classifier's network with one output, trained on the measured target."""
import json

import numpy as np
import pandas as pd
import torch

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.mda.regression_task import RegressionTask  # noqa: E402
from cellscape.mda.target import ground_truth_agreement, prediction_error  # noqa: E402
from cellscape.model.sources.train import inference_model  # noqa: E402
from cellscape.model.training import fit, predict_outputs  # noqa: E402
from cellscape.runtime.io import atomic_path, write_csv, write_json  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p = snakemake.params
net = p.network
device = job_device(snakemake)
images = np.load(snakemake.input.images, mmap_mode="r")
targets = read_cell_table(snakemake.input.targets)
targets = targets[np.isfinite(targets["target"])].reset_index(drop=True)
task = RegressionTask(targets, "target")
best, history, n_params = fit(images, targets, [], net["model"], p.training, net["image_size"], p.seed, device,
                              p.checkpoint, task=task)
out = snakemake.output
with atomic_path(out.weights) as tmp:
    torch.save(best, tmp)
write_csv(pd.DataFrame(history), out.history)
write_json({"column": "target", "mean": task.mean, "std": task.std}, out.scaling)

model = inference_model(best, net["model"], net["image_size"], net["n_outputs"], device, p.training["channels_last"])
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
