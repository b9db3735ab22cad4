"""Layer similarity: how alike two layers represent the same cells (``cka``: linear centred
kernel alignment, the layer-by-layer comparison of two networks or of a network with itself),
and whether a layer uses a direction of its activation space for a class (``concepts``: the
directional derivative of the class logits along it, TCAV).
"""
