"""Stage 6, attribution: which pixels a prediction rests on (``methods``), and its sanity check
by cascading randomisation.
"""
