"""The classifier: the paper's architecture, reproducible training, resume after kill -9."""
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cellscape.model.architecture import ArchitectureError, layer_names, parameter_count
from cellscape.model.network import build_model, count_parameters
from cellscape.model.sources.train import load_model
from cellscape.model.training import LearningRate, WeightAverage, augment, fit

#: networks trained here: make test runs them again with bfloat16 off on a bfloat16 CPU
pytestmark = pytest.mark.trains

REPO = Path(__file__).resolve().parents[2]
PAPER = {"conv_stages": [[32, 32], [64, 64], [128, 128, 128], [256, 256, 256]], "dense": [256], "dropout": 0.25}
TINY = {"conv_stages": [[4], [8]], "dense": [8], "dropout": 0.25}
TRAIN = {"epochs": 3, "batch_size": 16, "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4,
         "patience": 5, "class_weights": "balanced", "augment": True,
         "schedule": "cosine", "warmup_epochs": 1, "nesterov": True}


def toy_set(n=96, size=16, seed=0):
    """Two classes a CNN can tell apart: a bright disc in channel 0 or in channel 1."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    disc = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2).astype(np.float32)
    labels = np.arange(n) % 2
    images = rng.random((n, 2, size, size), dtype=np.float32) * 0.2
    images[np.arange(n), labels] += disc
    split = np.where(np.arange(n) < n * 0.6, "train", np.where(np.arange(n) < n * 0.8, "val", "test"))
    index = pd.DataFrame({"row": np.arange(n), "id": [f"c{i}" for i in range(n)], "label": labels,
                          "class": np.array(["a", "b"])[labels], "split": split})
    return images, index


def test_default_model_has_the_papers_parameter_count():
    model = build_model(PAPER, 78, 2)
    n = count_parameters(model)
    assert n == parameter_count(PAPER, 78, 2)
    assert abs(n - 3.47e6) / 3.47e6 < 0.15
    assert model.layer_names == [f"conv{i}" for i in range(1, 11)] + ["dense1", "dense2"]
    assert layer_names(PAPER, 78, 2) == model.layer_names


def test_layer_outputs_have_the_documented_shapes():
    model = build_model(PAPER, 78, 2).eval()
    seen = {}
    for name in ("conv1", "conv3", "conv10", "dense1", "dense2"):
        model.layer(name).register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o.shape))
    model(torch.zeros(1, 2, 78, 78))
    assert seen["conv1"] == (1, 32, 78, 78)
    assert seen["conv3"] == (1, 64, 39, 39)
    assert seen["conv10"] == (1, 256, 10, 10)
    assert seen["dense1"] == (1, 256) and seen["dense2"] == (1, 2)


def test_impossible_architecture_is_rejected_before_training():
    too_deep = {"conv_stages": [[4]] * 8, "dense": [8]}
    with pytest.raises(ArchitectureError, match="below 1 px"):
        build_model(too_deep, 32, 2)


def test_augmentation_only_flips_and_rotates():
    x = torch.rand(20, 2, 9, 9)
    out = augment(x, torch.Generator().manual_seed(1))
    for a, b in zip(x, out):
        variants = [torch.rot90(v, k, dims=(-2, -1)) for v in (a, a.flip(-1)) for k in range(4)]
        assert any(torch.equal(b, v) for v in variants)
    assert not torch.equal(out, x)


@pytest.mark.parametrize("speed", [{}, {"channels_last": True}, {"channels_last": True, "precision": "bfloat16"},
                                   {"channels_last": True, "precision": "auto"}],
                         ids=["nchw-float32", "channels-last", "bfloat16", "auto"])
def test_training_learns_and_is_deterministic_for_a_seed(tmp_path, speed):
    images, index = toy_set()
    runs = []
    for k in range(2):
        best, history, _ = fit(images, index, ["a", "b"], TINY, {**TRAIN, **speed}, 16, 7, "cpu",
                               tmp_path / f"ck{k}.pt")
        assert all(v.is_contiguous() for v in best.values())  # loadable into a plain NCHW model
        runs.append(best)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    for key in runs[0]:
        assert torch.equal(runs[0][key], runs[1][key]), key
    other, _, _ = fit(images, index, ["a", "b"], TINY, {**TRAIN, **speed}, 16, 8, "cpu", tmp_path / "ck_other.pt")
    assert not torch.equal(other["features.conv1.0.weight"], runs[0]["features.conv1.0.weight"])


def test_cosine_schedule_warms_up_then_decays_to_zero_at_the_last_step():
    steps_per_epoch, epochs = 10, 4
    rate = LearningRate({"lr": 0.02, "epochs": epochs, "schedule": "cosine", "warmup_epochs": 1}, steps_per_epoch)
    lrs = np.array([rate(step) for step in range(steps_per_epoch * epochs)])
    assert lrs[0] == pytest.approx(0.002)  # a tenth of the peak
    assert np.all(np.diff(lrs[:10]) > 0) and lrs[10] == pytest.approx(0.02)  # linear up to the peak
    assert np.all(np.diff(lrs[10:]) < 0)  # then only down
    # half-way through the decay, half the peak; the last step almost nothing
    assert rate(10 + 15) == pytest.approx(0.01)
    assert lrs[-1] < 0.02 * 0.01
    constant = LearningRate({"lr": 0.02, "epochs": epochs, "schedule": "constant"}, steps_per_epoch)
    assert {constant(step) for step in range(40)} == {0.02}


def test_weight_average_follows_each_step_with_its_ramped_decay():
    model = torch.nn.Linear(2, 1)
    average = WeightAverage(model, ema_epochs=2, steps_per_epoch=5)  # a time constant of 10 steps
    expected = model.weight.detach().clone()
    for t in range(1, 31):
        with torch.no_grad():
            model.weight.add_(1.0)
        average.update(model)
        decay = min(0.9, (1 + t) / (10 + t))  # 1 - 1/10, ramped up
        expected = decay * expected + (1 - decay) * model.weight.detach()
    torch.testing.assert_close(average.shadow["weight"], expected)
    own = model.weight.detach().clone()
    with average.swapped_into(model):
        torch.testing.assert_close(model.weight.detach(), expected)
    assert torch.equal(model.weight.detach(), own)  # its own weights back afterwards


def test_an_averaged_run_keeps_the_averaged_weights_and_resumes_to_them(tmp_path):
    images, index = toy_set()
    averaged = {**TRAIN, "ema_epochs": 1}
    best, history, _ = fit(images, index, ["a", "b"], TINY, averaged, 16, 0, "cpu", tmp_path / "ck.pt")
    plain, _, _ = fit(images, index, ["a", "b"], TINY, TRAIN, 16, 0, "cpu", tmp_path / "ck_plain.pt")
    assert not torch.equal(best["features.conv1.0.weight"], plain["features.conv1.0.weight"])
    # stopped after one epoch, resumed: the same averaged weights as the run nobody stopped
    fit(images, index, ["a", "b"], TINY, averaged, 16, 0, "cpu", tmp_path / "ck2.pt", max_epochs=1)
    resumed, _, _ = fit(images, index, ["a", "b"], TINY, averaged, 16, 0, "cpu", tmp_path / "ck2.pt")
    for key in best:
        assert torch.allclose(best[key], resumed[key], atol=1e-6), key


def test_adamw_trains_its_own_weights_and_resumes_to_them(tmp_path):
    images, index = toy_set()
    adamw = {**TRAIN, "optimiser": "adamw", "lr": 0.003}
    best, history, _ = fit(images, index, ["a", "b"], TINY, adamw, 16, 0, "cpu", tmp_path / "ck.pt")
    sgd, _, _ = fit(images, index, ["a", "b"], TINY, {**TRAIN, "lr": 0.003}, 16, 0, "cpu", tmp_path / "ck_sgd.pt")
    assert not torch.equal(best["features.conv1.0.weight"], sgd["features.conv1.0.weight"])
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    ck = torch.load(tmp_path / "ck.pt", weights_only=False)
    assert "exp_avg_sq" in next(iter(ck["optimiser"]["state"].values()))  # Adam's moments are checkpointed
    fit(images, index, ["a", "b"], TINY, adamw, 16, 0, "cpu", tmp_path / "ck2.pt", max_epochs=1)
    resumed, _, _ = fit(images, index, ["a", "b"], TINY, adamw, 16, 0, "cpu", tmp_path / "ck2.pt")
    for key in best:
        assert torch.allclose(best[key], resumed[key], atol=1e-6), key


def test_training_history_records_the_scheduled_rate(tmp_path):
    images, index = toy_set()
    _, history, _ = fit(images, index, ["a", "b"], TINY, TRAIN, 16, 0, "cpu", tmp_path / "ck.pt")
    steps = -(-int((index["split"] == "train").sum()) // TRAIN["batch_size"])
    rate = LearningRate(TRAIN, steps)
    # each epoch's row holds the rate of its last step
    assert [h["lr"] for h in history] == pytest.approx([rate((e + 1) * steps - 1) for e in range(TRAIN["epochs"])])


def test_saved_weights_load_with_weights_only(tmp_path):
    model = build_model(TINY, 16, 2)
    torch.save(model.state_dict(), tmp_path / "w.pt")
    loaded = load_model(tmp_path / "w.pt", TINY, 16, 2)
    assert torch.equal(loaded.layer("conv1")[0].weight, model.layer("conv1")[0].weight)


KILLER = textwrap.dedent("""
    import os, pickle, signal, sys
    import numpy as np, pandas as pd, torch
    sys.path.insert(0, {scripts!r})
    import cellscape.model.training as train
    images = np.load({images!r}); index = pd.read_pickle({index!r})
    kill_at = int(sys.argv[1])
    calls = {{"n": 0}}
    real_augment = train.augment
    def augment(x, g):
        calls["n"] += 1
        if calls["n"] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)   # mid-epoch, no cleanup
        return real_augment(x, g)
    train.augment = augment
    best, history, _ = train.fit(images, index, ["a", "b"], {tiny!r}, {train_cfg!r}, 16, 3, "cpu", {ckpt!r})
    torch.save(best, {out!r})
    print("epochs run in this process:", sum(1 for _ in history))
""")


def test_killed_training_resumes_from_last_checkpoint(tmp_path):
    images, index = toy_set()
    np.save(tmp_path / "images.npy", images)
    index.to_pickle(tmp_path / "index.pkl")
    batches_per_epoch = -(-int((index["split"] == "train").sum()) // TRAIN["batch_size"])
    script = tmp_path / "run.py"
    script.write_text(KILLER.format(scripts=str(REPO / "scripts"), images=str(tmp_path / "images.npy"),
                                    index=str(tmp_path / "index.pkl"), tiny=TINY, train_cfg=TRAIN,
                                    ckpt=str(tmp_path / "ck.pt"), out=str(tmp_path / "best.pt")))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # killed in the middle of epoch 2: the checkpoint of epoch 1 survives, no weights written
    killed = subprocess.run([sys.executable, script, str(batches_per_epoch + 2)], env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path / "ck.pt").exists() and not (tmp_path / "best.pt").exists()
    ck = torch.load(tmp_path / "ck.pt", weights_only=False)
    assert ck["state"]["epoch"] == 1
    resumed = subprocess.run([sys.executable, script, "0"], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 1/3" not in resumed.stderr and "epoch 2/3" in resumed.stderr  # epoch 1 not redone
    # the resumed run reaches exactly the weights of an uninterrupted run
    straight, _, _ = fit(images, index, ["a", "b"], TINY, TRAIN, 16, 3, "cpu", tmp_path / "ck2.pt")
    resumed_best = torch.load(tmp_path / "best.pt", weights_only=True)
    for key in straight:
        assert torch.allclose(straight[key], resumed_best[key], atol=1e-6), key


@pytest.mark.parametrize("native", [True, False])
def test_precision_auto_picks_bfloat16_only_with_native_support(monkeypatch, native):
    from cellscape.model import precision
    monkeypatch.setattr(precision, "native_bfloat16", lambda device: native)
    assert precision.resolve_precision("auto", "cpu") == ("bfloat16" if native else "float32")
    # an explicit setting is taken as it is, whatever the hardware
    assert precision.resolve_precision("float32", "cpu") == "float32"
    assert precision.resolve_precision("bfloat16", "cpu") == "bfloat16"


def test_native_bfloat16_follows_the_cpu_flags():
    """'auto' trusts only AVX512-BF16 or AMX: an AVX-512 CPU without them emulates bfloat16 (slower
    than float32), although oneDNN's own check says it supports it. The flags come from the kernel;
    a cap on the instructions in this process's environment rules bfloat16 out as well."""
    from cellscape.model.precision import native_bfloat16
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo to read the CPU flags from")
    flags = set(next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")).split())
    capped = (os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper() in {"AVX2", "AVX512_CORE", "AVX"}
              or os.environ.get("ATEN_CPU_CAPABILITY", "avx512").lower() in {"avx2", "default"})
    assert native_bfloat16("cpu") == (bool(flags & {"avx512_bf16", "amx_tile", "amx_bf16"}) and not capped)


@pytest.mark.parametrize("cap", [{"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
                                 {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}], ids=lambda cap: " ".join(cap.values()))
def test_capped_instructions_train_in_float32(tmp_path, cap):
    """The documented way to time the float32 case on a bfloat16 CPU: with the instructions capped
    below AVX512-BF16, 'auto' trains in float32 (the training log says so), wherever it runs."""
    code = textwrap.dedent(f"""
        import logging, sys
        sys.path[:0] = [{str(REPO / "scripts")!r}, {str(REPO / "tests")!r}]
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        from model.test_training import TINY, TRAIN, toy_set
        from cellscape.model.training import fit
        images, index = toy_set()
        fit(images, index, ["a", "b"], TINY, {{**TRAIN, "precision": "auto"}}, 16, 0, "cpu",
            {str(tmp_path / "ck.pt")!r}, max_epochs=1)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")}
    r = subprocess.run([sys.executable, "-c", code], env={**env, **cap}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "training in float32" in r.stderr, r.stderr[-3000:]


def test_an_instruction_cap_is_read_from_the_environment():
    from cellscape.model.precision import instructions_capped_below_bfloat16 as capped
    assert capped({}) is None
    assert capped({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}) is None
    assert capped({"ONEDNN_MAX_CPU_ISA": "avx512_core_amx", "ATEN_CPU_CAPABILITY": "avx512"}) is None
    assert capped({"ONEDNN_MAX_CPU_ISA": "AVX2"}) == "ONEDNN_MAX_CPU_ISA=AVX2"
    assert capped({"ONEDNN_MAX_CPU_ISA": "avx512_core_vnni"}) == "ONEDNN_MAX_CPU_ISA=avx512_core_vnni"
    assert capped({"ATEN_CPU_CAPABILITY": "default"}) == "ATEN_CPU_CAPABILITY=default"


class CountingImages:
    """An image set that records how many images each read asks for."""

    def __init__(self, images):
        self.images, self.reads = images, []
        self.shape, self.dtype = images.shape, images.dtype

    def __len__(self):
        return len(self.images)

    def __getitem__(self, rows):
        self.reads.append(len(np.atleast_1d(np.arange(len(self.images))[rows])))
        return self.images[rows]


def test_training_from_a_memory_map_equals_training_from_memory(tmp_path):
    images, index = toy_set()
    np.save(tmp_path / "images.npy", images)
    mapped = np.load(tmp_path / "images.npy", mmap_mode="r")
    in_memory, _, _ = fit(images, index, ["a", "b"], TINY, TRAIN, 16, 7, "cpu", tmp_path / "a.pt")
    from_map, _, _ = fit(mapped, index, ["a", "b"], TINY, TRAIN, 16, 7, "cpu", tmp_path / "b.pt")
    for key in in_memory:
        assert torch.equal(in_memory[key], from_map[key]), key


def test_training_reads_the_image_set_one_batch_at_a_time(tmp_path):
    images, index = toy_set()
    counting = CountingImages(images)
    fit(counting, index, ["a", "b"], TINY, TRAIN, 16, 7, "cpu", tmp_path / "c.pt")
    assert counting.reads and max(counting.reads) <= max(TRAIN["batch_size"], 256)
    assert max(counting.reads) < (index["split"] == "train").sum()  # never the whole training split
