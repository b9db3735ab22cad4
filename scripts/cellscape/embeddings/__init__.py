"""Stage 4, embeddings: 2-D maps of each layer's features (``embedders``: UMAP, t-SNE, PCA and
MDA with one face; ``umap_embedder``, the project's one UMAP; MDA itself is in ``cellscape.mda``),
grid mapping (``gridmap``), the kNN decision boundary (``boundary``), class separation and
clusters (``separation``) and exact neighbours (``neighbours``).
"""
