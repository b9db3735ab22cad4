"""The untrained control network: the architecture of the weights, drawn afresh from the seed."""
import numpy as np
import torch

from cellscape.model.initial import initial_network
from cellscape.model.network import build_model

MODEL = {"conv_stages": [[8, 8], [16]], "dense": [16], "dropout": 0.25}
NETWORK = {"model": MODEL, "image_size": 24, "n_outputs": 2}


def saved_weights(path, in_channels=3):
    model = build_model(MODEL, 24, 2, in_channels)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(0.5)  # "trained": nothing like an initialisation
    torch.save(model.state_dict(), path)
    return path


def test_the_untrained_network_is_a_seeded_he_initialisation_of_the_weights_architecture(tmp_path):
    path = saved_weights(tmp_path / "weights.pt")
    first, again = initial_network(path, NETWORK, seed=3), initial_network(path, NETWORK, seed=3)
    other = initial_network(path, NETWORK, seed=4)
    assert first.in_channels == 3 and not first.training
    kernel = first.layer("conv2")[0].weight.detach().numpy()
    fan_in = kernel.shape[1] * 9
    assert abs(np.std(kernel) / np.sqrt(2 / fan_in) - 1) < 0.15  # He normal: sd sqrt(2 / fan_in)
    assert torch.count_nonzero(first.layer("conv2")[0].bias) == 0
    for a, b, c in zip(first.state_dict().values(), again.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)
        assert a.dim() == 1 or not torch.equal(a, c)
        assert not torch.all(a == 0.5)
    x = torch.rand(4, 3, 24, 24)
    with torch.no_grad():
        assert torch.equal(first(x), again(x))
