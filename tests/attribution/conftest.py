"""Fixtures of the attribution tests: small networks whose explanation is known."""
import pytest
import torch
from torch import nn

from cellscape.model.network import build_model
from support.attribution_data import SIZE, TINY_MODEL, NucleusCounter, lit_tiny_model, make_cells

torch.set_num_threads(1)


@pytest.fixture
def cells():
    return make_cells(6)


@pytest.fixture
def tiny_model():
    return lit_tiny_model()


@pytest.fixture
def nucleus_only_model():
    """A network whose first layer sees only the nucleus channel, pixel by pixel: conv1's kernels
    are 0 except a positive centre tap on channel 1, with no bias. Its output is 0 wherever the
    nucleus channel is 0, and ReLU passes no gradient there, so no pixel outside the nucleus can
    change the prediction. The deeper layers are random."""
    torch.manual_seed(1)
    model = build_model(TINY_MODEL, SIZE, 2)
    conv1 = model.layer("conv1")[0]
    with torch.no_grad():
        conv1.weight.zero_()
        conv1.weight[:, 1, 1, 1] = torch.linspace(0.5, 1.5, conv1.out_channels)
        conv1.bias.zero_()
        for module in model.modules():
            if isinstance(module, nn.Conv2d) and module is not conv1:
                nn.init.constant_(module.bias, 0.05)
    return model.eval()


@pytest.fixture
def nucleus_counter():
    return NucleusCounter().eval()
