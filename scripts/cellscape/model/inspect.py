"""Open a network trained elsewhere once, at planning: check its input contract, list its layers.

``python -m cellscape.model.inspect`` reads the request of ``model.spec.inspect_request`` on
stdin and writes JSON on stdout: every module whose output is a 4-D (N, C, H, W) or 2-D (N, C)
tensor (``candidates``: path, shape without the batch, calls per forward pass, forward FLOPs up
to it), the chosen ``layers`` and the parameter count. A model that does not fit the data
exits with status 2 and one ``cellscape: ...`` line naming both sides of the mismatch.

``auto`` layers: the output of each spatial stage (the last module output before the feature
map's size changes, named by the outermost module that returns it: ``layer1`` rather than
``layer1.1.relu``; global pools to 1x1 are not a stage) and of each linear layer. Module calls
are read with forward hooks (torch modules, torch.export's unflattened hierarchy) or, for
TorchScript, whose modules refuse hooks, from its forward graph's module hierarchy.
"""
import json
import sys

import torch

from .architecture import ModelError
from .sources import open_network
from .taps import submodule, torchscript_regions, torchscript_taps


def _shape(tensor):
    return list(tensor.shape[1:]) if isinstance(tensor, torch.Tensor) else None


def _module_events(inner, x):
    """(output, events): every module call of one forward pass, in completion order, each
    {path, shape, ptr, leaf} (ptr: the output's storage, to find modules returning one tensor)."""
    leaves = {path for path, module in inner.named_modules() if path and not any(True for _ in module.children())}
    if isinstance(inner, torch.jit.ScriptModule):
        last, _ = torchscript_regions(inner)
        paths = list(last)
        outputs = torchscript_taps(inner, tuple(paths))(inner._c, x)
        events = [{"path": path, "tensor": tensor} for path, tensor in zip(paths, outputs[1:])]
        output = outputs[0]
    else:
        events = []

        def record(path):
            def hook(module, inputs, out):
                events.append({"path": path, "tensor": out})
            return hook

        handles = [module.register_forward_hook(record(path)) for path, module in inner.named_modules() if path]
        try:
            output = inner(x)
        finally:
            for handle in handles:
                handle.remove()
    for event in events:
        tensor = event.pop("tensor")
        event["shape"] = _shape(tensor)
        event["ptr"] = tensor.data_ptr() if isinstance(tensor, torch.Tensor) else None
        event["leaf"] = event["path"] in leaves
    return output, events


def _weights(inner, path):
    """The module's own weight tensors (its conv and linear kernels)."""
    module = submodule(inner, path)
    return [p for _, p in module.named_parameters(recurse=False) if p.dim() >= 2]


def summarise(inner, events):
    """{path: {shape, calls, flops, last}} of every module with a 4-D or 2-D output; flops:
    the forward pass's multiply-adds x 2 up to the module's last call (kernels x output size)."""
    modules, flops = {}, 0
    for k, event in enumerate(events):
        if event["leaf"] and event["shape"] is not None:
            spatial = event["shape"][1] * event["shape"][2] if len(event["shape"]) == 3 else 1
            flops += sum(2 * w.numel() * spatial for w in _weights(inner, event["path"]))
        if event["shape"] is None or len(event["shape"]) not in (1, 3):
            continue
        entry = modules.setdefault(event["path"], {"calls": 0})
        entry.update(shape=event["shape"], flops=int(flops), last=k, ptr=event["ptr"])
        entry["calls"] += 1
    return modules


def auto_layers(inner, events, modules):
    """The output of each spatial stage and of each linear layer, in forward order."""
    chosen, run = [], None

    def outermost(k):
        event = events[k]
        parts = event["path"].split(".")
        for depth in range(1, len(parts) + 1):
            path = ".".join(parts[:depth])
            entry = modules.get(path)
            if entry and entry["ptr"] == event["ptr"] and entry["shape"] == event["shape"] and entry["last"] >= k:
                return path
        return None

    def close(k):
        if k is not None and events[k]["shape"][1] * events[k]["shape"][2] > 1:
            path = outermost(k)
            if path and path not in chosen:
                chosen.append(path)

    for k, event in enumerate(events):
        shape = event["shape"]
        if not event["leaf"] or shape is None:
            continue
        if len(shape) == 3:
            if run is not None and events[run]["shape"][1:] != shape[1:]:
                close(run)
            run = k
        else:
            close(run)
            run = None
            if len(shape) == 1 and any(w.dim() == 2 for w in _weights(inner, event["path"])):
                path = outermost(k)
                if path and path not in chosen:
                    chosen.append(path)
    close(run)
    return chosen


def expected_channels(inner, source):
    """(input channels the model takes, where that is read) or (None, None)."""
    for name, param in inner.named_parameters():
        if param.dim() == 4:
            return int(param.shape[1]), f"its first convolution, {name}, takes"
    return None, None


def inspect_model(request):
    """The answer for one request (see the module docstring); ModelError on a mismatch."""
    path, n, size = request["file"], len(request["channels"]), request["image_size"]
    names = ", ".join(request["channel_names"])
    inner = open_network(request["source"], path, request["architecture"], request["arguments"], n)
    expected, where = expected_channels(inner, request["source"])
    if expected is not None and expected != n:
        raise ModelError(f"{path}: the model takes {expected} input channels ({where} {expected}) and the image set "
                         f"gives {n} (model.input.channels: {names}): list {expected} channels there (they may "
                         "repeat) or give a model whose first convolution takes " + str(n))
    x = torch.zeros(2, n, size, size)
    try:
        with torch.no_grad():
            output, events = _module_events(inner, x)
    except ModelError:
        raise
    except Exception as err:
        message = " ".join(str(err).split())[:800]
        raise ModelError(f"{path}: the model fails on a batch of {n}-channel {size}x{size} px images (image_size "
                         f"{size}, model.input.channels: {names}): {message}")
    if not isinstance(output, torch.Tensor) or output.dim() != 2:
        raise ModelError(f"{path}: the model returns {_shape(output) if isinstance(output, torch.Tensor) else type(output).__name__}"
                         " per image; the workflow needs class scores (logits), one per class")
    if output.shape[1] != request["n_classes"]:
        raise ModelError(f"{path}: the model has {output.shape[1]} outputs and the config {request['n_classes']} "
                         f"classes (classes): they must match, in the order the model was trained with")
    modules = summarise(inner, events)
    if request["layers"] == "auto":
        layers = auto_layers(inner, events, modules)
        if not layers:
            raise ModelError(f"{path}: no spatial stage or linear layer found; name the layers in model.layers")
    else:
        layers = list(dict.fromkeys(request["layers"]))
        for layer in layers:
            if layer not in modules:
                known = [p for p, m in inner.named_modules() if p]
                what = ("computes no 4-D (N, C, H, W) or 2-D (N, C) output" if layer in known
                        else "is not a module of the model")
                raise ModelError(f"config model.layers: {layer} {what} (modules: {', '.join(known[:40])}"
                                 + ("..." if len(known) > 40 else "") + ")")
    candidates = [{"path": p, "shape": m["shape"], "calls": m["calls"], "flops": m["flops"]} for p, m in modules.items()]
    return {"candidates": candidates, "layers": layers,
            "n_parameters": int(sum(p.numel() for p in inner.parameters())), "n_outputs": int(output.shape[1])}


def main():
    request = json.load(sys.stdin)
    try:
        answer = inspect_model(request)
    except ModelError as err:
        print(f"cellscape: {err}", file=sys.stderr)
        sys.exit(2)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
