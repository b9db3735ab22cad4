"""Networks trained elsewhere: one ResNet-18 (two input channels) saved as a torchvision state
dict, a torch.export program and TorchScript gives the same layers, the same activations through
the one hook helper, gradients for feature images and attribution, and clear errors on a
mismatch with the data."""
import copy
import json
import time
import warnings

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from cellscape.attribution.randomisation import ModelRandomisation
from cellscape.model.architecture import ArchitectureError, ModelError, resolve_layer
from cellscape.model.hooks import capture_activations, layer_outputs
from cellscape.model.inspect import inspect_model
from cellscape.model.loading import load_network
from cellscape.model.spec import alias, aliases, model_spec

SIZE = 40
AUTO = ["relu", "layer1", "layer2", "layer3", "layer4", "fc"]


def resnet(in_channels=2, seed=0):
    torch.manual_seed(seed)
    model = torchvision.models.resnet18(num_classes=2)
    model.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    return model.eval()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """{source: file} of one random ResNet-18 in every format, and the eager model."""
    root = tmp_path_factory.mktemp("models")
    model = resnet()
    torch.save(model.state_dict(), root / "resnet.pt")
    x = torch.rand(3, 2, SIZE, SIZE)
    program = torch.export.export(model, (x,), dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    torch.export.save(program, root / "resnet.pt2")
    torch.export.save(torch.export.export(model, (x,)), root / "static.pt2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(model), root / "resnet_ts.pt")
    return {"torchvision": root / "resnet.pt", "exported": root / "resnet.pt2", "torchscript": root / "resnet_ts.pt",
            "static": root / "static.pt2", "root": root, "model": model}


def request(source, path, layers="auto", n_classes=2, channels=(0, 1)):
    return {"source": source, "file": str(path), "architecture": "resnet18", "arguments": {"num_classes": 2},
            "layers": layers, "channels": list(channels), "channel_names": ["cytoplasm", "nucleus"][:len(channels)],
            "mean": None, "std": None, "image_size": SIZE, "n_classes": n_classes}


def network(source, answer, mean=None, std=None, channels=(0, 1)):
    named = aliases(answer["layers"])
    calls = {name: next(c["calls"] for c in answer["candidates"] if c["path"] == path) for name, path in named.items()}
    return {"source": source, "architecture": "resnet18", "arguments": {"num_classes": 2}, "channels": list(channels),
            "mean": mean, "std": std, "layers": [[name, path] for name, path in named.items()], "calls": calls,
            "image_size": SIZE, "n_outputs": 2}


def test_aliases_are_wildcard_safe_and_collisions_are_errors():
    assert alias("layer1.1.relu") == "layer1_1_relu" and alias("features.7") == "features_7"
    assert list(aliases(["layer1.1.relu", "fc"])) == ["layer1_1_relu", "fc"]
    with pytest.raises(ArchitectureError, match="layer1.1.relu and layer1_1.relu both become"):
        aliases(["layer1.1.relu", "layer1_1.relu"])


def test_paper_layer_settings_resolve_by_kind_in_a_foreign_network():
    layers = AUTO
    kinds = dict.fromkeys(AUTO[:-1], "conv") | {"fc": "dense"}
    notes = []
    assert resolve_layer("conv2", layers, "k", notes, kinds) == "layer1"   # the second 4-D layer
    assert resolve_layer("conv9", layers, "k", notes, kinds) == "layer4"   # fewer: the deepest
    assert resolve_layer("dense1", layers, "k", notes, kinds) == "fc"
    assert resolve_layer("layer4.1.relu", ["layer4_1_relu"], "k", None, {"layer4_1_relu": "conv"},
                         {"layer4_1_relu": "layer4.1.relu"}) == "layer4_1_relu"
    assert len(notes) == 3
    with pytest.raises(ArchitectureError, match="layer9 is not a layer name .* relu, layer1"):
        resolve_layer("layer9", layers, "k", None, kinds)


@pytest.mark.parametrize("source", ["torchvision", "exported", "torchscript"])
def test_auto_layers_are_each_stage_and_the_linear_layer(saved, source):
    answer = inspect_model(request(source, saved[source]))
    assert answer["layers"] == AUTO
    shapes = {c["path"]: c["shape"] for c in answer["candidates"]}
    assert shapes["relu"] == [64, 20, 20] and shapes["layer4"] == [512, 2, 2] and shapes["fc"] == [2]
    assert answer["n_parameters"] == sum(p.numel() for p in saved["model"].parameters())


@pytest.mark.parametrize("source", ["torchvision", "exported", "torchscript"])
def test_every_source_gives_the_eager_models_activations_through_the_one_helper(saved, source):
    layers = ["relu", "layer1.1.relu", "layer4", "fc"]
    answer = inspect_model(request(source, saved[source], layers))
    net = network(source, answer)
    model = load_network(saved[source], net)
    images = np.random.default_rng(0).random((5, 2, SIZE, SIZE), dtype=np.float32)
    got = layer_outputs(model, images, model.layer_names, batch_size=3)
    eager = saved["model"]
    with torch.no_grad():
        x = torch.from_numpy(images)
        stem = eager.relu(eager.bn1(eager.conv1(x)))
        block = eager.layer1(eager.maxpool(stem))
        logits = eager(x)
    # layer1.1.relu runs twice per block: the helper keeps its last call, the block's output
    np.testing.assert_allclose(got["layer1_1_relu"], block.numpy(), atol=1e-4)
    np.testing.assert_allclose(got["relu"], stem.numpy(), atol=1e-4)
    np.testing.assert_allclose(got["fc"], logits.numpy(), atol=1e-4)
    assert got["layer4"].shape == (5, 512, 2, 2)


@pytest.mark.parametrize("source", ["torchvision", "exported", "torchscript"])
def test_a_copy_has_its_own_weights(saved, source):
    """The attribution check randomises a copy; torch.export's modules refuse plain deepcopy."""
    answer = inspect_model(request(source, saved[source]))
    model = load_network(saved[source], network(source, answer))
    clone = copy.deepcopy(model)
    first = next(clone.parameters())
    with torch.no_grad():
        first.zero_()
    assert float(next(model.parameters()).abs().sum()) > 0
    x = torch.rand(1, 2, SIZE, SIZE)
    assert not torch.allclose(clone(x), model(x))
    assert clone.layer_names == model.layer_names


@pytest.mark.parametrize("source", ["exported", "torchscript"])
def test_gradients_reach_the_image_through_a_captured_layer(saved, source):
    answer = inspect_model(request(source, saved[source]))
    model = load_network(saved[source], network(source, answer))
    x = torch.rand(2, 2, SIZE, SIZE, requires_grad=True)
    with capture_activations(model, ["layer2"]) as run:
        run(x)["layer2"][:, 3].mean().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_input_contract_orders_and_normalises_the_channels(saved):
    answer = inspect_model(request("torchvision", saved["torchvision"]))
    plain = load_network(saved["torchvision"], network("torchvision", answer))
    swapped = load_network(saved["torchvision"], network("torchvision", answer, mean=[0.5, 0.25], std=[2.0, 4.0],
                                                           channels=[1, 0]))
    x = torch.rand(2, 2, SIZE, SIZE)
    expected = plain(torch.stack([(x[:, 1] - 0.5) / 2.0, (x[:, 0] - 0.25) / 4.0], dim=1))
    torch.testing.assert_close(swapped(x), expected)


@pytest.mark.parametrize("source", ["exported", "torchscript"])
def test_cascading_randomisation_randomises_a_copy_layer_by_layer(saved, source):
    answer = inspect_model(request(source, saved[source]))
    model = load_network(saved[source], network(source, answer))
    before = {n: p.clone() for n, p in model.named_parameters()}
    stages = model.stage_parameters()
    assert [n for n, _ in stages["relu"]] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert all(n.startswith("fc.") for n, _ in stages["fc"])
    images = np.random.default_rng(1).random((2, 2, SIZE, SIZE), dtype=np.float32)
    check = ModelRandomisation(["saliency"], "cascading", random_state=0).fit(model, images, [0, 1])
    rho = check.scores_["saliency"]["spearman_abs"]
    assert check.stages_ == ["none"] + AUTO[::-1]
    assert rho[0].min() > 0.999 and rho[-1].mean() < 0.9  # the maps follow the weights
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())  # the model itself is unchanged
    assert copy.deepcopy(model).layer_names == model.layer_names == AUTO


def test_a_static_batch_dimension_is_an_error_that_says_so(saved):
    with pytest.raises(ModelError, match=r"static batch dimension \(3\).*dynamic_shapes"):
        inspect_model(request("exported", saved["static"]))


def test_a_three_channel_model_on_two_channel_data_names_both_numbers(saved):
    path = saved["root"] / "rgb.pt"
    torch.save(resnet(in_channels=3).state_dict(), path)
    with pytest.raises(ModelError, match="takes 3 input channels and the image set gives 2"):
        inspect_model(request("torchvision", path))
    ts = saved["root"] / "rgb_ts.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(resnet(in_channels=3)), ts)
    with pytest.raises(ModelError, match=r"takes 3 input channels .* gives 2"):
        inspect_model(request("torchscript", ts))


def test_the_number_of_classes_must_match(saved):
    with pytest.raises(ModelError, match="2 outputs and the config 3 classes"):
        inspect_model(request("exported", saved["exported"], n_classes=3))


def test_a_layer_the_model_lacks_is_named_with_the_modules_it_has(saved):
    with pytest.raises(ModelError, match=r"layer9 is not a module of the model \(modules: conv1, bn1"):
        inspect_model(request("torchvision", saved["torchvision"], ["layer9"]))


def test_planning_a_mismatched_model_stops_within_seconds_naming_both_numbers(saved, default_config, tmp_path,
                                                                             monkeypatch):
    """The Snakefile's planning (model_spec, torch-free here) on a 3-channel model and 2-channel data."""
    path = saved["root"] / "rgb.pt"
    torch.save(resnet(in_channels=3).state_dict(), path)
    monkeypatch.chdir(tmp_path)
    config = default_config
    config["model"].update(source="torchvision", file=str(path), architecture="resnet18",
                           arguments={"num_classes": 2})
    started = time.perf_counter()
    with pytest.raises(ArchitectureError, match="takes 3 input channels and the image set gives 2"):
        model_spec(config)
    # at planning, in one inspection subprocess (seconds idle): never after a job has started
    assert time.perf_counter() - started < 60


def test_model_spec_names_layers_by_alias_and_caches_the_inspection(saved, default_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = default_config
    config["image_size"] = SIZE
    config["model"].update(source="exported", file=str(saved["exported"]), layers=["layer1.1.relu", "fc"])
    spec = model_spec(config)
    assert [s.name for s in spec.shapes] == ["layer1_1_relu", "fc"]
    assert [(s.kind, s.channels, s.height) for s in spec.shapes] == [("conv", 64, 10), ("dense", 2, 1)]
    assert spec.network["layers"] == [["layer1_1_relu", "layer1.1.relu"], ["fc", "fc"]]  # forward order
    assert spec.network["calls"]["layer1_1_relu"] == 2
    cached = list((tmp_path / ".snakemake" / "cellscape" / "inspect").glob("*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["layers"] == ["layer1.1.relu", "fc"]
    started = time.perf_counter()
    assert model_spec(config).network == spec.network
    assert time.perf_counter() - started < 1  # read from the cache, no torch


def test_config_errors_name_the_setting(default_config, tmp_path):
    config = default_config
    config["model"].update(source="torchvision", file=str(tmp_path / "missing.pt"), architecture="resnet18")
    with pytest.raises(ArchitectureError, match="missing.pt does not exist"):
        model_spec(config)
    (tmp_path / "w.pt").write_bytes(b"")
    config["model"].update(file=str(tmp_path / "w.pt"), architecture=None)
    with pytest.raises(ArchitectureError, match="model.architecture: required"):
        model_spec(config)
    config["model"].update(architecture="resnet18", input={"size": 224, "channels": ["cytoplasm", "nucleus"],
                                                          "mean": None, "std": None})
    with pytest.raises(ArchitectureError, match="expects 224x224 px images and the image set has 78x78"):
        model_spec(config)


MYNETS = '''
from torch import nn


def build(num_classes=2, width=8):
    return nn.Sequential(nn.Conv2d(2, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(2 * width, num_classes))
'''


def test_a_users_own_module_is_built_loaded_and_explored(tmp_path, monkeypatch):
    (tmp_path / "mynets.py").write_text(MYNETS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import mynets
    torch.save(mynets.build(width=4).state_dict(), tmp_path / "state.pt")
    req = {**request("module", tmp_path / "state.pt"), "architecture": "mynets:build", "arguments": {"width": 4}}
    answer = inspect_model(req)
    assert answer["layers"] == ["1", "4", "7"]  # each spatial stage's ReLU, then the linear layer
    shapes = {c["path"]: c["shape"] for c in answer["candidates"]}
    assert shapes["1"] == [4, SIZE, SIZE] and shapes["4"] == [8, SIZE // 2, SIZE // 2] and shapes["7"] == [2]
    net = {**network("module", answer), "architecture": "mynets:build", "arguments": {"width": 4}}
    model = load_network(tmp_path / "state.pt", net)
    got = layer_outputs(model, np.ones((2, 2, SIZE, SIZE), np.float32), model.layer_names)
    assert got["7"].shape == (2, 2)
    with pytest.raises(ModelError, match="cannot import nowhere:build"):
        inspect_model({**req, "architecture": "nowhere:build"})


def test_the_untrained_control_of_a_foreign_network_redraws_every_kernel_from_the_seed(saved):
    from cellscape.model.initial import initial_network
    answer = inspect_model(request("torchvision", saved["torchvision"]))
    net = network("torchvision", answer)
    trained = load_network(saved["torchvision"], net)
    first, again = initial_network(saved["torchvision"], net, 0), initial_network(saved["torchvision"], net, 0)
    kernels = [n for n, p in trained.named_parameters() if p.dim() >= 2]
    assert any(n.endswith("conv1.weight") for n in kernels)
    for name, p in first.named_parameters():
        q = dict(again.named_parameters())[name]
        assert torch.equal(p, q), name  # seeded
        if p.dim() >= 2:
            assert not torch.equal(p, dict(trained.named_parameters())[name]), name  # re-drawn


@pytest.mark.parametrize("source", ["torchvision", "exported", "torchscript"])
def test_grad_cam_reaches_the_layers_of_a_network_from_elsewhere(saved, source):
    """Grad-CAM needs the logits' gradient at a layer's own output (not a copy of it): the maps
    equal the same Grad-CAM computed on the inner network with plain torch hooks."""
    from cellscape.attribution.methods import gradcam
    answer = inspect_model(request(source, saved[source]))
    model = load_network(saved[source], network(source, answer))
    layer = model.layer_names[0]
    torch.manual_seed(0)
    images = torch.rand(3, 2, SIZE, SIZE)
    targets = np.array([0, 1, 0])
    cams = gradcam(model, images.numpy(), targets, [layer])[layer]
    assert cams.shape == (3, SIZE, SIZE) and np.abs(cams).max() > 0
    if source == "torchvision":  # by hand: the stem's ReLU output and its gradient, upsampled
        inner = torchvision.models.resnet18(num_classes=2)
        inner.conv1 = nn.Conv2d(2, 64, 7, 2, 3, bias=False)
        inner.load_state_dict(torch.load(saved["torchvision"]))
        inner.eval()
        kept = {}
        inner.relu.register_forward_hook(lambda m, i, o: kept.setdefault("a", o))
        logits = inner(images)
        grad = torch.autograd.grad(logits.gather(1, torch.tensor(targets)[:, None]).sum(), kept["a"])[0]
        cam = (grad.mean(dim=(2, 3), keepdim=True) * kept["a"]).sum(1, keepdim=True)
        cam = torch.nn.functional.interpolate(cam, size=(SIZE, SIZE), mode="bilinear", align_corners=False)[:, 0]
        np.testing.assert_allclose(cams, cam.detach().numpy(), rtol=1e-3, atol=1e-5)
