"""Streamed reduction of a layer's (n, D) activations to k dimensions, never loading them whole.

conv1 of 5,625 cells is 5,625 x 194,688 values, too many for umap-learn on the float32 matrix
(timings: docs/performance.md). The embeddings only need the leading directions of variance, so the
features are first reduced to ~50 dimensions by a randomized PCA (Halko, Martinsson & Tropp
2011) whose every step is a pass over row blocks: the matrix is read from disk one block at
a time (explicit reads, not a memory map, so the pages never pile up in the resident set)
and each block is multiplied in torch.

- :class:`ProjectionPCA`: single pass, fed batch by batch while the activation dump is
  written (the dump is never read back): a 256-column Gaussian projection, then an exact
  PCA of that n x 256 sketch - the default (``activations.reduction: projection_pca``).
- :class:`RandomizedPCA`: multi-pass (3 + 2 * n_iter passes over the finished dump), centred
  by a streamed mean, the most accurate (power iterations).
- :class:`StreamingSketch`: single-pass randomized PCA (Tropp et al. 2017); its basis from
  only k + 10 columns is noisy on slowly decaying spectra such as conv activations.
- :class:`RandomProjection`: Gaussian random projection applied batch-wise (Johnson-
  Lindenstrauss: pairwise distances kept up to ~sqrt(8 ln n / k)); cheapest, least accurate.
- :class:`NoReduction`: the features as float32 (``none``, and any layer no wider than k).

All are scikit-learn transformers (explicit ``__init__`` parameters, ``sklearn.base.clone``):
``fit(X)``, ``transform(X)``, ``fit_transform(X)``, with X an (n, D) array, a memory map, a
``.npy`` path or :class:`RowBlocks`; after a fit ``embedding_`` holds the reduced rows it was
fitted on (what ``fit_transform`` returns). The single-pass ones also have
``partial_fit(block)``: ``fit`` is ``partial_fit`` over X's row blocks. One registry names them
for the config (``activations.reduction``): :data:`REDUCERS` and :func:`make_reducer`, used by
:func:`reduce_streamed` (over a finished file) and :class:`OnlineReduction` (while dumping).

No file writing here; ``reduce_streamed`` reads a ``features.npy`` path or array and returns
the reduced float32 array.
"""
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from tqdm import tqdm


# --------------------------------------------------------------------------------------------
# row blocks


def _npy_layout(path):
    """(shape, dtype, data offset) of a C-ordered .npy file."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(version, np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(handle)
        if fortran:
            raise ValueError(f"{path}: Fortran-ordered arrays cannot be streamed by rows")
        return shape, dtype, handle.tell()


class RowBlocks:
    """Re-iterable row blocks of an (n, D) array, a ``.npy`` path or a memory map.

    Files (and memory maps, through their file) are read with plain reads into one reused
    buffer: pages of a memory map would stay mapped and count towards the resident memory.
    In-memory arrays are simply sliced. Every block is returned as float32.
    """

    def __init__(self, source, batch_rows=128):
        self.batch_rows = int(batch_rows)
        self.path, self.array = None, None
        if isinstance(source, (str, Path)):
            self.path = Path(source)
            self.shape, self.dtype, self.offset = _npy_layout(self.path)
        elif isinstance(source, np.memmap) and source.filename and source.flags.c_contiguous \
                and source.base is not None and Path(source.filename).suffix == ".npy":
            self.path = Path(source.filename)
            self.shape, self.dtype, self.offset = _npy_layout(self.path)
            if tuple(self.shape) != source.shape:  # a slice of the file: just slice it
                self.path, self.array = None, source
        else:
            self.array = source
        if self.array is not None:
            self.shape, self.dtype = self.array.shape, self.array.dtype
        if len(self.shape) != 2:
            raise ValueError(f"features must be 2-D (n, D), got shape {tuple(self.shape)}")

    def __len__(self):
        return -(-self.shape[0] // self.batch_rows)

    def __iter__(self):
        n, d = self.shape
        if self.array is not None:
            for start in range(0, n, self.batch_rows):
                yield start, _as_float32(np.asarray(self.array[start:start + self.batch_rows]))
            return
        row_bytes = d * self.dtype.itemsize
        buffer = np.empty(self.batch_rows * d, dtype=self.dtype)
        with open(self.path, "rb", buffering=0) as handle:
            handle.seek(self.offset)
            for start in range(0, n, self.batch_rows):
                rows = min(self.batch_rows, n - start)
                view = memoryview(buffer[: rows * d].view(np.uint8))
                got = 0
                while got < rows * row_bytes:
                    read = handle.readinto(view[got:])
                    if not read:
                        raise IOError(f"{self.path}: file ends before row {start + rows}")
                    got += read
                yield start, _as_float32(buffer[: rows * d].reshape(rows, d))


def _as_float32(block):
    """float16 -> float32 through torch, faster than numpy's astype (the bottleneck of a pass;
    timings: docs/performance.md)."""
    if block.dtype == np.float32:
        return block
    return torch.from_numpy(np.ascontiguousarray(block)).to(torch.float32).numpy()


def _passes(blocks, description, progress):
    return tqdm(blocks, total=len(blocks), desc=description, disable=not progress, leave=False)


def _generator(seed):
    return torch.Generator().manual_seed(int(seed))


def _gaussian(rows, cols, generator, chunk_rows=65536):
    """Standard normal (rows, cols) float32, drawn in row chunks: same values for a seed."""
    out = torch.empty(rows, cols)
    for start in range(0, rows, chunk_rows):
        stop = min(rows, start + chunk_rows)
        out[start:stop] = torch.randn(stop - start, cols, generator=generator)
    return out


def _signs_fixed(components, scores=None):
    """Flip each component so its largest-magnitude loading is positive (deterministic output)."""
    index = components.abs().argmax(dim=1)
    signs = torch.sign(components[torch.arange(len(components)), index])
    signs[signs == 0] = 1
    return components * signs[:, None], None if scores is None else scores * signs[None, :]


def _explained_variance(singular_values, n, column_sum, square_sum):
    """(explained variance, its ratio to the total variance, the total variance) of n rows from
    the singular values of the centred rows and the rows' column sums and total sum of squares."""
    variance = (singular_values.double() ** 2 / max(n - 1, 1)).numpy()
    total = (square_sum - n * float((column_sum / n).pow(2).sum())) / max(n - 1, 1)
    return variance, variance / total if total > 0 else np.zeros_like(variance), total


def _centred_scores(blocks, mean, components, progress, description, lift=torch.from_numpy):
    """(lift(block) - mean) @ components.T for every row block -> float32 (n, k)."""
    mean, components = torch.as_tensor(mean), torch.as_tensor(components)
    out = np.empty((blocks.shape[0], len(components)), dtype=np.float32)
    for start, block in _passes(blocks, description, progress):
        out[start:start + len(block)] = ((lift(block) - mean) @ components.T).numpy()
    return out


class _Reducer(BaseEstimator, TransformerMixin):
    """What every reducer shares: X read in row blocks of ``batch_rows`` (unless X already is
    :class:`RowBlocks`), and ``fit_transform(X)`` = ``fit(X).embedding_``, the reduced rows."""

    def _blocks(self, X):
        return X if isinstance(X, RowBlocks) else RowBlocks(X, self.batch_rows)

    def fit_transform(self, X, y=None):
        return self.fit(X, y).embedding_


# --------------------------------------------------------------------------------------------
# multi-pass randomized PCA


class RandomizedPCA(_Reducer):
    """Randomized PCA of a row-streamed (n, D) matrix, centred by its streamed mean.

    Range finder: Y = (X - mu) Omega with a Gaussian D x (k + oversample) Omega, refined by
    ``n_iter`` power iterations (Y <- (X - mu)(X - mu)^T Q, re-orthonormalised each time, so
    slowly decaying spectra such as conv activations are still captured), then
    B = Q^T (X - mu) and a small SVD of B. Each product with X is one pass over the row
    blocks; the mean is gathered in the first pass (X Omega is centred afterwards with
    mu Omega). Memory: the D x l sketch, the n x l basis and one block.

    ``fit`` keeps the scores Q U S of the final factorisation as ``embedding_`` (no extra pass;
    what ``fit_transform`` returns); ``transform`` projects new rows onto the components (one
    pass). Multi-pass, so no ``partial_fit``.
    """

    def __init__(self, n_components=50, oversample=10, n_iter=2, batch_rows=128, random_state=0,
                 progress=True):
        self.n_components = n_components
        self.oversample = oversample
        self.n_iter = n_iter
        self.batch_rows = batch_rows
        self.random_state = random_state
        self.progress = progress

    def fit(self, X, y=None):
        blocks = self._blocks(X)
        n, d = blocks.shape
        k = min(self.n_components, n, d)
        width = min(k + self.oversample, n, d)
        omega = _gaussian(d, width, _generator(self.random_state))
        # pass 1: mean, total sum of squares, uncentred X Omega
        sketch = torch.empty(n, width)
        column_sum = torch.zeros(d, dtype=torch.float64)
        square_sum = 0.0
        for start, block in _passes(blocks, "rpca mean+range", self.progress):
            xb = torch.from_numpy(block)
            sketch[start:start + len(xb)] = xb @ omega
            # float32 per block (a float64 copy of the block would double the peak memory)
            column_sum += xb.sum(0).double()
            square_sum += float(torch.linalg.vector_norm(xb)) ** 2
        mean = (column_sum / n).float()
        sketch -= (mean @ omega)[None, :]
        basis = torch.linalg.qr(sketch).Q
        del omega
        for _ in range(self.n_iter):
            # Z = (X - mu)^T Q  (D x l), then Y = (X - mu) orth(Z)
            z_t = torch.zeros(width, d)  # accumulated as Q^T X: contiguous row blocks, no transposed copies
            for start, block in _passes(blocks, "rpca power (X^T Q)", self.progress):
                z_t += basis[start:start + len(block)].T @ torch.from_numpy(block)
            z = z_t.T - mean[:, None] * basis.sum(0)[None, :]
            del z_t
            z = torch.linalg.qr(z).Q
            for start, block in _passes(blocks, "rpca power (X Z)", self.progress):
                sketch[start:start + len(block)] = torch.from_numpy(block) @ z
            sketch -= (mean @ z)[None, :]
            basis = torch.linalg.qr(sketch).Q
            del z
        # B = Q^T (X - mu)  (l x D)
        small = torch.zeros(width, d)
        for start, block in _passes(blocks, "rpca Q^T X", self.progress):
            small += basis[start:start + len(block)].T @ torch.from_numpy(block)
        small -= basis.sum(0)[:, None] * mean[None, :]
        u, s, vt = torch.linalg.svd(small, full_matrices=False)
        components, scores = _signs_fixed(vt[:k], (basis @ u[:, :k]) * s[:k])
        self.n_samples_, self.n_features_in_ = n, d
        self.mean_ = mean.numpy()
        self.components_ = components.numpy()
        self.singular_values_ = s[:k].numpy()
        self.explained_variance_, self.explained_variance_ratio_, self.total_variance_ = _explained_variance(
            s[:k], n, column_sum, square_sum)
        self.embedding_ = scores.numpy().astype(np.float32)
        return self

    def transform(self, X):
        return _centred_scores(self._blocks(X), self.mean_, self.components_, self.progress, "rpca transform")


# --------------------------------------------------------------------------------------------
# single-pass reducers: partial_fit one block of rows at a time (reduce while dumping)


class _FromRowsSeen:
    """A fitted attribute of a single-pass reducer, computed from every row seen so far on its
    first access after ``partial_fit`` (so a dump fed batch by batch costs one factorisation at
    the end, not one per batch)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, reducer, owner=None):
        if reducer is None:
            return self
        if not getattr(reducer, "n_samples_seen_", 0):
            raise AttributeError(f"{type(reducer).__name__}.{self.name}: not fitted, call fit or partial_fit first")
        if reducer._summary is None:
            reducer._summary = reducer._summarise()
        return reducer._summary[self.name]


class _SinglePass(_Reducer):
    """``partial_fit(block)`` adds one block of rows; ``fit(X)`` starts afresh and runs
    ``partial_fit`` over X's row blocks, so ``partial_fit`` over the same blocks gives ``fit``'s
    result. Subclasses define ``_begin(n_features)`` (fresh state, ``super()`` first),
    ``_add(block)`` (a float32 (n, D) array) and ``_summarise()`` (the ``_FromRowsSeen``
    attributes by name)."""

    embedding_ = _FromRowsSeen()

    def _begin(self, n_features):
        self.n_features_in_ = int(n_features)
        self.n_samples_seen_ = 0
        self._summary = None

    def fit(self, X, y=None):
        blocks = self._blocks(X)
        self._begin(blocks.shape[1])
        for _, block in _passes(blocks, type(self).__name__, self.progress):
            self.partial_fit(block)
        return self

    def partial_fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
        if not hasattr(self, "n_features_in_"):
            self._begin(X.shape[1])
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, {type(self).__name__} expects {self.n_features_in_}")
        self._add(X)
        self.n_samples_seen_ += len(X)
        self._summary = None
        return self


class _StreamedPCA(_SinglePass):
    """Per-column sums and the total sum of squares of the rows seen: what a single-pass PCA
    needs for the mean and the total variance (explained ratios)."""

    explained_variance_ = _FromRowsSeen()
    explained_variance_ratio_ = _FromRowsSeen()

    def _begin(self, n_features):
        super()._begin(n_features)
        self._column_sum = torch.zeros(self.n_features_in_, dtype=torch.float64)
        self._square_sum = 0.0

    def _moments(self, X):
        """The block as a float32 tensor, its moments added."""
        xb = torch.as_tensor(X)
        self._column_sum += xb.sum(0).double()
        self._square_sum += float(torch.linalg.vector_norm(xb)) ** 2
        return xb

    def _explained(self, singular_values):
        variance, ratio, _ = _explained_variance(singular_values, self.n_samples_seen_, self._column_sum,
                                                 self._square_sum)
        return {"explained_variance_": variance, "explained_variance_ratio_": ratio}


class StreamingSketch(_StreamedPCA):
    """Single-pass randomized PCA (Tropp, Yurtsever, Udell & Cevher 2017, "Practical sketching
    algorithms for low-rank matrix approximation"), fed by ``partial_fit`` one block at a time.

    Keeps Y = X Omega (n x l), W = Psi X (l2 x D, Psi a Gaussian drawn per block) and the
    column sums; at the end both are centred, Q = orth(Y), (Psi Q) B = W is solved for
    B ~ Q^T (X - mu) and the scores are Q U S of B's SVD. The number of rows need not be
    known in advance. Psi is drawn block by block, so the result depends on how the rows are
    cut: ``partial_fit`` over the blocks ``fit`` reads (``batch_rows``) gives ``fit``'s result,
    another cut a statistically equivalent one. No power iterations are possible in one
    pass, so prefer :class:`RandomizedPCA` over a file when the spectrum decays slowly.
    Fitted: ``embedding_`` (the scores), ``components_``, ``mean_``, ``explained_variance_``
    and its ratio; ``transform`` projects new rows onto the components.
    """

    components_ = _FromRowsSeen()
    mean_ = _FromRowsSeen()

    def __init__(self, n_components=50, oversample=10, random_state=0, batch_rows=128, progress=False):
        self.n_components = n_components
        self.oversample = oversample
        self.random_state = random_state
        self.batch_rows = batch_rows
        self.progress = progress

    def _begin(self, n_features):
        super()._begin(n_features)
        width = self.n_components + self.oversample
        generator = _generator(self.random_state)
        self._omega = _gaussian(self.n_features_in_, width, generator)
        self._psi_generator = generator
        self._range_rows, self._psi_columns = [], []
        self._co_range = torch.zeros(2 * width + 1, self.n_features_in_)

    def _add(self, X):
        xb = self._moments(X)
        psi = torch.randn(len(self._co_range), len(xb), generator=self._psi_generator)
        self._range_rows.append(xb @ self._omega)
        self._psi_columns.append(psi)
        self._co_range += psi @ xb

    def _summarise(self):
        n = self.n_samples_seen_
        mean = (self._column_sum / n).float()
        psi = torch.cat(self._psi_columns, dim=1)
        sketch = torch.cat(self._range_rows) - (mean @ self._omega)[None, :]
        co_range = self._co_range - psi.sum(1)[:, None] * mean[None, :]
        basis = torch.linalg.qr(sketch).Q
        small = torch.linalg.lstsq(psi @ basis, co_range).solution
        k = min(self.n_components, n, self.n_features_in_)
        u, s, vt = torch.linalg.svd(small, full_matrices=False)
        components, scores = _signs_fixed(vt[:k], (basis @ u[:, :k]) * s[:k])
        return {"embedding_": scores.numpy().astype(np.float32), "mean_": mean.numpy(),
                "components_": components.numpy(), **self._explained(s[:k])}

    def transform(self, X):
        return _centred_scores(self._blocks(X), self.mean_, self.components_, self.progress, "sketch transform")


class ProjectionPCA(_StreamedPCA):
    """Single-pass PCA through a wide Gaussian projection, fed by ``partial_fit`` one block at a
    time (the default: reduce while dumping).

    Each block is projected to ``sketch_dim`` (256) columns, Y = X Omega / sqrt(m); Omega
    preserves inner products in expectation, so the centred Gram matrix of Y approximates
    that of X and the leading principal scores of the small n x m matrix Y (one exact SVD
    at the end) approximate those of X. Unlike :class:`StreamingSketch` it estimates the
    geometry (distances between cells, what the embeddings use) rather than a D-dimensional
    basis, and with m >> k it is nearly as faithful as the multi-pass :class:`RandomizedPCA`
    (timings: docs/performance.md). Memory: Omega (D x m float32, 200 MB for conv1) and Y
    (n x m). Fitted: ``embedding_`` (the scores), ``explained_variance_`` (of the sketch) and its
    ratio, ``sketch_mean_`` and ``sketch_components_`` (k x m), with which ``transform`` places
    new rows.
    """

    sketch_mean_ = _FromRowsSeen()
    sketch_components_ = _FromRowsSeen()

    def __init__(self, n_components=50, sketch_dim=256, random_state=0, batch_rows=128, progress=False):
        self.n_components = n_components
        self.sketch_dim = sketch_dim
        self.random_state = random_state
        self.batch_rows = batch_rows
        self.progress = progress

    def _begin(self, n_features):
        super()._begin(n_features)
        self._omega = _gaussian(self.n_features_in_, int(self.sketch_dim), _generator(self.random_state))
        self._omega /= float(np.sqrt(int(self.sketch_dim)))
        self._rows = []

    def _add(self, X):
        self._rows.append(self._moments(X) @ self._omega)

    def _summarise(self):
        n = self.n_samples_seen_
        sketch = torch.cat(self._rows).double()
        mean = sketch.mean(0)
        sketch -= mean
        u, s, vt = torch.linalg.svd(sketch, full_matrices=False)
        k = min(self.n_components, n, int(self.sketch_dim))
        # deterministic: each score column's largest entry positive, the components flipped alike
        scores, components = _signs_fixed((u[:, :k] * s[:k]).T, vt[:k].T)
        return {"embedding_": scores.T.float().numpy(), "sketch_mean_": mean.float().numpy(),
                "sketch_components_": components.T.float().numpy(), **self._explained(s[:k])}

    def transform(self, X):
        return _centred_scores(self._blocks(X), self.sketch_mean_, self.sketch_components_, self.progress,
                               "projection_pca transform", lift=lambda block: torch.from_numpy(block) @ self._omega)


# --------------------------------------------------------------------------------------------
# row by row: random projection, no reduction


class _RowWise(_SinglePass):
    """Each row reduced on its own: fitting learns the width, ``transform`` works on any rows
    (a dump's batches as they come), and ``fit``/``partial_fit`` keep the reduced rows they saw
    as ``embedding_``. Subclasses define ``_width()`` and ``_reduce(block)``."""

    def _begin(self, n_features):
        super()._begin(n_features)
        self._rows = []

    def _add(self, X):
        self._rows.append(self.transform(X))

    def _summarise(self):
        if len(self._rows) > 1:
            self._rows = [np.concatenate(self._rows)]
        return {"embedding_": self._rows[0]}

    def transform(self, X):
        blocks = self._blocks(X)
        if blocks.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {blocks.shape[1]} features, {type(self).__name__} fitted on {self.n_features_in_}")
        out = np.empty((blocks.shape[0], self._width()), dtype=np.float32)
        for start, block in blocks:
            out[start:start + len(block)] = self._reduce(block)
        return out


class RandomProjection(_RowWise):
    """Gaussian random projection to ``n_components`` dims, applicable batch by batch.

    Entries of the D x k matrix ``components_`` (a float32 tensor) are N(0, 1/k), so squared
    distances are preserved in expectation. It is drawn from ``random_state`` as soon as D is
    known (the first ``partial_fit`` block, or ``fit``), and the result does not depend on how
    the rows are cut into blocks.
    """

    def __init__(self, n_components=50, random_state=0, batch_rows=128, progress=False):
        self.n_components = n_components
        self.random_state = random_state
        self.batch_rows = batch_rows
        self.progress = progress

    def _begin(self, n_features):
        super()._begin(n_features)
        generator = _generator(self.random_state)
        self.components_ = _gaussian(self.n_features_in_, self.n_components, generator) / np.sqrt(self.n_components)

    def _width(self):
        return self.n_components

    def _reduce(self, block):
        return (torch.from_numpy(block) @ self.components_).numpy()


class NoReduction(_RowWise):
    """The features as they are, as float32 (``none``; also any layer no wider than k)."""

    def __init__(self, batch_rows=128, progress=False):
        self.batch_rows = batch_rows
        self.progress = progress

    def _width(self):
        return self.n_features_in_

    def _reduce(self, block):
        return block


# --------------------------------------------------------------------------------------------
# the registry: config name (activations.reduction) -> reducer


REDUCERS = {"projection_pca": ProjectionPCA, "rpca": RandomizedPCA, "sketch": StreamingSketch,
            "random_projection": RandomProjection, "none": NoReduction}


def make_reducer(name, n_components=50, random_state=0, n_features=None, batch_rows=128, progress=False):
    """The unfitted reducer that ``activations.reduction: name`` means (a key of :data:`REDUCERS`).

    ``n_components``, ``random_state``, ``batch_rows`` and ``progress`` go to the reducers that
    take them. ``n_features``: the layer's width, where known; a layer no wider than
    ``n_components`` is never reduced (:class:`NoReduction`, whatever ``name``).
    """
    if name not in REDUCERS:
        raise ValueError(f"unknown reduction {name!r}; choose from {', '.join(REDUCERS)}")
    if n_features is not None and n_features <= n_components:
        name = "none"
    cls = REDUCERS[name]
    options = {"n_components": n_components, "random_state": random_state, "batch_rows": batch_rows,
               "progress": progress}
    return cls(**{key: value for key, value in options.items() if key in cls().get_params()})


def reduce_streamed(features, method="rpca", k=50, seed=0, batch_rows=128, progress=True):
    """features (a ``features.npy`` path, memory map or array) -> float32 (n, k).

    ``method``: a name of :data:`REDUCERS`: ``projection_pca`` (single-pass PCA of a wide random
    projection), ``rpca`` (multi-pass randomized PCA), ``sketch`` (single-pass randomized PCA,
    Tropp et al.), ``random_projection``, or ``none`` (the features as float32); a layer with
    D <= k is never reduced.
    """
    blocks = RowBlocks(features, batch_rows)
    reducer = make_reducer(method, k, seed, n_features=blocks.shape[1], batch_rows=batch_rows, progress=progress)
    return reducer.fit_transform(blocks)


class OnlineReduction:
    """A dump consumer: ``online(batch)`` hands each batch to the registry's reducer's
    ``partial_fit`` as it is produced, so the dump is never read back; ``result()`` -> its
    (n, k) float32 ``embedding_``. The reducer (``reducer``) is made at the first batch, when the
    layer's width is known: a layer no wider than ``k`` is kept as it is. ``rpca`` needs
    several passes (no ``partial_fit``) and cannot run online (``supports`` tells).
    """

    def __init__(self, method="projection_pca", k=50, seed=0):
        if not self.supports(method):
            online = [name for name in REDUCERS if self.supports(name)]
            raise ValueError(f"reduction {method!r} cannot run while dumping; online: {online}")
        self.method, self.k, self.seed = method, int(k), int(seed)
        self.reducer = None

    @staticmethod
    def supports(method):
        """Whether reduction ``method`` runs batch by batch; an unknown name raises ValueError."""
        return hasattr(make_reducer(method), "partial_fit")

    def __call__(self, batch):
        batch = np.asarray(batch, dtype=np.float32).reshape(len(batch), -1)
        if self.reducer is None:
            self.reducer = make_reducer(self.method, self.k, self.seed, n_features=batch.shape[1])
        self.reducer.partial_fit(batch)

    def result(self):
        if self.reducer is None:
            raise ValueError("no batches were reduced")
        return self.reducer.embedding_
