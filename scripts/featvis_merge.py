"""Rule featvis_merge: a layer's chunk files as one features.npz (channel-order rank order) and feedback.csv."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.runtime.io import save_npz, write_csv  # noqa: E402

KEYS = ("channels", "images", "filtered", "objective", "feedback")
#: per-channel numbers of docs/featvis.md, one column each in feedback.csv
TABLE = ("objective", "best_cell", "best_cell_ratio", "feedback", "saturated", "high_frequency", "steps_run")
chunks = [np.load(path) for path in snakemake.input]
merged = {key: np.concatenate([chunk[key] for chunk in chunks]) for key in KEYS + TABLE[1:]}
save_npz(snakemake.output.features, **merged)
write_csv(pd.DataFrame({"channel": merged["channels"], **{key: merged[key] for key in TABLE}}),
          snakemake.output.feedback)
