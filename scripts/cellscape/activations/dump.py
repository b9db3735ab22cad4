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

from ..model.hooks import layer_batches
from ..runtime.io import NpyRowWriter
from ..runtime.malloc import return_large_frees_to_the_system
from .reduce import OnlineReduction, reduce_streamed


def _stored(batch, dtype):
    """float32 -> the dump's dtype; float16 through torch, faster than numpy's astype (docs/performance.md)."""
    if dtype == np.float16:
        return torch.from_numpy(batch).to(torch.float16).numpy()
    return batch.astype(dtype, copy=False)


def dump_layer(model, images, rows, layer, out_path, dtype="float16", batch_size=64, device="cpu",
               consumers=()):
    """Write ``layer``'s features of ``images[rows]`` to ``out_path`` (n, D); return D.

    Each float32 batch is also passed to every ``consumer(batch)`` (streaming reductions).
    """
    return_large_frees_to_the_system()
    writer, dtype = None, np.dtype(dtype)
    bar = tqdm(total=len(rows), desc=f"dump {layer}", unit="img", file=sys.stderr, mininterval=5)
    try:
        for outputs in layer_batches(model, images, [layer], rows, batch_size, device, reduce="flatten"):
            batch = outputs[layer]
            if writer is None:
                writer = NpyRowWriter(out_path, (batch.shape[1],), dtype)
            writer.append(_stored(batch, dtype))
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


def dump_and_reduce(model, images, rows, layer, out_path, reduction="rpca", k=50, seed=0, dtype="float16",
                    batch_size=64, device="cpu"):
    """Dump ``layer`` to ``out_path`` and return its (n, k) float32 reduction.

    Single-pass reductions (``projection_pca``, ``sketch``, ``random_projection``, ``none``) run
    on each batch while it is in memory, so the dump is written once and never read back;
    ``rpca`` reads the finished dump in row blocks (3 + 2 * n_iter passes, more accurate on
    slowly decaying spectra).
    """
    if OnlineReduction.supports(reduction):
        online = OnlineReduction(reduction, k, seed)
        dump_layer(model, images, rows, layer, out_path, dtype, batch_size, device, consumers=(online,))
        return online.result()
    dump_layer(model, images, rows, layer, out_path, dtype, batch_size, device)
    return reduce_streamed(out_path, reduction, k, seed)
