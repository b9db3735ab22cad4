"""2-D embeddings of a layer's (reduced) features: t-SNE, PCA and the t-SNE with snapshots of Fig. 7.

``cellscape.embedding_methods.make_embedder(method, params, random_state)`` picks one by name
from the config: a scikit-learn estimator for ``umap``, ``tsne``, ``pca`` or ``mda`` (``get_params``/``set_params``, ``sklearn.base.clone``; every
hyper-parameter an explicit ``__init__`` argument). ``fit_transform(X, y=None)`` returns the
(n, 2) map, which ``fit`` keeps as ``embedding_``. ``pca`` and ``mda`` also ``transform`` new rows;
``umap`` (fitted on exact neighbours handed over as ``precomputed_knn``) and ``tsne`` cannot,
so they have ``fit`` and ``fit_transform`` only. Every layer gets the same ``random_state``
(the workflow's seed), so the maps differ only through the features.

Speed choices (timings: docs/performance.md):

- t-SNE uses openTSNE (FFT-accelerated gradients) rather than sklearn's Barnes-Hut TSNE.
- UMAP's fixed cost is numba compilation: ``umap_embedder`` fits on exact neighbours (no
  pynndescent) and caches umap's jitted functions on disk (set ``NUMBA_CACHE_DIR`` to a
  persistent writable directory in the rule environment).

No I/O here.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..neighbourhood import fit_perplexity


def _opentsne(perplexity, n_iter, early_exaggeration_iter, random_state, n_jobs, callbacks=None, every=50,
              **params):
    import openTSNE
    return openTSNE.TSNE(perplexity=perplexity, n_iter=n_iter, early_exaggeration_iter=early_exaggeration_iter,
                         random_state=random_state, n_jobs=n_jobs, callbacks=callbacks,
                         callbacks_every_iters=every, **params)


class TSNEEmbedder(BaseEstimator):
    """openTSNE t-SNE (FFT gradients, PCA initialisation): ``early_exaggeration_iter`` + ``n_iter`` steps.

    ``tsne_kwargs``: further ``openTSNE.TSNE`` arguments (e.g. ``{"learning_rate": 100}``). The
    perplexity is capped at (n - 1) / 3 for small inputs (``cellscape.neighbourhood``); the one
    used is ``perplexity_``. Fitted: ``embedding_`` (n, 2), ``perplexity_``. No
    ``transform``: t-SNE places only the points it is fitted on.
    """

    def __init__(self, perplexity=30, n_iter=500, early_exaggeration_iter=250, n_jobs=1, random_state=0,
                 tsne_kwargs=None):
        self.perplexity = perplexity
        self.n_iter = n_iter
        self.early_exaggeration_iter = early_exaggeration_iter
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.tsne_kwargs = tsne_kwargs

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.perplexity_ = perplexity = fit_perplexity(self.perplexity, len(X))
        tsne = _opentsne(perplexity, self.n_iter, self.early_exaggeration_iter, self.random_state, self.n_jobs,
                         **(self.tsne_kwargs or {}))
        self.embedding_ = np.asarray(tsne.fit(X))
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X, y).embedding_


class PCAEmbedder(BaseEstimator, TransformerMixin):
    """The first two principal components (sklearn PCA, deterministic sign). Fitted: ``embedding_``, ``pca_``."""

    def __init__(self, n_components=2, random_state=0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        from sklearn.decomposition import PCA
        self.pca_ = PCA(n_components=self.n_components, random_state=self.random_state)
        self.embedding_ = self.pca_.fit_transform(np.asarray(X, dtype=np.float64))
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X, y).embedding_

    def transform(self, X):
        return self.pca_.transform(np.asarray(X, dtype=np.float64))


class _Recorder:
    """openTSNE callback keeping a copy of the positions every time it is called."""

    def __init__(self, every):
        self.every = every
        self.iterations, self.frames = [], []
        self.offset = 0  # iterations of the phases already finished

    def record(self, iteration, positions):
        self.iterations.append(iteration)
        self.frames.append(np.array(positions, dtype=np.float32))

    def __call__(self, iteration, error, embedding):
        self.record(self.offset + iteration, embedding)
        return False  # never stop the optimisation


def tsne_with_snapshots(X, n_snapshots=7, every=5, perplexity=30, n_iter=500, early_exaggeration_iter=250,
                        n_jobs=1, random_state=0):
    """t-SNE that also returns the positions as it optimises (paper Fig. 7 and its animation).

    Returns a dict: ``frames`` float32 (n_frames, n, 2), the positions at initialisation and
    every ``every`` iterations; ``iterations`` (n_frames,) their iteration numbers (0 =
    initialisation; the first ``early_exaggeration_iter`` are the exaggerated phase);
    ``snapshots`` the indices into ``frames`` of ``n_snapshots`` evenly spaced frames from the
    first to the last; ``embedding`` the final (n, 2) positions; ``early_exaggeration_iter``;
    ``perplexity`` the one used (fitted to the cells).
    """
    X = np.asarray(X, dtype=np.float64)
    recorder = _Recorder(every)
    perplexity = fit_perplexity(perplexity, len(X))
    tsne = _opentsne(perplexity, n_iter, early_exaggeration_iter, random_state, n_jobs,
                     callbacks=recorder, every=every)
    embedding = tsne.prepare_initial(X)
    recorder.record(0, embedding)
    embedding.optimize(n_iter=early_exaggeration_iter, exaggeration=tsne.early_exaggeration,
                       momentum=tsne.initial_momentum, inplace=True)
    recorder.offset = early_exaggeration_iter
    embedding.optimize(n_iter=n_iter, exaggeration=tsne.exaggeration, momentum=tsne.final_momentum,
                       inplace=True)
    if recorder.iterations[-1] != early_exaggeration_iter + n_iter:
        recorder.record(early_exaggeration_iter + n_iter, embedding)
    frames = np.stack(recorder.frames)
    snapshots = np.round(np.linspace(0, len(frames) - 1, min(n_snapshots, len(frames)))).astype(int)
    return {"frames": frames, "iterations": np.asarray(recorder.iterations), "snapshots": snapshots,
            "embedding": frames[-1], "early_exaggeration_iter": early_exaggeration_iter, "perplexity": perplexity}
