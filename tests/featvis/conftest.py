"""The tiny network the feature-visualisation tests optimise images for."""
import pytest
import torch
from torch import nn

from cellscape.model.network import build_model

#: the tiny network's input size (the test modules' SIZE)
SMALL_SIZE = 24


@pytest.fixture
def small_model():
    """A tiny random CellNet; conv biases nudged positive so no channel starts dead."""
    torch.manual_seed(0)
    model = build_model({"conv_stages": [[4], [8]], "dense": [8]}, SMALL_SIZE, 2)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.constant_(module.bias, 0.05)
    return model
