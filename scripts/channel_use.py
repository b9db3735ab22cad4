"""Rule channel_use: the classifier's test scores with each channel replaced by its training mean
image and with only each channel kept (table and Fig. 23)."""
import json

import numpy as np

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.figures.channel_figures import channel_use_figure  # noqa: E402
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.model.channel_use import channel_use_table  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.io import write_csv  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p = snakemake.params
device = job_device(snakemake)
model = load_network(snakemake.input.weights, p.network, device)
images = np.load(snakemake.input.images, mmap_mode="r")
index = read_cell_table(snakemake.input.index)
classes = json.loads(open(snakemake.input.classes).read())
table = channel_use_table(model, images, index, classes, p.channels, device, p.evaluated)
write_csv(table, snakemake.output.table)
print(table.to_string(index=False))
save_figure(channel_use_figure(table, p.channels, classes), *snakemake.output.figure)
