"""Dump layers' flattened post-activation tensor for many images, batch by batch.

conv1 alone is 78*78*32 = 194,688 values per image: a layer is never held in memory; each
batch is appended to a memory-mappable ``.npy`` (float16 by default) and, optionally, handed to
a streaming consumer (e.g. a reduction sketch) while it is at hand. The forward pass stops at
the deepest requested layer, so dumping conv1 does not pay for the rest of the network, and
one pass serves every layer requested together.
"""
import sys

import numpy as np
import torch
from tqdm import tqdm

from ..model.hooks import layer_batches
from ..runtime.io import NpyRowWriter
from ..runtime.malloc import return_large_frees_to_the_system
from .reduce import OnlineReduction, reduce_streamed
from ..runtime.io import read_rows


class _Staging:
    """float32 batch -> the dump's dtype. float16 goes through torch (faster than numpy's astype)
    into one buffer reused for every batch and layer (it is written out before the next), so a
    batch's conversion touches no fresh pages: a fresh 25 MB conv1 buffer per batch costs ~6,000
    page faults (docs/performance.md, "Benchmarks")."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.buffer = torch.empty(0, dtype=torch.float16)

    def __call__(self, batch):
        if self.dtype != np.float16:
            return batch.astype(self.dtype, copy=False)
        if self.buffer.numel() < batch.size:
            self.buffer = torch.empty(batch.size, dtype=torch.float16)
        out = self.buffer[:batch.size].view(batch.shape)
        out.copy_(torch.from_numpy(batch))
        return out.numpy()


def dump_layers(model, images, rows, out_paths, dtype="float16", batch_size=64, device="cpu", consumers=None):
    """Write the features of ``images[rows]`` at every layer of ``out_paths`` ({layer: path},
    (n, D) each) from one forward pass that stops at the deepest of them; return {layer: D}.

    Each float32 batch of a layer is also passed to every ``consumers[layer]`` callable
    (streaming reductions). One pass serves all layers: dumping twelve layers costs one
    forward pass instead of twelve partial ones.
    """
    return_large_frees_to_the_system()
    layers, dtype, consumers = list(out_paths), np.dtype(dtype), consumers or {}
    writers, stored = {}, _Staging(dtype)
    bar = tqdm(total=len(rows), desc=f"dump {', '.join(layers)}", unit="img", file=sys.stderr, mininterval=5)
    try:
        for outputs in layer_batches(model, images, layers, rows, batch_size, device, reduce="flatten"):
            for layer in layers:
                batch = outputs[layer]
                if layer not in writers:
                    writers[layer] = NpyRowWriter(out_paths[layer], (batch.shape[1],), dtype)
                writers[layer].append(stored(batch))
                for consume in consumers.get(layer, ()):
                    consume(batch)
            bar.update(len(outputs[layers[0]]))
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    finally:
        bar.close()
    for writer in writers.values():
        writer.close()
    return {layer: writers[layer].row_shape[0] for layer in layers}


def dump_layer(model, images, rows, layer, out_path, dtype="float16", batch_size=64, device="cpu",
               consumers=()):
    """Write ``layer``'s features of ``images[rows]`` to ``out_path`` (n, D); return D
    (:func:`dump_layers` for one layer)."""
    return dump_layers(model, images, rows, {layer: out_path}, dtype, batch_size, device,
                       {layer: consumers})[layer]


def dump_and_reduce_layers(model, images, rows, out_paths, reduction="rpca", k=50, seed=0, dtype="float16",
                           batch_size=64, device="cpu"):
    """Dump every layer of ``out_paths`` ({layer: path}) in one pass; return {layer: (n, k)
    float32 reduction}.

    Single-pass reductions (``projection_pca``, ``sketch``, ``random_projection``, ``none``) run
    on each batch while it is in memory, so a dump is written once and never read back;
    ``rpca`` reads each finished dump in row blocks (3 + 2 * n_iter passes, more accurate on
    slowly decaying spectra). A layer's reduction does not depend on which other layers were
    dumped beside it.
    """
    if OnlineReduction.supports(reduction):
        online = {layer: OnlineReduction(reduction, k, seed) for layer in out_paths}
        dump_layers(model, images, rows, out_paths, dtype, batch_size, device,
                    {layer: (reducer,) for layer, reducer in online.items()})
        return {layer: reducer.result() for layer, reducer in online.items()}
    dump_layers(model, images, rows, out_paths, dtype, batch_size, device)
    return {layer: reduce_streamed(path, reduction, k, seed) for layer, path in out_paths.items()}


def dump_and_reduce(model, images, rows, layer, out_path, reduction="rpca", k=50, seed=0, dtype="float16",
                    batch_size=64, device="cpu"):
    """Dump ``layer`` to ``out_path`` and return its (n, k) float32 reduction
    (:func:`dump_and_reduce_layers` for one layer)."""
    return dump_and_reduce_layers(model, images, rows, {layer: out_path}, reduction, k, seed, dtype, batch_size,
                                  device)[layer]


def reduce_images(images, rows, reduction="projection_pca", k=50, seed=0, batch_size=64):
    """The input pixels of ``images[rows]`` (flattened ``C x H x W``) reduced as a layer's features
    are (same method, dimension and seed): the layer-0 row of the probes. float32 (n, k)."""
    rows = np.asarray(rows)
    if OnlineReduction.supports(reduction):
        online = OnlineReduction(reduction, k, seed)
        for start in range(0, len(rows), batch_size):
            online(read_rows(images, rows[start:start + batch_size]))
        return online.result().astype(np.float32)
    return reduce_streamed(read_rows(images, rows).reshape(len(rows), -1), reduction, k, seed,
                           progress=False).astype(np.float32)
