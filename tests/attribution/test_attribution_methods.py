"""Attribution methods: each against an independent formulation or a network with a known answer."""
import numpy as np
import pytest
import torch
from torch import nn

from support.attribution_data import SIZE, make_cells

from cellscape.attribution.localisation import area_share, mass_share
from cellscape.attribution.methods import (PIXEL_METHODS, attribute, attribution_maps, gradcam, gradcam_method,
                                           importance, shown, smoothgrad)
from cellscape.attribution.similarity import cell_masks, channel_masks


def test_integrated_gradients_add_up_to_the_logit_change_from_a_black_image(tiny_model):
    rng = np.random.default_rng(0)
    images = rng.random((3, 2, SIZE, SIZE)).astype(np.float32)
    targets = np.array([0, 1, 1])
    ig = attribute(tiny_model, images, targets, "integrated_gradients", n_steps=64)
    with torch.no_grad():
        logits = tiny_model(torch.from_numpy(images))[np.arange(3), targets]
        blank = tiny_model(torch.zeros(3, 2, SIZE, SIZE))[np.arange(3), targets]
    np.testing.assert_allclose(ig.reshape(3, -1).sum(axis=1), (logits - blank).numpy(), rtol=0.05, atol=1e-3)
    assert importance(ig).shape == (3, SIZE, SIZE)


def test_saliency_is_the_input_gradient_of_the_target_logit(tiny_model, cells):
    x = torch.from_numpy(cells).requires_grad_(True)
    tiny_model(x)[:, 1].sum().backward()
    np.testing.assert_allclose(attribute(tiny_model, cells, np.ones(len(cells), int), "saliency"),
                               x.grad.numpy(), atol=1e-6)


def test_smoothgrad_of_a_linear_network_is_its_weights_whatever_the_noise():
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(2 * 8 * 8, 3)).eval()
    x = torch.rand(2, 2, 8, 8)
    got = smoothgrad(linear, x, torch.tensor([2, 0]), 5, torch.Generator().manual_seed(0))
    weights = linear[1].weight.detach().reshape(3, 2, 8, 8)
    np.testing.assert_allclose(got.numpy(), torch.stack([weights[2], weights[0]]).numpy(), atol=1e-6)


def test_gradcam_at_every_layer_in_one_pass_matches_captum_layer_gradcam(tiny_model, cells):
    from captum.attr import LayerAttribution, LayerGradCam
    targets = np.array([0, 1, 0, 1, 1, 0])
    got = gradcam(tiny_model, cells, targets, ["conv1", "conv2"])
    for layer in ("conv1", "conv2"):
        cam = LayerGradCam(tiny_model, tiny_model.layer(layer)).attribute(
            torch.from_numpy(cells), target=torch.from_numpy(targets), relu_attributions=False)
        expected = LayerAttribution.interpolate(cam, (SIZE, SIZE), interpolate_mode="bilinear")[:, 0]
        np.testing.assert_allclose(got[layer], expected.detach().numpy(), rtol=1e-4, atol=1e-6)
    assert got["conv2"].shape == (6, SIZE, SIZE)


def test_shown_gradcam_is_its_positive_part_and_pixel_methods_their_importance():
    signed = np.array([[[-1.0, 2.0]]])
    assert shown("gradcam_conv1", signed, np.abs(signed)).tolist() == [[[0.0, 2.0]]]
    assert shown("saliency", signed, np.abs(signed)).tolist() == [[[1.0, 2.0]]]


def test_unknown_methods_are_an_error_that_names_the_choices(tiny_model, cells):
    with pytest.raises(ValueError, match="choose from saliency"):
        attribute(tiny_model, cells, np.zeros(len(cells), int), "occlusion")


def test_a_network_whose_first_layer_sees_only_the_nucleus_attributes_inside_the_nucleus(nucleus_only_model, cells):
    targets = np.array([0, 1, 0, 1, 0, 1])
    methods = ["saliency", "integrated_gradients", "guided_backprop", gradcam_method("conv1")]
    maps = attribution_maps(nucleus_only_model, cells, targets, methods, n_steps=16)
    nucleus = channel_masks(cells, ["cytoplasm", "nucleus"], "nucleus")
    assert 0.1 < area_share(nucleus).mean() < 0.4  # the nucleus is a small part of the image
    for m in methods:
        share = mass_share(shown(m, *maps[m]), nucleus)
        assert np.all(share > 0.999), (m, share)
    # the cell's union mask holds the nucleus, so every map is inside the cell too
    assert np.all(mass_share(maps["saliency"][1], cell_masks(cells)) > 0.999)


def test_every_method_gives_one_map_per_cell(tiny_model, cells):
    methods = list(PIXEL_METHODS) + [gradcam_method("conv2")]
    maps = attribution_maps(tiny_model, cells, np.zeros(len(cells), int), methods, n_steps=4, n_samples=2)
    for m in methods:
        signed, absolute = maps[m]
        assert signed.shape == absolute.shape == (len(cells), SIZE, SIZE)
        assert absolute.min() >= 0 and np.abs(signed).max() > 0
