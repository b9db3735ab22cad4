"""Dump one layer's flattened post-activation tensor for many images, batch by batch.

conv1 alone is 78*78*32 = 194,688 values per image: a layer is never held in memory; each
batch is appended to a memory-mappable ``.npy`` (float16 by default) and, optionally, handed to
a streaming consumer (e.g. a reduction sketch) while it is at hand. The forward pass stops at
the requested layer, so dumping conv1 does not pay for the rest of the network.
"""
import sys

import numpy as np
import torch
from tqdm import tqdm

from .io import NpyRowWriter


class _StopForward(Exception):
    """Raised by the hook once the wanted layer's output is captured."""


@torch.no_grad()
def layer_batches(model, images, rows, layer, batch_size=64, device="cpu"):
    """Yield (n_batch, D) float32 numpy arrays of ``layer``'s flattened output for ``rows``."""
    model.eval()
    captured = {}

    def hook(_module, _inputs, output):
        # clone: a later in-place op must not change what was captured
        captured["out"] = output.detach().flatten(1).clone()
        raise _StopForward

    handle = model.layer(layer).register_forward_hook(hook)
    try:
        for start in range(0, len(rows), batch_size):
            idx = np.asarray(rows[start:start + batch_size])
            xb = torch.from_numpy(np.asarray(images[np.sort(idx)], dtype=np.float32))
            order = np.argsort(np.argsort(idx))  # memmap fancy indexing wants sorted rows
            try:
                model(xb.to(device))
            except _StopForward:
                pass
            yield captured.pop("out")[torch.from_numpy(order)].float().cpu().numpy()
    finally:
        handle.remove()


def dump_layer(model, images, rows, layer, out_path, dtype="float16", batch_size=64, device="cpu",
               consumers=()):
    """Write ``layer``'s features of ``images[rows]`` to ``out_path`` (n, D); return D.

    Each float32 batch is also passed to every ``consumer(batch)`` (streaming reductions).
    """
    writer = None
    bar = tqdm(total=len(rows), desc=f"dump {layer}", unit="img", file=sys.stderr, mininterval=5)
    try:
        for batch in layer_batches(model, images, rows, layer, batch_size, device):
            if writer is None:
                writer = NpyRowWriter(out_path, (batch.shape[1],), dtype)
            writer.append(batch)
            for consume in consumers:
                consume(batch)
            bar.update(len(batch))
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()
    writer.close()
    return writer.row_shape[0]
