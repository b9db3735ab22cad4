"""Stage 7, MDA: manifold discovery and analysis and the regression network it explores.

The method: ``estimator`` (MDA, a prediction-guided 2-D map; also one of the embeddings stage's
methods) with its supervised projection ``bsdr``, ``guide`` (what guides it on a layer) and
``scores`` (how faithfully a map shows a layer's manifold). The regression network: ``target``
(what it regresses) and ``regression_task`` (how it learns it).
"""
