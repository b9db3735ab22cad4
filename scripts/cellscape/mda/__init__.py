"""Stage 7, MDA: the regression network's feature space (``target``: what it regresses), the
MDA estimator (``estimator``) and the scores maps are judged by (``scores``).
"""
