"""Stage 4, embeddings: 2-D maps of each layer's features (``embedders``: UMAP, t-SNE, PCA,
MDA with one face; ``umap_embedder``, ``mda_estimator`` and its ``bsdr`` projection), grid
mapping (``gridmap``), the kNN decision boundary (``boundary``) and class separation and
clusters (``separation``).
"""
