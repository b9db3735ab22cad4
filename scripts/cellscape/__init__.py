"""cellscape: explore the deep feature space of a cell classification CNN, layer by layer.

One subpackage per stage of the workflow, in DAG order, each matching a file of ``rules/``:
``data`` (raw events -> filtered, quality-checked image set), ``model`` (the network, its
training and evaluation, and the one hook helper that reads a layer's outputs),
``activations`` (per-layer dumps and their streamed reduction), ``embeddings`` (t-SNE, UMAP,
PCA, grid mapping, decision boundary, separation), ``featvis`` (feature visualisation by
optimisation), ``attribution`` (pixel attribution), ``mda`` (the regression network's feature
space: MDA), ``explorer`` (the interactive HTML page); ``figures`` draws each stage's figures
and ``runtime`` holds what every rule script shares (logging and threads, atomic file writes).
"""
