"""Source ``exported``: a torch.export program (``.pt2``), opened as its module hierarchy."""
import torch

from ..architecture import ModelError


def exported_model(path):
    """The module hierarchy of a torch.export program (``torch.export.unflatten``), whose
    submodules keep their paths and take forward hooks; its batch dimension must be dynamic."""
    try:
        program = torch.export.load(path)
    except Exception as err:
        raise ModelError(f"{path}: not a torch.export program torch.export.load can read ({err})")
    inputs = [node for node in program.graph.nodes
              if node.op == "placeholder" and node.name in program.graph_signature.user_inputs]
    if len(inputs) != 1:
        raise ModelError(f"{path}: the exported program takes {len(inputs)} inputs; the workflow feeds one image batch")
    shape = inputs[0].meta["val"].shape
    if isinstance(shape[0], int):
        raise ModelError(f"{path}: exported with a static batch dimension ({shape[0]}); the workflow runs "
                         "batches of any size: export with dynamic_shapes={'x': {0: torch.export.Dim('batch')}}")
    return torch.export.unflatten(program)
