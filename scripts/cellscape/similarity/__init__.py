"""Layer similarity: how alike two layers represent the same cells (``cka``: linear centred
kernel alignment, the layer-by-layer comparison of two networks or of a network with itself;
``cells``: the same cells in every network's dump).
"""
