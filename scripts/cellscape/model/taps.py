"""Layer outputs of a TorchScript network, whose modules refuse forward hooks (torch 2.14).

The scripted forward graph, inlined, knows for every node the module it was computed in
(``getModuleHierarchy``); a copy of the graph that also returns the last tensor computed inside
each wanted module is compiled into a function of (module, images). Autograd runs through it,
so feature images and attribution work as with hooks; it cannot stop after the deepest layer.
"""
import torch


class TapError(ValueError):
    """A module path that computes nothing in the graph."""


def submodule(module, path):
    """The submodule at ``path`` (get_submodule, which TorchScript modules refuse)."""
    for part in filter(None, path.split(".")):
        module = getattr(module, part)
    return module


def module_path(node):
    """The module path of a TorchScript graph node (``layer1.1.relu``; '' at the top)."""
    parts = [part.split("(")[0] for part in node.getModuleHierarchy().split(".")[1:]]
    return ".".join(part for part in parts if part not in ("SELF", "UNKNOWN_INSTANCE"))


def _is_tensor(value):
    return isinstance(value.type(), torch._C.TensorType)


def torchscript_regions(scripted):
    """{module path: the last tensor-producing node computed inside it} of a TorchScript
    module's inlined forward graph (in-place ops made functional, so a tapped value is never
    overwritten), in graph order; and the graph. A module called twice: its last call."""
    graph = scripted.inlined_graph.copy()
    torch._C._jit_pass_remove_mutation(graph)
    last = {}
    for node in graph.nodes():
        if node.kind() in ("prim::Constant", "prim::GetAttr") or node.outputsSize() != 1 or not _is_tensor(node.output()):
            continue
        path = module_path(node)
        while path:
            last.pop(path, None)
            last[path] = node
            path = path.rpartition(".")[0]
    return last, graph


def torchscript_taps(scripted, paths):
    """A function ``f(scripted._c, x) -> (output, *outputs of paths)`` for a TorchScript module,
    whose submodules refuse forward hooks: its forward graph also returns each module's output
    (``torchscript_regions``)."""
    last, graph = torchscript_regions(scripted)
    missing = [path for path in paths if path not in last]
    if missing:
        raise TapError(f"config model.layers: {', '.join(missing)} compute nothing in the TorchScript graph "
                         f"(modules that do: {', '.join(list(last)[:30])})")
    for path in paths:
        graph.registerOutput(last[path].output())
    graph.makeMultiOutputIntoTuple()
    return torch._C._create_function_from_graph("cellscape_taps", graph)
