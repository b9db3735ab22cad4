"""Hand-made cells and networks with known answers for the attribution tests."""
import numpy as np
import torch
from torch import nn

TINY_MODEL = {"conv_stages": [[4], [8]], "dense": [8], "dropout": 0.0}
SIZE = 24


def disk(size, radius):
    c = (size - 1) / 2
    yy, xx = np.mgrid[:size, :size]
    return (yy - c) ** 2 + (xx - c) ** 2 <= radius ** 2


def make_cells(n, size=SIZE, seed=0, nucleus_radius=5, cell_radius=9):
    """(n, 2, size, size): channel 0 cytoplasm (the whole cell), channel 1 nucleus (a smaller disk);
    0 outside, as the image set stores background."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 2, size, size), np.float32)
    for i in range(n):
        shift = tuple(rng.integers(-2, 3, 2))
        cell = np.roll(disk(size, cell_radius), shift, (0, 1))
        nucleus = np.roll(disk(size, nucleus_radius + int(rng.integers(-1, 2))), shift, (0, 1))
        images[i, 0][cell] = rng.uniform(0.3, 1.0, cell.sum())
        images[i, 1][nucleus] = rng.uniform(0.5, 1.0, nucleus.sum())
    return images


class NucleusCounter(nn.Module):
    """Logits ``(-d / 2, d / 2)`` with ``d = slope x (summed nucleus channel - offset)``: class 1's
    probability falls exactly as nucleus signal is removed, and nothing else matters."""

    def __init__(self, slope=0.1, offset=30.0):
        super().__init__()
        self.slope = nn.Parameter(torch.tensor(float(slope)))
        self.offset = offset

    def forward(self, x):
        d = self.slope * (x[:, 1].flatten(1).sum(1) - self.offset)
        return torch.stack([-d / 2, d / 2], dim=1)


def lit_tiny_model(model_cfg=TINY_MODEL, size=SIZE):
    """The small network of ``model_cfg`` (seed 0) with every conv bias at 0.05, so that no
    channel is dead on a blank image; in eval mode."""
    import torch
    from torch import nn

    from cellscape.model.network import build_model
    torch.manual_seed(0)
    model = build_model(model_cfg, size, 2)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.constant_(module.bias, 0.05)
    return model.eval()
