# Config validation, the layer list, output paths and input functions shared by every stage.
import os
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from cellscape.model.architecture import ArchitectureError, layer_shapes  # torch-free
from cellscape.runtime.rulerun import RUN_CORES_VARIABLE
from cellscape.data.simulate import resolve_params


validate(config, schema="../schemas/config.schema.yaml", set_default=True)

# Local runs: rule scripts scale their threads to the CPUs there are when --cores promises more
# (cellscape.rulerun.thread_count). Cluster jobs get the CPUs they ask for and are left alone.
if workflow.is_main_process and workflow.local_exec:
    try:
        os.environ[RUN_CORES_VARIABLE] = str(int(workflow.cores))
    except WorkflowError:  # no --cores (e.g. --lint): no jobs run
        pass

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
    targets += EMBEDDING_TARGETS
    targets += FEATVIS_TARGETS
    targets += REGRESSION_TARGETS
    targets += EXPLORER_TARGETS
    return targets


def uses_cuda():
    """Whether torch rules will run on a GPU (decided without importing torch: 'auto' asks
    for a GPU only when one is visible to this process)."""
    if config["device"] == "cuda":
        return True
    if config["device"] == "cpu":
        return False
    import shutil
    return shutil.which("nvidia-smi") is not None


def gpu_count(wildcards):
    return 1 if uses_cuda() else 0


def runtime_train(wildcards, attempt):
    """Minutes: about 2 GFLOP per training image on a 2-core CPU at ~40 images/s."""
    per_epoch = 3 * 0.6 * n_images() / 40 / 60
    return int((15 + per_epoch * config["training"]["epochs"]) * attempt)


def n_selected():
    share = 1.0 if config["activations"]["split"] == "all" else config["data"]["split"]["test"]
    return int(n_images() * share / sum(config["data"]["split"].values())) + 1


def mem_mb_dump(wildcards, attempt):
    """The images, one batch of the layer, and the reduction's (D x k) working matrices."""
    d = LAYER_SHAPE[wildcards.layer].size
    k = config["activations"]["reduced_dim"] + 10
    return int(mem_mb_images(wildcards, 1) + (d * k * 4 * 3 + d * 256 * 4) / 2**20) * attempt


def runtime_dump(wildcards, attempt):
    return int(10 + n_selected() * LAYER_SHAPE[wildcards.layer].size / 2e9) * attempt


EXPLORER_METHODS = [m for m in config["embeddings"]["methods"] if m in ("umap", "tsne")]


wildcard_constraints:
    method="umap|tsne|pca|mda",


def embedding_params(wildcards):
    """The method's global settings with this layer's overrides on top: changing one layer's
    override changes only that layer's job parameters, so only it reruns."""
    emb = config["embeddings"]
    override = emb["per_layer"].get(wildcards.layer, {}).get(wildcards.method, {})
    return {"method": wildcards.method, "params": {**emb[wildcards.method], **override},
            "seed": config["seed"]}


def layer_embeddings(wildcards):
    return expand(f"{RESULTS}/embeddings/{wildcards.layer}/{{method}}.csv",
                  method=config["embeddings"]["methods"])


def mem_mb_embed(wildcards, attempt):
    """Reduced features (n x k) and the kNN graph: small; t-SNE/UMAP working memory dominates."""
    return int(1500 + n_selected() * 0.2) * attempt


def runtime_embed(wildcards, attempt):
    return int(5 + n_selected() / 200) * attempt


def runtime_simulate(wildcards, attempt):
    """Minutes: the simulator writes ~300 events/s on one core."""
    return int(5 + events_in_chunk(wildcards) / 300 / 60 * 3) * attempt


def runtime_ingest(wildcards, attempt):
    """Minutes: ingestion streams ~300 events/s per core."""
    return int(10 + n_images() / 300 / 60 * 3) * attempt
