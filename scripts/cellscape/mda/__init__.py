"""Stage 7, MDA: the regression network's feature space (``target``: what it regresses,
``regression_task``: how it learns it) and the scores maps are judged by (``scores``). The MDA
estimator itself is an embedding method of the embeddings stage (``embeddings.mda_estimator``,
with its BSDR projection ``embeddings.bsdr``).
"""
