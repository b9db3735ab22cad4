"""Rule simulate_chunk: one chunk of synthetic imaging-cytometer events."""
from cellscape.data.simulate import simulate_chunk
from cellscape.runtime.rulerun import start

start(snakemake)
simulate_chunk(snakemake.output[0], int(snakemake.wildcards.chunk), snakemake.params.n_events,
               snakemake.params.seed, snakemake.params.simulator, channels=snakemake.params.channels)
