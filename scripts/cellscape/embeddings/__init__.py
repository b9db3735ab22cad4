"""Stage 4, embeddings: 2-D maps of each layer's features (``embedders``: UMAP, t-SNE, PCA,
MDA with one face), grid mapping (``gridmap``), the kNN decision boundary (``boundary``) and
class separation and clusters (``separation``).
"""
