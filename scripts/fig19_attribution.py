"""Rule fig19_attribution: the attribution maps of example cells, methods that pass their checks
first, and the checks (Fig. 19)."""
import json

import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.attribution_figures import (attribution_figure, attribution_sanity_figure,  # noqa: E402
                                                   shown_methods)
from cellscape.figures.common import save_figure  # noqa: E402

inp = snakemake.input
d = np.load(inp.maps)
with open(inp.verdicts) as f:
    verdicts = json.load(f)["methods"]
methods = [str(m) for m in d["methods"]]
labels = [str(label) for label in d["labels"]]
shown = shown_methods(methods, verdicts)
save_figure(attribution_figure(d["images"], labels, {m: d[m] for m in shown}, verdicts, snakemake.params.channels),
            *snakemake.output.figure)
save_figure(attribution_sanity_figure(pd.read_csv(inp.randomisation), pd.read_csv(inp.faithfulness),
                                      pd.read_csv(inp.quality), {m: verdicts[m] for m in methods}, shown,
                                      {m: d[f"cascade_{m}"] for m in shown}, [str(s) for s in d["cascade_stages"]],
                                      labels[0].split("\n")[0]),
            *snakemake.output.sanity_figure)
