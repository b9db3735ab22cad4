"""Self-contained interactive explorer pages (embedding, IFeaLiD feature localisation, gallery)."""
from .boundary_overlay import boundary_rgba, unit_square_probabilities
from .build import build_explorer
from .featuremaps import (channel_scores, dequantise_uint8,
                          feature_maps, quantise_uint8, similarity_map, top_activating_cells)

__all__ = ["unit_square_probabilities", "boundary_rgba", "build_explorer", "channel_scores",
           "dequantise_uint8", "feature_maps", "quantise_uint8",
           "similarity_map", "top_activating_cells"]
