"""Rule evaluate: a network trained elsewhere, evaluated as train evaluates its own (no training)."""
import json
import shutil

import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.model.evaluation import predict_proba, predictions_table, test_metrics  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.io import atomic_path, write_csv, write_json  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p, out = snakemake.params, snakemake.output
device = job_device(snakemake)
images = np.load(snakemake.input.images, mmap_mode="r")
index = read_cell_table(snakemake.input.index)
classes = json.loads(open(snakemake.input.classes).read())
with atomic_path(out.weights) as tmp:  # the run's copy: later jobs read what was evaluated
    shutil.copyfile(snakemake.input.model, tmp)
model = load_network(out.weights, p.network, device)
predictions = predictions_table(index, predict_proba(model, images, device), classes)
write_csv(predictions, out.predictions)
write_csv(pd.DataFrame(columns=["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"]), out.history)
metrics = test_metrics(predictions, classes, sum(t.numel() for t in model.parameters()), p.evaluated)
metrics.update(source=p.network["source"], model_file=snakemake.input.model, evaluated_on=p.evaluated,
               layers=p.network["layers"], device=str(device), precision="float32")
normalisation = json.loads(open(snakemake.input.normalisation).read())
metrics["normalisation"] = {"setting": normalisation["setting"], "used": normalisation["used"],
                            "warnings": normalisation["warnings"]}
write_json(metrics, out.metrics)
print(json.dumps(metrics, indent=1))
