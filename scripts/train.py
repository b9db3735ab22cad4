"""Rules train and label_free_train: fit the classifier (resuming from the last checkpoint), then
evaluate it; ``params.channels`` (label_free_train): the image set's channels it sees, by index."""
import json

import numpy as np
import pandas as pd
import torch

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.data.channel_view import ChannelSubset  # noqa: E402
from cellscape.model.evaluation import predict_proba, predictions_table, test_metrics  # noqa: E402
from cellscape.model.precision import resolve_precision  # noqa: E402
from cellscape.model.sources.train import inference_model  # noqa: E402
from cellscape.model.training import fit  # noqa: E402
from cellscape.runtime.io import atomic_path, write_csv, write_json  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p = snakemake.params
net, training = p.network, p.training
device = job_device(snakemake)
images = np.load(snakemake.input.images, mmap_mode="r")
if getattr(p, "channels", None) is not None:
    images = ChannelSubset(images, p.channels)
index = read_cell_table(snakemake.input.index)
classes = json.loads(open(snakemake.input.classes).read())
best, history, n_params = fit(images, index, classes, net["model"], training, net["image_size"], p.seed, device,
                              p.checkpoint)
out = snakemake.output
with atomic_path(out.weights) as tmp:
    torch.save(best, tmp)
write_csv(pd.DataFrame(history), out.history)
model = inference_model(best, net["model"], net["image_size"], len(classes), device, training["channels_last"])
predictions = predictions_table(index, predict_proba(model, images, device), classes)
write_csv(predictions, out.predictions)
metrics = test_metrics(predictions, classes, n_params)
metrics["best_epoch"] = int(pd.DataFrame(history)["val_loss"].idxmin() + 1)
metrics["device"] = str(device)
metrics["precision"] = resolve_precision(training["precision"], device)
# beside the accuracy: the normalisation used, and what it removed that separated the classes
normalisation = json.loads(open(snakemake.input.normalisation).read())
metrics["normalisation"] = {"setting": normalisation["setting"], "used": normalisation["used"],
                            "warnings": normalisation["warnings"]}
write_json(metrics, out.metrics)
print(json.dumps(metrics, indent=1))
