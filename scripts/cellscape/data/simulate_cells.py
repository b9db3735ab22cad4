"""Cell geometry for the synthetic imaging flow cytometer: shapes, not photons.

Every cell is drawn from one *morphology score* m in [0, 1] (0 = typical lymphocyte,
1 = typical neutrophil) plus independent noise. Deriving size, lobe count, lobe spacing,
nucleus share and granularity from the same score makes the classes overlap the way blood
cells do: a cell with m near 0.5 is a large lymphocyte with a kidney-shaped nucleus or a small
neutrophil with two fat, touching lobes, and no classifier can be sure which it is.

`render_cell` turns a geometry into noiseless masks and stain-thickness profiles on the pixel
grid; texture, blur and noise are the instrument's job (`cellscape.simulate`).
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

EDGE_PX = 0.7  # width of the anti-aliased edge ramp; masks are the 0.5 contour of the ramp


@dataclass(frozen=True)
class Lobe:
    """One nuclear lobe: an ellipse in the cell's own (rotated) frame, px."""
    x: float
    y: float
    a: float
    b: float
    angle: float  # radians, orientation of the a axis


@dataclass(frozen=True)
class CellGeometry:
    """Everything needed to draw one cell; all lengths in px."""
    offset_x: float  # cell centre relative to the frame centre
    offset_y: float
    rotation_deg: float
    diameter_px: float
    elongation: float = 0.0  # (long axis / short axis) - 1 of the cell body
    ruffles: tuple = ()  # ((harmonic k, relative amplitude, phase), ...) of the outline
    lobes: tuple = ()  # Lobe, ... (empty: no nucleus)
    strand_width_px: float = 1.0  # chromatin strands joining consecutive lobes
    notch: tuple | None = None  # (x, y, r): disc cut out of the nucleus (kidney shape)


@dataclass(frozen=True)
class CellRendering:
    """Noiseless drawing of one cell on the frame grid.

    The masks are the ground truth for geometry (nucleus_area_ratio is measured on them);
    the profiles are relative stain amounts (0..1): projected thickness with soft edges.
    """
    cell_mask: np.ndarray  # bool (H, W)
    nucleus_mask: np.ndarray  # bool (H, W), always inside cell_mask
    cell_profile: np.ndarray  # float (H, W)
    nucleus_profile: np.ndarray  # float (H, W)

    @property
    def nucleus_area_ratio(self):
        cell_area = int(self.cell_mask.sum())
        return float(self.nucleus_mask.sum() / cell_area) if cell_area else float("nan")


@lru_cache(maxsize=8)
def frame_grid(frame_size):
    """Pixel-centre coordinates relative to the frame centre (x along columns = flow axis)."""
    centre = (frame_size - 1) / 2
    yy, xx = np.mgrid[0:frame_size, 0:frame_size].astype(np.float64)
    return xx - centre, yy - centre


def _soft_edge(inside_distance):
    """Anti-aliased coverage from a signed distance to the outline (positive inside)."""
    return np.clip(inside_distance / EDGE_PX + 0.5, 0.0, 1.0)


def _dome(normalised_radius):
    """Projected thickness of a sphere-like body: bright middle, dim rim."""
    return np.sqrt(np.clip(1.0 - normalised_radius ** 2, 0.0, 1.0))


def render_cell(geometry, frame_size):
    """Draw `geometry` on a frame_size x frame_size grid; see CellRendering."""
    xx, yy = frame_grid(frame_size)
    t = np.deg2rad(geometry.rotation_deg)
    dx, dy = xx - geometry.offset_x, yy - geometry.offset_y
    u = np.cos(t) * dx + np.sin(t) * dy
    v = -np.sin(t) * dx + np.cos(t) * dy

    radius = geometry.diameter_px / 2
    stretch = np.sqrt(1.0 + geometry.elongation)
    rho = np.hypot(u / stretch, v * stretch)
    outline = np.full_like(rho, radius)
    if geometry.ruffles:
        theta = np.arctan2(v, u)
        outline = radius * (1.0 + sum(amp * np.cos(k * theta + phase)
                                      for k, amp, phase in geometry.ruffles))
    cell_rho = rho / outline
    cell_soft = _soft_edge((1.0 - cell_rho) * outline)
    cell_mask = cell_rho <= 1.0
    cell_profile = cell_soft * (0.4 + 0.6 * _dome(cell_rho))

    nucleus_profile = np.zeros_like(rho)
    nucleus_mask = np.zeros(rho.shape, dtype=bool)
    if geometry.lobes:
        lobes = geometry.lobes
        lx = np.array([lb.x for lb in lobes])[:, None, None]
        ly = np.array([lb.y for lb in lobes])[:, None, None]
        la = np.array([lb.a for lb in lobes])[:, None, None]
        lb_ = np.array([lb.b for lb in lobes])[:, None, None]
        ang = np.array([lb.angle for lb in lobes])[:, None, None]
        du, dv = u[None] - lx, v[None] - ly
        pu = np.cos(ang) * du + np.sin(ang) * dv
        pv = -np.sin(ang) * du + np.cos(ang) * dv
        lobe_rho = np.hypot(pu / la, pv / lb_)
        lobe_soft = _soft_edge((1.0 - lobe_rho) * np.sqrt(la * lb_))
        nucleus_profile = (lobe_soft * (0.45 + 0.55 * _dome(lobe_rho))).max(axis=0)
        nucleus_mask = (lobe_rho <= 1.0).any(axis=0)
        for first, second in zip(lobes[:-1], lobes[1:]):
            distance = _segment_distance(u, v, first.x, first.y, second.x, second.y)
            half_width = geometry.strand_width_px / 2
            nucleus_profile = np.maximum(nucleus_profile, 0.5 * _soft_edge(half_width - distance))
            nucleus_mask |= distance <= half_width
        if geometry.notch is not None:
            nx, ny, nr = geometry.notch
            notch_distance = np.hypot(u - nx, v - ny) - nr
            nucleus_profile = nucleus_profile * _soft_edge(notch_distance)
            nucleus_mask &= notch_distance > 0
        nucleus_mask &= cell_mask
        nucleus_profile = nucleus_profile * cell_soft
    return CellRendering(cell_mask, nucleus_mask, cell_profile, nucleus_profile)


def _segment_distance(u, v, x0, y0, x1, y1):
    """Distance of every grid point to the segment (x0, y0)-(x1, y1)."""
    sx, sy = x1 - x0, y1 - y0
    length2 = sx * sx + sy * sy
    if length2 == 0:
        return np.hypot(u - x0, v - y0)
    s = np.clip(((u - x0) * sx + (v - y0) * sy) / length2, 0.0, 1.0)
    return np.hypot(u - x0 - s * sx, v - y0 - s * sy)


def draw_morphology_score(rng, cls, spread, ambiguous_fraction):
    """Latent score m: Beta around 0.15 (lymphocyte) / 0.85 (neutrophil), or mid-range.

    A share `ambiguous_fraction` of cells gets m ~ U(0.4, 0.6): genuinely between the classes.
    `spread` is the standard deviation of the class Beta distributions.
    """
    if rng.random() < ambiguous_fraction:
        return float(rng.uniform(0.4, 0.6))
    mean = 0.15
    concentration = mean * (1 - mean) / spread ** 2 - 1
    m = float(rng.beta(mean * concentration, (1 - mean) * concentration))
    if cls == "lymphocyte":
        return m
    if cls == "neutrophil":
        return 1.0 - m
    raise ValueError(f"the simulator knows lymphocyte and neutrophil, not {cls!r}")


def _lerp(low, high, m):
    return low + (high - low) * m


def draw_cell_geometry(rng, morphology, params, offset=None):
    """Random CellGeometry for morphology score `morphology`; `params` as simulate.DEFAULTS.

    `offset` (x, y) fixes the cell centre (border events, doublets); by default it is drawn
    uniformly within +-max_offset_px of the frame centre.
    """
    # shape_morphology fixes the score of everything but the nucleus ratio (diameter, lobes,
    # notch): the ratio then alone tells the classes apart (configs/concepts.yaml)
    ratio_m = morphology
    m = morphology if params.get("shape_morphology") is None else float(params["shape_morphology"])
    diameter_um = (_lerp(params["lymphocyte_diameter_um"], params["neutrophil_diameter_um"], m)
                   + rng.normal(0, params["diameter_sd_um"]))
    diameter = max(diameter_um / params["pixel_size_um"], 8.0)
    radius = diameter / 2
    if offset is None:
        offset = rng.uniform(-params["max_offset_px"], params["max_offset_px"], 2)
    ruffles = tuple((k, float(rng.normal(0, 0.015)), float(rng.uniform(0, 2 * np.pi)))
                    for k in (2, 3, 4, 5))
    ratio = float(np.clip(_lerp(params["lymphocyte_nucleus_ratio"],
                                params["neutrophil_nucleus_ratio"], ratio_m)
                          + rng.normal(0, params["nucleus_ratio_sd"]), 0.15, 0.85))
    nucleus_area = ratio * np.pi * radius ** 2

    lobed = m + rng.normal(0, 0.04) > 0.45
    notch = None
    if not lobed:
        lobes, notch = _round_nucleus(rng, m, radius, nucleus_area)
    else:
        n_lobes = int(np.clip(np.rint(1.5 + 2.6 * (m - 0.45) / 0.55 + rng.normal(0, 0.6)), 2, 5))
        lobes = _lobed_nucleus(rng, m, radius, nucleus_area, n_lobes)
    return CellGeometry(
        offset_x=float(offset[0]), offset_y=float(offset[1]),
        rotation_deg=float(rng.uniform(0, 360)), diameter_px=float(diameter),
        elongation=float(rng.uniform(0, params["max_elongation"])), ruffles=ruffles,
        lobes=lobes, strand_width_px=float(rng.uniform(0.8, 1.6)), notch=notch)


def _round_nucleus(rng, m, radius, area):
    """Lymphocyte-like: one oval nucleus, off-centre; indented (kidney) as m rises."""
    eccentricity = rng.uniform(0, 0.25)
    r = np.sqrt(area / np.pi)
    a, b = r * np.sqrt(1 + eccentricity), r / np.sqrt(1 + eccentricity)
    shift = rng.uniform(0.2, 0.8) * max(0.95 * radius - a, 0.0)
    direction = rng.uniform(0, 2 * np.pi)
    angle = rng.uniform(0, 2 * np.pi)
    x, y = shift * np.cos(direction), shift * np.sin(direction)
    lobes = (Lobe(float(x), float(y), float(a), float(b), float(angle)),)
    depth = float(np.clip((m - 0.2) * 2.5 + rng.normal(0, 0.1), 0.0, 0.9))
    if depth < 0.05:
        return lobes, None
    notch_r = 0.6 * a
    side = rng.choice([-1.0, 1.0])
    distance = b + notch_r - depth * b  # how far the notch disc reaches into the nucleus
    nx = x - side * distance * np.sin(angle)
    ny = y + side * distance * np.cos(angle)
    return lobes, (float(nx), float(ny), float(notch_r))


def _lobed_nucleus(rng, m, radius, area, n_lobes):
    """Neutrophil-like: sausage-shaped lobes in a C-shaped chain, further apart (thin
    strands) as m rises."""
    weights = rng.uniform(0.75, 1.25, n_lobes)
    radii = weights * np.sqrt(area / (np.pi * np.sum(weights ** 2)))
    elongation = rng.uniform(0.1, 0.6, n_lobes) * min(1.0, (m - 0.3) / 0.4)
    half_lengths = radii * np.sqrt(1 + elongation)  # along the chain
    separation = np.clip(_lerp(0.55, 1.35, (m - 0.45) / 0.55) + rng.normal(0, 0.1), 0.45, 1.6)
    chords = separation * (half_lengths[:-1] + half_lengths[1:])
    arc_radius = max(0.9 * radius - radii.max(), 1.0) * rng.uniform(0.7, 1.0)
    steps = 2 * np.arcsin(np.minimum(chords / (2 * arc_radius), 1.0))
    if steps.sum() > 1.3 * np.pi:  # do not close the chain into a ring
        steps *= 1.3 * np.pi / steps.sum()
    steps *= rng.uniform(0.85, 1.15, steps.size)
    angles = rng.uniform(0, 2 * np.pi) + np.concatenate([[0.0], np.cumsum(steps)])
    dist = arc_radius + rng.normal(0, 0.06 * radius, n_lobes)
    centres = np.stack([dist * np.cos(angles), dist * np.sin(angles)], axis=1)
    centres -= centres.mean(axis=0) * rng.uniform(0.6, 1.0)
    reach = np.linalg.norm(centres, axis=1) + half_lengths
    limit = 0.95 * radius
    if reach.max() > limit:  # pull the lobes inwards so the nucleus stays inside the cell
        centres *= np.clip((limit - radii) / np.maximum(np.linalg.norm(centres, axis=1), 1e-9),
                           0.0, 1.0)[:, None]
    tangents = angles + np.pi / 2 + rng.normal(0, 0.3, n_lobes)
    return tuple(Lobe(float(x), float(y), float(r * np.sqrt(1 + e)), float(r / np.sqrt(1 + e)),
                      float(t))
                 for (x, y), r, e, t in zip(centres, radii, elongation, tangents))


def debris_geometry(rng, max_offset_px):
    """A small irregular fragment without nucleus (3-8 px across)."""
    offset = rng.uniform(-max_offset_px, max_offset_px, 2)
    ruffles = tuple((k, float(rng.normal(0, 0.08)), float(rng.uniform(0, 2 * np.pi)))
                    for k in (2, 3))
    return CellGeometry(offset_x=float(offset[0]), offset_y=float(offset[1]),
                        rotation_deg=float(rng.uniform(0, 360)),
                        diameter_px=float(rng.uniform(3.0, 8.0)),
                        elongation=float(rng.uniform(0, 0.6)), ruffles=ruffles)
