"""Rule simulate_chunk: one chunk of synthetic imaging-cytometer events."""
from cellscape.runtime.rulerun import start
from cellscape.data.simulate import simulate_chunk

config = start(snakemake)
simulate_chunk(snakemake.output[0], int(snakemake.wildcards.chunk), snakemake.params.n_events,
               config["seed"], snakemake.params.simulator)
