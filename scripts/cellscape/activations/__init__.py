"""Stage 3, activations: per-layer dumps of the selected images (``dump``) and the streamed
reductions computed while dumping (``reduce``).
"""
