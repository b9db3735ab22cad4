"""Linear probes of a layer's reduced features for cell features a cytometrist knows, with the two
controls that make a probe's score mean something (Hewitt & Liang 2019): the same probe on the
same architecture at its random initialisation (what any network of this shape encodes) and on
shuffled targets (what a probe finds in noise). No torch, no I/O."""
from .probe import ProbeResult, fold_scores, fold_splits, mean_interval, probe_feature, usable_target
from .table import probe_layers

__all__ = ["ProbeResult", "fold_scores", "fold_splits", "mean_interval", "probe_feature", "probe_layers", "usable_target"]
