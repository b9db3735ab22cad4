"""Stage 1, data: raw two-channel events -> 20%-threshold filtering, quality checks, split image set.

``simulate``/``simulate_cells`` (the synthetic imaging cytometer), ``readers`` (real exports),
``stain`` (RGB stains -> two channels), ``preprocess`` (filtering and QC of one event),
``split`` (stratified train/val/test), ``ingest`` (all of it, streamed to images.npy + index.csv).
"""
