"""Cell features a cytometrist knows, per cell, from the filtered channels and their masks
(scikit-image): shape of the cell and of each outlining channel, intensity and GLCM texture of
every channel, the nucleus' share and lobe count, darkfield granularity. One function per feature,
registered with its unit and formula (``registry``); docs/layer_knowledge.md lists them. No torch,
no I/O."""
from . import shape, intensity, texture, nucleus  # noqa: F401,I001  (registers the features, in this order)
from .registry import FEATURES, feature_columns
from .table import catalogue, feature_descriptions, measure_cell, measure_image_set, truth_agreement, truth_table

__all__ = ["FEATURES", "catalogue", "feature_columns", "feature_descriptions", "measure_cell", "measure_image_set", "truth_agreement", "truth_table"]
