# Config validation, the layer list, output paths and input functions shared by every stage.
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from cellscape.architecture import ArchitectureError, layer_shapes  # torch-free
from cellscape.simulate import resolve_params


validate(config, schema="../schemas/config.schema.yaml", set_default=True)

RESULTS = config["results"]
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"

try:
    SHAPES = layer_shapes(config["model"], config["image_size"], len(config["classes"]))
except ArchitectureError as err:
    raise WorkflowError(f"config model: {err}")
LAYERS = [s.name for s in SHAPES]
CONV_LAYERS = [s.name for s in SHAPES if s.kind == "conv"]
LAYER_SHAPE = {s.name: s for s in SHAPES}

if config["data"]["source"] == "synthetic":
    try:
        SIMULATOR = resolve_params({k: v for k, v in config["simulator"].items()
                                    if k not in ("events", "chunks")}
                                   | {"frame_size": config["simulator"].get("frame_size", config["image_size"])})
    except ValueError as err:
        raise WorkflowError(f"config simulator: {err}")
    if set(config["classes"]) - set(SIMULATOR["class_fractions"]):
        raise WorkflowError(f"config classes {config['classes']}: the simulator makes only "
                            f"{sorted(SIMULATOR['class_fractions'])}")
    CHUNKS = [f"{k:03d}" for k in range(config["simulator"]["chunks"])]
elif not config["data"]["directory"]:
    raise WorkflowError("config data.directory: required when data.source is 'directory'")

wildcard_constraints:
    layer="|".join(LAYERS),
    chunk=r"\d+",


def events_in_chunk(wildcards):
    """Events of one simulator chunk; the first chunks take the remainder."""
    n, k = config["simulator"]["events"], config["simulator"]["chunks"]
    return n // k + (1 if int(wildcards.chunk) < n % k else 0)


def raw_inputs(wildcards):
    if config["data"]["source"] == "synthetic":
        return expand(f"{RESULTS}/raw/{{chunk}}", chunk=CHUNKS)
    return []


def figure(number, slug):
    return [f"{RESULTS}/figures/fig{number:02d}_{slug}.png", f"{RESULTS}/figures/fig{number:02d}_{slug}.pdf"]


def n_images():
    """Events expected in the image set (for resource estimates)."""
    return config["simulator"]["events"] if config["data"]["source"] == "synthetic" else 30000


def mem_mb_images(wildcards, attempt):
    """Memory for rules that hold the image set (float32, 2 channels) plus working room."""
    size = config["image_size"]
    return int(1500 + n_images() * 2 * size * size * 4 / 2**20 * 1.5) * attempt


def all_targets():
    targets = [f"{RESULTS}/data/images.npy", f"{RESULTS}/data/index.csv"]
    targets += figure(2, "preprocessing") + figure(2, "qc")
    targets += MODEL_TARGETS
    return targets
