"""The interactive explorer (every layer at once, cells, neighbours, attribution, feature
localisation between cells, feature-image gallery): static pages written by ``build_explorer``."""
from .boundary_overlay import boundary_rgba, unit_square_probabilities
from .build import build_explorer

__all__ = ["boundary_rgba", "build_explorer", "unit_square_probabilities"]
