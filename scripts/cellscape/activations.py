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

from .featvis.render import capture_activations, frozen_eval
from .io import NpyRowWriter


@torch.no_grad()
def layer_batches(model, images, rows, layer, batch_size=64, device="cpu"):
    """Yield (n_batch, D) float32 numpy arrays of ``layer``'s flattened output for ``rows``."""
    with frozen_eval(model), capture_activations(model, [layer], truncate=True) as run:
        for start in range(0, len(rows), batch_size):
            idx = np.asarray(rows[start:start + batch_size])
            xb = torch.from_numpy(np.asarray(images[np.sort(idx)], dtype=np.float32))
            order = torch.from_numpy(np.argsort(np.argsort(idx)))  # memmap fancy indexing wants sorted rows
            yield run(xb.to(device))[layer].flatten(1)[order].cpu().numpy()


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
