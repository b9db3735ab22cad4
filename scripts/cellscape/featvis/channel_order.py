"""Which channels of a layer the feature images show first: live channels (those that respond
to the cells), ordered so that the first ones differ most (farthest-point order on their
response profiles). ``plan.featvis`` decides how many slots each render job draws; this decides,
from the trained model, which channel fills each slot.
"""
import numpy as np


def live_channels(profiles, floor=0.0):
    """(C,) bool: channels that are really live on cells.

    ``profiles``: (n_images, C) spatial-mean activation of every channel on every image. A
    channel is live when it fires on some image, varies over the images, and its mean
    activation is at least ``floor`` times the layer's most active channel's (the activity
    floor: ``featvis.live_floor``). A near-silent channel (say 0.0004 against 0.10) can only be
    drawn by magnifying noise, so the figures should not lead with it.
    """
    profiles = np.asarray(profiles, dtype=np.float64)
    mean = profiles.mean(axis=0)
    fires = (profiles.max(axis=0) > 0) & (profiles.std(axis=0) > 1e-12)
    top = mean[fires].max() if fires.any() else 0.0
    return fires & (mean >= floor * top)


def _farthest_point(profiles, candidates):
    """``candidates`` in greedy farthest-point order on the correlation distance of their profiles."""
    if len(candidates) == 0:
        return candidates
    p = profiles[:, candidates]
    mean, spread = p.mean(axis=0), p.std(axis=0)
    z = (p - mean) / spread
    distance = 1.0 - (z.T @ z) / len(profiles)  # correlation distance between channels
    first = int(np.argmax(mean))
    chosen = [first]
    nearest = distance[first].copy()
    nearest[first] = -np.inf
    for _ in range(len(candidates) - 1):
        best = np.flatnonzero(nearest == nearest.max())
        pick = int(best[np.argmax(mean[best])])
        chosen.append(pick)
        nearest = np.minimum(nearest, distance[pick])
        nearest[chosen] = -np.inf
    return candidates[chosen]


def channel_order(profiles, floor=0.0):
    """Order a layer's channels so that any leading block is a diverse, live selection.

    ``profiles``: (n_images, C) spatial-mean activation of every channel on every image.
    First the live channels (``live_channels`` with the activity ``floor``), in greedy
    farthest-point order on the correlation distance (1 - Pearson r) between the channels'
    profiles over the cells: start with the channel of highest mean activation, then
    repeatedly take the channel whose profile is least correlated with its most similar
    already-chosen channel (ties: the more active channel). Then the channels that fire but
    stay below the floor, in the same order among themselves; channels that never fire (dead
    ReLUs, constant profile) come last, most active first. Returns an int array (C,).
    """
    profiles = np.asarray(profiles, dtype=np.float64)
    n_channels = profiles.shape[1]
    mean = profiles.mean(axis=0)
    fires = live_channels(profiles, 0.0)
    live = live_channels(profiles, floor)
    weak = np.flatnonzero(fires & ~live)
    dead = np.flatnonzero(~fires)
    dead = dead[np.argsort(-mean[dead], kind="stable")]
    ordered = [_farthest_point(profiles, np.flatnonzero(live)), _farthest_point(profiles, weak), dead]
    order = np.concatenate(ordered).astype(np.int64)
    assert len(order) == n_channels
    return order
