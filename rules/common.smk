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
from cellscape.model.architecture import ArchitectureError, layer_shapes, resolve_layer  # torch-free
from cellscape.model.spec import PROJECT_KEYS, model_spec, project_network  # torch-free (inspects in a subprocess)
from cellscape.runtime.resources import GB, CostModel, disk_summary
from cellscape.runtime.rulerun import RUN_CORES_VARIABLE
from cellscape.data.simulate import DEFAULTS as SIMULATOR_DEFAULTS, check_channels, resolve_params
from cellscape.data.channels import (ChannelError, channel_roles, resolve_mda_target, display, label_free_channels, label_free_plan,
                                     missing_channel, resolve_channels)
from cellscape.data.settings import data_settings


validate(config, schema="../schemas/config.schema.yaml", set_default=True)
try:
    #: the image set's channels in order ({name, file, stack, band, kind, colour, threshold}): a rule param
    CHANNELS = resolve_channels(config["data"])
except ChannelError as err:
    raise WorkflowError(str(err))
#: what figures and the explorer show of each channel (name, kind, colour)
CHANNEL_DISPLAY = display(CHANNELS)


def resolve_image_size(config):
    """``image_size: auto`` -> (size, the sentence saying so): the simulator's frame, or the
    frames of a directory source (cellscape.data.readers.auto_image_size: their longer side's
    99th percentile, from the files' headers)."""
    if config["data"]["source"] == "synthetic":
        size = config["simulator"].get("frame_size", SIMULATOR_DEFAULTS["frame_size"])
        return size, f"cellscape: image_size auto: {size} px, the simulator's frame"
    from cellscape.data.readers import InputError, auto_image_size, discover_events
    data = config["data"]
    try:
        events = discover_events(data["directory"], config["classes"], resolve_channels(data), data["labels"])
        found = auto_image_size(events, data["fit"], data["rgb"]["crop"])
    except (InputError, ChannelError, TypeError) as err:
        raise WorkflowError(f"config image_size auto: cannot read the frames of data.directory ({err}); "
                            "set image_size to a number")
    if found is None:
        raise WorkflowError("config image_size auto: no frame of data.directory declares its shape; "
                            "set image_size to a number")
    size, facts = found
    fate = "larger frames are centre-cropped" if data["fit"] == "pad_crop" else "every frame is resized to it"
    return size, (f"cellscape: image_size auto: {size} px, the longer side of {facts['quantile']:.0%} of "
                  f"{facts['frames']} frames (largest {facts['largest']} px; {fate})")


if config["image_size"] == "auto":  # a planning fact (the network's shape): decided here, from file headers
    config["image_size"], IMAGE_SIZE_NOTE = resolve_image_size(config)
    if workflow.is_main_process:
        print(IMAGE_SIZE_NOTE, file=sys.stderr)


def canonical(settings):
    """``settings`` with every mapping's keys sorted: Snakemake compares params by their text,
    so the order in which config files and defaults filled a dict must not look like a change."""
    return json.loads(json.dumps(settings, sort_keys=True))


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

# ---- where each stage writes (docs/formats.md describes every file)
RESULTS = config["results"]
DATA = f"{RESULTS}/data"
MODEL = f"{RESULTS}/model"
ACT = f"{RESULTS}/activations"
EMB = f"{RESULTS}/embeddings"
METRICS = f"{RESULTS}/metrics"
FV = f"{RESULTS}/featvis"
ATTR = f"{RESULTS}/attribution"
MDA_DIR = f"{RESULTS}/mda"
EXPLORER_DIR = f"{RESULTS}/explorer"
FIGURES = f"{RESULTS}/figures"
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"

# ---- the network: its layers drive every {layer} wildcard
#: the paper's network trained here, or one trained elsewhere (model.source), explored as it is
MODEL_SOURCE = config["model"]["source"]
EXTERNAL_MODEL = MODEL_SOURCE != "train"
#: data.split none: the network was trained on other data, so every cell is new to it
EVALUATE_ALL = config["data"]["split"] == "none"
if EVALUATE_ALL and not EXTERNAL_MODEL:
    raise WorkflowError("config data.split: none needs a network trained elsewhere (model.source); "
                        "the workflow's own training needs a split")
try:
    SPEC = model_spec(config)
except ArchitectureError as err:
    raise WorkflowError(f"config model: {err}" if not EXTERNAL_MODEL else f"cellscape: {err}")
SHAPES = SPEC.shapes
LAYERS = [s.name for s in SHAPES]
CONV_LAYERS = [s.name for s in SHAPES if s.kind == "conv"]
LAYER_SHAPE = {s.name: s for s in SHAPES}
#: layer name (alias) -> module path, and kinds, of a network from elsewhere (None: the paper's names say both)
LAYER_PATHS = SPEC.paths if EXTERNAL_MODEL else None
LAYER_KINDS = SPEC.kinds if EXTERNAL_MODEL else None
#: what a rule script needs to load the classifier from its weights (a rule param)
NETWORK = SPEC.network
#: the project's own network (the MDA stage's regression network is always one: it trains on a target)
PROJECT_SHAPES = SHAPES if not EXTERNAL_MODEL else layer_shapes(config["model"], config["image_size"], 1)
PROJECT_LAYERS = [s.name for s in PROJECT_SHAPES]
PROJECT_NETWORK = project_network(config, len(config["classes"]))
RES = CostModel(config, SHAPES, SPEC.n_parameters if EXTERNAL_MODEL else None)  # mem_mb and runtime of every rule
RES_PROJECT = RES if not EXTERNAL_MODEL else CostModel(config, PROJECT_SHAPES)
#: configured layers the network lacks, replaced by resolve_layer (printed once at planning)
LAYER_NOTES = []


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
    """A layer named in the config, by the one policy (cellscape.model.architecture.resolve_layer):
    of the classifier, or of ``layers`` of the project's own network (the MDA regression net)."""
    try:
        if layers is None:
            return resolve_layer(requested, LAYERS, key, LAYER_NOTES, LAYER_KINDS, LAYER_PATHS)
        return resolve_layer(requested, layers, key, LAYER_NOTES)
    except ArchitectureError as err:
        raise WorkflowError(str(err))


if config["data"]["source"] == "synthetic":
    try:
        SIMULATOR = resolve_params({k: v for k, v in config["simulator"].items()
                                    if k not in ("events", "chunks")}
                                   | {"frame_size": config["simulator"].get("frame_size", config["image_size"])})
    except ValueError as err:
        raise WorkflowError(f"config simulator: {err}")
    #: the simulator's params (simulate_chunk): the resolved parameters but those off at a null
    #: default (an optional simulator feature that is off is no setting of the run)
    SIMULATOR_PARAMS = canonical({k: v for k, v in SIMULATOR.items() if v is not None})
    if set(config["classes"]) - set(SIMULATOR["class_fractions"]):
        raise WorkflowError(f"config classes {config['classes']}: the simulator makes only "
                            f"{sorted(SIMULATOR['class_fractions'])}")
    try:
        check_channels([c["file"] or f"(channel {c['name']} has no file suffix)" for c in CHANNELS])
    except ValueError as err:
        raise WorkflowError(f"config data.channels (simulated data): {err}")
    CHUNKS = [f"{k:03d}" for k in range(config["simulator"]["chunks"])]
elif config["data"]["source"] == "cif":
    from cellscape.data.cif.source import check_config as check_cif_config
    from cellscape.data.readers import InputError
    try:
        check_cif_config({**config["data"], "channels": CHANNELS}, config["classes"])
    except InputError as err:
        raise WorkflowError(str(err))
elif not config["data"]["directory"]:
    raise WorkflowError("config data.directory: required when data.source is 'directory'")

wildcard_constraints:
    layer="|".join(dict.fromkeys(LAYERS + PROJECT_LAYERS)),
    chunk=r"\d+",
    method="umap|tsne|pca|mda",


def events_in_chunk(wildcards):
    """Events of one simulator chunk; the first chunks take the remainder."""
    n, k = config["simulator"]["events"], config["simulator"]["chunks"]
    return n // k + (1 if int(wildcards.chunk) < n % k else 0)


def raw_inputs(wildcards):
    if config["data"]["source"] == "synthetic":
        return expand(f"{RESULTS}/raw/{{chunk}}", chunk=CHUNKS)
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
    return [f"{FIGURES}/fig{number:02d}_{slug}.png", f"{FIGURES}/fig{number:02d}_{slug}.pdf"]


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
    import shutil
    return shutil.which("nvidia-smi") is not None


def gpu_count(wildcards):
    return 1 if uses_cuda() else 0


EXPLORER_METHODS = [m for m in config["embeddings"]["methods"] if m in ("umap", "tsne")]


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
