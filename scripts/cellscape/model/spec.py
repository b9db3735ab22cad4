"""The network the workflow explores, planned without torch.

The Snakefile needs every layer's name and tensor shape before any job runs (they drive the
``{layer}`` wildcard, the one-pass dumps and the cost model) and must not import torch. For the
paper's network (``model.source: train``) they follow from the config (``architecture``). A
network trained elsewhere is opened once, in a subprocess (``python -m cellscape.model.inspect``),
which checks its input contract and lists its layers; the answer is cached under
``.snakemake/cellscape/inspect/`` by a hash of the model settings, the file's size and time and
the image contract, so a later planning reads a small JSON file.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..data.channels import channel_names, resolve_channels
from ..runtime.params import canonical
from .architecture import ArchitectureError, LayerShape, layer_shapes, parameter_count

EXTERNAL = ("exported", "torchscript", "torchvision", "module")
#: the paper network's settings (model.*): what its rules' ``network`` param holds
PROJECT_KEYS = ("conv_stages", "dense", "dropout", "dense_dropout")
INSPECT_CACHE = Path(".snakemake") / "cellscape" / "inspect"
SCRIPTS = Path(__file__).resolve().parents[2]


def alias(path):
    """A module path as a wildcard-safe layer name: every non-alphanumeric becomes ``_``
    (``layer1.1.relu`` -> ``layer1_1_relu``)."""
    return re.sub(r"[^A-Za-z0-9]", "_", path)


def aliases(paths):
    """{alias: module path} of ``paths``, in order; two paths with one alias are an error."""
    named = {}
    for path in paths:
        name = alias(path)
        if name in named and named[name] != path:
            raise ArchitectureError(f"config model.layers: {named[name]} and {path} both become the layer "
                                    f"name {name}; explore one of them")
        named[name] = path
    return named


@dataclass
class ModelSpec:
    """What planning knows of the classifier: its layers (``shapes``, named by alias), each
    layer's module path, its kind (conv: 4-D output, dense: 2-D), the forward FLOPs up to it
    (external networks; None: the cost model computes the paper network's), its parameter
    count and the rules' ``network`` param."""

    source: str
    shapes: list
    paths: dict
    n_parameters: int
    network: dict
    flops: dict = field(default=None)

    @property
    def kinds(self):
        return {s.name: s.kind for s in self.shapes}

    @property
    def external(self):
        return self.source != "train"


def project_network(config, n_outputs, channels=None):
    """The rules' ``network`` param for the paper's network. ``channels``: the image set's,
    resolved (None: resolved here from the config)."""
    channels = resolve_channels(config["data"]) if channels is None else channels
    model = {key: config["model"][key] for key in PROJECT_KEYS}
    return canonical({"model": model, "image_size": config["image_size"], "n_outputs": n_outputs,
                      "in_channels": len(channels)})


def model_spec(config, cache=INSPECT_CACHE, channels=None):
    """The classifier of ``config`` (validated): a :class:`ModelSpec`; ArchitectureError with
    the setting, the file and both sides of a mismatch when the model does not fit the data.
    ``channels``: the image set's, resolved (None: resolved here from the config)."""
    channels = resolve_channels(config["data"]) if channels is None else channels
    n_classes = len(config["classes"])
    source = config["model"]["source"]
    if source == "train":
        shapes = layer_shapes(config["model"], config["image_size"], n_classes)
        return ModelSpec("train", shapes, {s.name: s.name for s in shapes},
                         parameter_count(config["model"], config["image_size"], n_classes, len(channels)),
                         project_network(config, n_classes, channels))
    request = inspect_request(config, channels)
    answer = inspect_cached(request, cache)
    named = aliases(answer["layers"])
    by_path = {c["path"]: c for c in answer["candidates"]}
    shapes, calls, flops = [], {}, {}
    for name, path in named.items():
        c = by_path[path]
        shape = c["shape"] + [1] * (3 - len(c["shape"]))
        shapes.append(LayerShape(name, "conv" if len(c["shape"]) == 3 else "dense", *shape))
        calls[name], flops[name] = c["calls"], c["flops"]
    network = canonical({"source": source, "architecture": request["architecture"],
                         "arguments": request["arguments"], "channels": request["channels"],
                         "image_channels": len(channels),
                         "mean": request["mean"], "std": request["std"], "calls": calls,
                         "layers": [[name, path] for name, path in named.items()],  # a list: forward order survives
                         "image_size": config["image_size"], "n_outputs": n_classes})
    return ModelSpec(source, shapes, named, answer["n_parameters"], network, flops)


def inspect_request(config, image_channels=None):
    """What the inspection subprocess needs, checked as far as the config alone allows.
    ``image_channels``: the image set's, resolved (None: resolved here from the config)."""
    image_channels = resolve_channels(config["data"]) if image_channels is None else image_channels
    model, source = config["model"], config["model"]["source"]
    if not model["file"]:
        raise ArchitectureError(f"config model.file: required with model.source {source} (the "
                                + ("state dict" if source in ("torchvision", "module") else f"{source} file") + ")")
    path = Path(model["file"])
    if not path.is_file():
        raise ArchitectureError(f"config model.file: {path} does not exist (model.source {source})")
    if source in ("torchvision", "module") and not model["architecture"]:
        example = "resnet18" if source == "torchvision" else "mypackage.models:build"
        raise ArchitectureError(f"config model.architecture: required with model.source {source} (e.g. {example})")
    if source == "module" and ":" not in model["architecture"]:
        raise ArchitectureError(f"config model.architecture: {model['architecture']!r} must name "
                                "package.module:function (a function returning the nn.Module)")
    contract = model["input"]
    names = channel_names(image_channels)
    wanted = contract["channels"] or names
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise ArchitectureError(f"config model.input.channels: {', '.join(unknown)} not among the image set's "
                                f"channels ({', '.join(names)}; data.channels)")
    channels = [names.index(name) for name in wanted]
    size = contract["size"] or config["image_size"]
    if size != config["image_size"]:
        raise ArchitectureError(f"config model.input.size: the model expects {size}x{size} px images and the "
                                f"image set has {config['image_size']}x{config['image_size']} (image_size): set "
                                f"image_size: {size}, and ingestion brings every cell to it")
    for key in ("mean", "std"):
        if contract[key] is not None and len(contract[key]) != len(channels):
            raise ArchitectureError(f"config model.input.{key}: {len(contract[key])} values for "
                                    f"{len(channels)} input channels ({', '.join(wanted)})")
    return canonical({"source": source, "file": str(path.resolve()), "architecture": model["architecture"],
                      "arguments": model["arguments"], "layers": model["layers"], "channels": channels,
                      "channel_names": wanted, "mean": contract["mean"], "std": contract["std"],
                      "image_size": config["image_size"], "n_classes": len(config["classes"])})


def inspect_cached(request, cache=INSPECT_CACHE):
    """The inspection's answer for ``request``, from the cache or a subprocess."""
    stat = Path(request["file"]).stat()
    key = hashlib.sha256(json.dumps([request, stat.st_size, stat.st_mtime_ns], sort_keys=True).encode()).hexdigest()
    path = Path(cache) / f"{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SCRIPTS), os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-m", "cellscape.model.inspect"], input=json.dumps(request),
                         capture_output=True, text=True, env=env)
    if run.returncode != 0:
        said = [line for line in run.stderr.splitlines() if line.startswith("cellscape: ")]
        raise ArchitectureError(said[-1][len("cellscape: "):] if said else
                                f"inspecting {request['file']} failed:\n{run.stderr[-2000:]}")
    answer = json.loads(run.stdout)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(answer, indent=1))
    tmp.replace(path)
    return answer
