"""The 2-D embedding methods by the name the config gives them: ``umap``, ``tsne``, ``pca``
(``cellscape.embeddings``) and ``mda`` (``cellscape.mda``).

The registry sits above both stages, so MDA (which uses the project's UMAP) and the other maps
never import each other. No I/O here.
"""
from .embeddings.embedders import PCAEmbedder, TSNEEmbedder
from .embeddings.umap_embedder import UMAPEmbedder, enable_numba_cache
from .mda.estimator import MDA
from .neighbourhood import fitted


class MDAEmbedder(MDA):
    """cellscape.mda.estimator.MDA behind the common interface (same parameters, attributes and
    ``transform``); ``y`` (the labels or target) is required, and numba's cache is switched on
    before the fit."""

    def fit(self, X, y=None):
        if y is None:
            raise ValueError("the mda embedding needs the target y (class labels)")
        enable_numba_cache()
        return super().fit(X, y)

    def fit_transform(self, X, y=None):
        return self.fit(X, y).embedding_


EMBEDDERS = {"umap": UMAPEmbedder, "tsne": TSNEEmbedder, "pca": PCAEmbedder, "mda": MDAEmbedder}
METHODS = tuple(EMBEDDERS)
_PASSED_ON = {UMAPEmbedder: "umap_kwargs", TSNEEmbedder: "tsne_kwargs"}  # where other keys go


#: the settings each method fits to the cells it has (the fitted value in ``<name>_``)
FITTED = ("n_neighbors", "perplexity")


def fitted_sizes(embedder):
    """``{setting: {"requested", "used"}}`` of a fitted embedder's neighbourhood settings (UMAP's
    and MDA's ``n_neighbors``, t-SNE's ``perplexity``; {} for PCA)."""
    return {name: fitted(getattr(embedder, name), getattr(embedder, f"{name}_")) for name in FITTED
            if hasattr(embedder, f"{name}_")}


def make_embedder(method, params=None, random_state=0):
    """Estimator for ``method`` (``umap``, ``tsne``, ``pca``, ``mda``) with the config's ``params``.

    ``params`` are the estimator's own parameters (the rest keep the class defaults); for
    ``umap`` and ``tsne`` any other key is passed on to umap-learn / openTSNE (``umap_kwargs`` /
    ``tsne_kwargs``), for ``pca`` and ``mda`` it is an error.
    """
    if method not in EMBEDDERS:
        raise ValueError(f"unknown embedding method {method!r}; choose from {METHODS}")
    cls = EMBEDDERS[method]
    params = dict(params or {})
    valid = cls().get_params(deep=False)
    extra = {key: params.pop(key) for key in list(params) if key not in valid}
    if extra and cls not in _PASSED_ON:
        raise ValueError(f"unknown {method} parameters {sorted(extra)}; valid: {sorted(valid)}")
    if extra:
        params[_PASSED_ON[cls]] = {**(params.get(_PASSED_ON[cls]) or {}), **extra}
    return cls(**params, random_state=random_state)
