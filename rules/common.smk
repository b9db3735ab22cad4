# Config validation, the layer list, every stage's output paths, the cost model and the small
# input functions shared by every stage. Rule scripts get every setting they use through
# `params:` (never snakemake.config), so a changed setting reruns exactly the jobs it affects.
import json
import os
import shutil
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from cellscape.plan.build import build  # torch-free (a network from elsewhere is inspected in a subprocess)
from cellscape.plan.errors import PlanError
from cellscape.plan.costs import GB, disk_summary
from cellscape.runtime.params import canonical
from cellscape.runtime.rulerun import RUN_CORES_VARIABLE
from cellscape.data.channels import label_free_channels
from cellscape.data.settings import data_settings


validate(config, schema="../schemas/config.schema.yaml", set_default=True)
try:
    PLAN = build(config)  # image_size auto is decided here and written into config
except PlanError as err:
    raise WorkflowError(str(err))
if workflow.is_main_process and PLAN.image_size_note:
    print(PLAN.image_size_note, file=sys.stderr)
#: the image set's channels in order ({name, file, stack, band, kind, colour, threshold}): a rule param
CHANNELS = PLAN.channels
#: what figures and the explorer show of each channel (name, kind, colour)
CHANNEL_DISPLAY = PLAN.channel_display


# Local runs: rule scripts scale their threads to the CPUs there are when --cores promises more
# (cellscape.runtime.rulerun.thread_count). Cluster jobs get the CPUs they ask for and are left alone.
RUN_CORES = None
if workflow.is_main_process and workflow.local_exec:
    try:
        RUN_CORES = int(workflow.cores)
        os.environ[RUN_CORES_VARIABLE] = str(RUN_CORES)
    except WorkflowError:  # no --cores (e.g. --lint): no jobs run
        pass
#: --cores per real CPU on a local run that promises more cores than the machine has CPUs
CORES_PER_CPU = max(1, RUN_CORES // len(os.sched_getaffinity(0))) if RUN_CORES else 1


def cpus(n):
    """A rule's ``threads:`` for a job that uses ``n`` CPUs. ``--cores 8`` on 2 CPUs would
    otherwise run eight one-thread jobs at once, four to a CPU: every job, the critical path's
    too, at a quarter of its speed, and a job asking for 4 cores waits until 4 are free at once
    among them. Counted in the run's cores per real CPU, no more jobs run than there are CPUs,
    and rule priorities decide which (rulerun.thread_count turns the grant back into ``n``
    threads). On a cluster a job gets ``n`` CPUs (the profile's ``set-threads`` may give more).
    """
    return n * CORES_PER_CPU

# ---- where each stage writes (cellscape.plan.paths; docs/formats.md describes every file)
RESULTS = PLAN.paths.results
DATA = PLAN.paths.data
MODEL = PLAN.paths.model
ACT = PLAN.paths.activations
EMB = PLAN.paths.embeddings
METRICS = PLAN.paths.metrics
FV = PLAN.paths.featvis
ATTR = PLAN.paths.attribution
MDA_DIR = PLAN.paths.mda
EXPLORER_DIR = PLAN.paths.explorer
FIGURES = PLAN.paths.figures
LOGS = PLAN.paths.logs
BENCH = PLAN.paths.benchmarks

# ---- the network: its layers drive every {layer} wildcard
#: the paper's network trained here, or one trained elsewhere (model.source), explored as it is
MODEL_SOURCE = config["model"]["source"]
EXTERNAL_MODEL = PLAN.external_model
#: data.split none: the network was trained on other data, so every cell is new to it
EVALUATE_ALL = config["data"]["split"] == "none"
SPEC = PLAN.spec
SHAPES = SPEC.shapes
LAYERS = PLAN.layers
CONV_LAYERS = PLAN.conv_layers
LAYER_SHAPE = {s.name: s for s in SHAPES}
#: layer name (alias) -> module path, and kinds, of a network from elsewhere (None: the paper's names say both)
LAYER_PATHS = SPEC.paths if EXTERNAL_MODEL else None
LAYER_KINDS = SPEC.kinds if EXTERNAL_MODEL else None
#: what a rule script needs to load the classifier from its weights (a rule param)
NETWORK = SPEC.network
#: the project's own network (the MDA stage's regression network is always one: it trains on a target)
PROJECT_SHAPES = PLAN.project_shapes
PROJECT_LAYERS = PLAN.project_layers
PROJECT_NETWORK = PLAN.project_network
RES = PLAN.costs  # mem_mb and runtime of every rule
RES_PROJECT = PLAN.project_costs
#: configured layers the network lacks, replaced by the layer policy (printed once at planning)
LAYER_NOTES = PLAN.notes


def bytes_under(path):
    """Bytes of the files under ``path`` (0 when it does not exist)."""
    return sum(entry.stat().st_size for entry in Path(path).rglob("*") if entry.is_file())


def check_footprint():
    """At planning: say what the run writes; stop before any job when the disk cannot hold it,
    or when a job would ask for more memory than a local machine has (not after hours)."""
    parts = RES.disk_bytes()
    existing = Path(RESULTS).resolve()
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    print(disk_summary(parts, free), file=sys.stderr)
    # a rerun rewrites what is there: walk the results only when the free space alone is short
    if sum(parts.values()) > free and sum(parts.values()) > free + bytes_under(RESULTS):
        raise WorkflowError(f"{RESULTS}: this run writes about {sum(parts.values()) / GB:.1f} GB and only "
                            f"{free / GB:.1f} GB are free: lower activations.max_cells (now "
                            f"{config['activations']['max_cells']}), or use activations.dtype float16, or "
                            "point results at a larger disk")
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 20
    if workflow.local_exec and RES.largest_request_mb() > memory_mb:
        raise WorkflowError(f"a job of this run needs about {RES.largest_request_mb() / 1024:.1f} GB of memory "
                            f"and this machine has {memory_mb / 1024:.1f} GB: lower activations.max_cells "
                            f"(now {config['activations']['max_cells']}) or run on a cluster (profiles/slurm)")


if workflow.is_main_process:
    check_footprint()


def normalisation_warnings():
    """What ingestion found the normalisation removed that separates the classes (normalisation.json)."""
    path = Path(DATA) / "normalisation.json"
    return json.loads(path.read_text()).get("warnings", []) if path.exists() else []


def qc_warnings():
    """What ingestion's quality control found worth a word (qc_summary.json): checks that removed
    much of a class or classes at different rates, duplicate images, objects without a class."""
    path = Path(DATA) / "qc_summary.json"
    return json.loads(path.read_text()).get("warnings", []) if path.exists() else []


def configured_layer(requested, key, layers=None):
    """A layer named in the config, by the one policy (cellscape.plan.build.Plan.layer): of the
    classifier, or of ``layers`` of the project's own network (the MDA regression net)."""
    try:
        return PLAN.layer(requested, key, layers)
    except PlanError as err:
        raise WorkflowError(str(err))


#: the simulator's resolved parameters and chunks (cellscape.plan.source; None, []: real data)
SIMULATOR = PLAN.source.simulator
CHUNKS = PLAN.source.chunks
#: the simulator's params (simulate_chunk): the resolved parameters but those off at a null default
#: (an optional simulator feature that is off is no setting of the run)
SIMULATOR_PARAMS = canonical({k: v for k, v in SIMULATOR.items() if v is not None}) if SIMULATOR else {}

wildcard_constraints:
    layer="|".join(dict.fromkeys(LAYERS + PROJECT_LAYERS)),
    chunk=r"\d+",
    method="umap|tsne|pca|mda",


def events_in_chunk(wildcards):
    """Events of one simulator chunk (the cost model's count: the first chunks take the remainder)."""
    return RES.driver_value("simulate_chunk", wildcards)


def raw_inputs(wildcards):
    if config["data"]["source"] == "synthetic":
        return expand(f"{PLAN.paths.raw}/{{chunk}}", chunk=CHUNKS)
    if config["data"]["source"] == "cif":  # the files and their label table: a new file reruns ingestion
        from cellscape.data.cif.source import input_files
        return input_files(config["data"], config["classes"])
    return []


def label_table(wildcards):
    """data.labels.table, when the classes come from one: an input, so editing it reruns ingestion."""
    table = config["data"]["labels"]["table"]
    return [table] if config["data"]["source"] == "directory" and table else []


def one_pass_outputs(directory, layers, temporary=False):
    """The outputs of a one-pass dump: ``features_<layer>`` and ``reduced_<layer>`` per layer."""
    wrap = temp if temporary else (lambda path: path)
    outputs = {f"features_{layer}": wrap(f"{directory}/{layer}/features.npy") for layer in layers}
    return outputs | {f"reduced_{layer}": f"{directory}/{layer}/reduced.npy" for layer in layers}


def figure(number, slug):
    return PLAN.paths.figure(number, slug)


def all_targets():
    targets = [f"{DATA}/images.npy", f"{DATA}/index.csv"]
    targets += DATA_TARGETS
    targets += MODEL_TARGETS
    targets += EMBEDDING_TARGETS
    targets += FEATVIS_TARGETS
    targets += ATTRIBUTION_TARGETS
    targets += MDA_TARGETS
    targets += EXPLORER_TARGETS
    targets += EXPORT_TARGETS
    targets += CHANNEL_USE_TARGETS
    targets += PROBE_TARGETS
    targets += SIMILARITY_TARGETS
    targets += CONCEPT_TARGETS
    return targets


def uses_cuda():
    """Whether torch rules will run on a GPU (decided without importing torch: 'auto' asks
    for a GPU only when one is visible to this process). Rule scripts pick their device from
    the job's `gpu` resource (cellscape.runtime.rulerun.job_device)."""
    if config["device"] == "cuda":
        return True
    if config["device"] == "cpu":
        return False
    return shutil.which("nvidia-smi") is not None


def gpu_count(wildcards):
    return 1 if uses_cuda() else 0


def method_settings(layer, method):
    """One method's global settings with ``layer``'s overrides on top."""
    emb = config["embeddings"]
    override = emb["per_layer"].get(layer, {}).get(method, {})
    stage = {"projection": config["mda"]["projection"]} if method == "mda" else {}
    return canonical({"method": method, "params": {**stage, **emb[method], **override}, "seed": config["seed"]})


def embedding_params(methods):
    """``params.settings`` of a job that embeds one layer with each of ``methods`` ({method:
    settings}): changing one layer's override changes only that layer's job, so only it reruns."""
    def settings(wildcards):
        return {method: method_settings(wildcards.layer, method) for method in methods}
    return settings


def method_outputs(pattern, methods, **names):
    """Named outputs ``<name>_<method>`` for each method: ``names`` maps a name to a path
    pattern with ``{method}`` (and ``{{layer}}``), under ``pattern``'s directory."""
    return {f"{name}_{method}": f"{pattern}/{path.format(method=method)}" for method in methods
            for name, path in names.items()}


def layer_embeddings(wildcards):
    return expand(f"{EMB}/{wildcards.layer}/{{method}}.csv", method=config["embeddings"]["methods"])


def replicate_seed(wildcards):
    """The training seed of the classifier's copy ``seed<s>`` (rules/similarity.smk)."""
    return int(wildcards.replicate.removeprefix("seed"))
