"""Train the classifier the paper's way, reproducibly, surviving interruption.

SGD with (optionally Nesterov) momentum at a constant learning rate or under a schedule (a short
linear warm-up, then a cosine decay to zero at the last epoch), optionally judging and keeping a
moving average of the weights (docs/performance.md, "Training recipe", measures both); the only
augmentations are horizontal flips and 90-degree rotations (the
paper found pixel-changing transforms hurt); class-weighted loss against imbalance; early
stopping on the validation loss keeps the best weights. The full training state (weights,
optimiser, RNG states, history) is checkpointed atomically after every epoch, so a killed job
resumes where it stopped and reaches the same weights as an uninterrupted run.

The same loop trains the regression network of the MDA stage: what differs between the two
tasks (targets, loss, the scores in the history) lives in a task object
(:class:`ClassificationTask` here, ``cellscape.mda.regression_task.RegressionTask``); the loop,
augmentation, early stopping and checkpointing are shared.
"""
import contextlib
import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..runtime.io import atomic_path, read_rows
from .network import build_model, count_parameters
from .precision import resolve_precision

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    epoch: int = 0
    best_val_loss: float = float("inf")
    best_epoch: int = 0
    epochs_without_improvement: int = 0
    history: list = field(default_factory=list)


class SplitImages:
    """One split's images, read batch by batch from the image set (an array or a memory map):
    training never holds the image set in memory (28,325 paper-size images are 1.4 GB in
    float32, a million 48 GB). ``x[idx]`` is the float32 tensor of the split's images ``idx``
    (an index tensor, array or slice), read in increasing row order as memory maps want and put
    back in the requested order."""

    def __init__(self, images, rows):
        self.images, self.rows = images, np.asarray(rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, idx):
        wanted = self.rows[np.arange(len(self.rows))[idx] if isinstance(idx, slice) else np.asarray(idx)]
        return torch.from_numpy(read_rows(self.images, wanted))


def load_split(images, index, split, task=None):
    """(x, y) of one split: x a :class:`SplitImages` over ``images``, y a tensor of class
    labels, or ``task.targets(...)`` when a task is given."""
    rows = index.loc[index["split"] == split, "row"].to_numpy()
    x = SplitImages(images, rows)
    if task is not None:
        return x, task.targets(index, split)
    y = torch.from_numpy(index.loc[index["split"] == split, "label"].to_numpy().astype(np.int64))
    return x, y


def augment(x, generator):
    """Per sample: a random horizontal flip and a random multiple of 90 degrees rotation."""
    flip = torch.rand(len(x), generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    turns = torch.randint(0, 4, (len(x),), generator=generator)
    out = x.clone()
    for k in range(1, 4):
        sel = turns == k
        if sel.any():
            out[sel] = torch.rot90(x[sel], k, dims=(-2, -1))
    return out


def class_weights(y, n_classes, mode):
    if mode == "none":
        return torch.ones(n_classes)
    counts = torch.bincount(y, minlength=n_classes).float().clamp(min=1)
    return counts.sum() / (n_classes * counts)


class ClassificationTask:
    """Class labels (``index["label"]``), class-weighted cross-entropy, accuracy."""

    name = "classification"

    def __init__(self, n_classes, class_weight_mode="balanced"):
        self.n_classes = n_classes
        self.n_outputs = n_classes
        self.class_weight_mode = class_weight_mode

    def targets(self, index, split):
        return torch.from_numpy(index.loc[index["split"] == split, "label"].to_numpy().astype(np.int64))

    def loss_fn(self, y_train, device):
        return nn.CrossEntropyLoss(weight=class_weights(y_train, self.n_classes, self.class_weight_mode).to(device))

    def fingerprint(self):
        return []  # unchanged from before tasks existed: existing checkpoints still resume

    def prepare(self, model):
        """Nothing to adjust: the classifier trains from the model's own initialisation."""

    @staticmethod
    def batch_sums(outputs, y):
        return np.array([(outputs.argmax(1) == y).sum().item()], dtype=np.float64)

    @staticmethod
    def scores(sums, n):
        return {"accuracy": float(sums[0] / max(1, n))}


def config_fingerprint(*parts):
    """Hash of what determines the training run: a checkpoint of another run is not resumed."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@torch.no_grad()
def evaluate_loss(model, x, y, loss_fn, device, batch_size=256, task=None):
    """(mean loss, scores dict of the task); the task defaults to classification (accuracy)."""
    task = task or ClassificationTask
    model.eval()
    total, sums = 0.0, 0.0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size].to(device), y[start:start + batch_size].to(device)
        outputs = model(xb)
        total += loss_fn(outputs, yb).item() * len(xb)
        sums = sums + task.batch_sums(outputs, yb)
    return total / max(1, len(x)), task.scores(sums, len(x))


class LearningRate:
    """The learning rate of every optimiser step, a function of the step alone (so a resumed run
    needs no scheduler state): ``constant`` keeps ``lr``; ``cosine`` rises linearly from
    ``lr / 10`` over ``warmup_epochs``, then falls along a half cosine to 0 after the last step of
    ``epochs``."""

    def __init__(self, train_cfg, steps_per_epoch):
        self.peak = float(train_cfg["lr"])
        self.schedule = train_cfg.get("schedule", "constant")
        self.total = max(1, int(train_cfg["epochs"]) * steps_per_epoch)
        self.warmup = min(self.total - 1, round(float(train_cfg.get("warmup_epochs", 0)) * steps_per_epoch))

    def __call__(self, step):
        if self.schedule == "constant":
            return self.peak
        if step < self.warmup:
            return self.peak * (0.1 + 0.9 * step / self.warmup)
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        return self.peak * 0.5 * (1 + np.cos(np.pi * min(1.0, progress)))


class WeightAverage:
    """An exponential moving average of the weights over the last ``ema_epochs`` epochs (its time
    constant, in optimiser steps: ``ema_epochs * steps_per_epoch``), the weights the run is judged
    and kept by: steps at a constant rate keep exploring, their average does not jump from epoch
    to epoch. The first steps weigh more (the average starts at the initial weights; the decay
    ramps up as ``(1 + t) / (10 + t)``). Same network, same layers: only which weights are kept."""

    def __init__(self, model, ema_epochs, steps_per_epoch):
        self.decay = 1.0 - 1.0 / max(1.0, ema_epochs * steps_per_epoch)
        self.steps = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model):
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for key, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                self.shadow[key].mul_(decay).add_(value.detach(), alpha=1 - decay)
            else:
                self.shadow[key].copy_(value)

    def state_dict(self):
        return {"steps": self.steps, "shadow": self.shadow}

    def load_state_dict(self, state):
        self.steps = state["steps"]
        for key, value in state["shadow"].items():
            self.shadow[key].copy_(value)

    def swapped_into(self, model):
        """Context: ``model`` holds the averaged weights inside, its own weights again after."""
        average = self

        class Swap:
            def __enter__(self):
                self.own = {k: v.detach().clone() for k, v in model.state_dict().items()}
                model.load_state_dict(average.shadow)

            def __exit__(self, *exc):
                model.load_state_dict(self.own)

        return Swap()


def train_epoch(model, x, y, optimiser, loss_fn, device, batch_size, generator, do_augment, desc, task=None,
                channels_last=False, precision="float32", learning_rate=None, first_step=0, average=None):
    """One pass over the shuffled training set: (mean loss, scores dict of the task).

    ``channels_last`` feeds NHWC batches (the model must be converted too); ``precision``
    ``bfloat16`` runs the forward pass under autocast (weights and optimiser stay float32);
    ``learning_rate(step)`` sets each step's rate, steps counted from ``first_step``;
    ``average`` (a :class:`WeightAverage`) follows every step.
    """
    task = task or ClassificationTask
    model.train()
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    device_type = torch.device(device).type
    order = torch.randperm(len(x), generator=generator)
    total, sums = 0.0, 0.0
    bar = tqdm(range(0, len(x), batch_size), desc=desc, unit="batch", file=sys.stderr, mininterval=5)
    for k, start in enumerate(bar):
        if learning_rate is not None:
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(first_step + k)
        idx = order[start:start + batch_size]
        xb = x[idx.numpy()]
        if do_augment:
            xb = augment(xb, generator)
        xb = xb.to(device, non_blocking=True).contiguous(memory_format=memory_format)
        yb = y[idx].to(device, non_blocking=True)
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            outputs = model(xb)
        outputs = outputs.float()
        loss = loss_fn(outputs, yb)
        loss.backward()
        optimiser.step()
        if average is not None:
            average.update(model)
        total += loss.item() * len(idx)
        sums = sums + task.batch_sums(outputs.detach(), yb)
    return total / len(x), task.scores(sums, len(x))


@torch.no_grad()
def predict_outputs(model, images, device, batch_size=256):
    """Raw network outputs (n, n_outputs) for an (n, C, H, W) array or memmap, in batches
    (for a regression net: standardised predictions, see ``RegressionTask.to_original_units``)."""
    model.eval()
    out = [model(torch.from_numpy(np.array(images[start:start + batch_size], dtype=np.float32)).to(device)).cpu()
           for start in range(0, len(images), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def save_checkpoint(path, model, optimiser, state, best_weights, generator, fingerprint, average=None):
    payload = {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
               "average": average.state_dict() if average is not None else None,
               "state": state.__dict__, "best_weights": best_weights,
               "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
               "fingerprint": fingerprint}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def try_resume(path, model, optimiser, generator, fingerprint, average=None):
    """Restore a matching checkpoint; None when there is none (or it belongs to another run)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        return None
    except Exception as err:  # a checkpoint cut short is ignored, not fatal
        log.warning("ignoring unreadable checkpoint %s: %s", path, err)
        return None
    if payload.get("fingerprint") != fingerprint:
        log.info("checkpoint %s belongs to another configuration; starting over", path)
        return None
    model.load_state_dict(payload["model"])
    optimiser.load_state_dict(payload["optimiser"])
    if average is not None:
        average.load_state_dict(payload["average"])
    generator.set_state(payload["generator"])
    torch.set_rng_state(payload["torch_rng"])
    return TrainState(**payload["state"]), payload["best_weights"]


def make_optimiser(model, train_cfg):
    """SGD with (optionally Nesterov) momentum, or AdamW (decoupled weight decay): the optimiser
    changes which weights training reaches, not the network or its layers."""
    if train_cfg.get("optimiser", "sgd") == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=train_cfg["lr"], weight_decay=train_cfg["weight_decay"])
    momentum = train_cfg["momentum"]
    return torch.optim.SGD(model.parameters(), lr=train_cfg["lr"], momentum=momentum,
                           nesterov=bool(train_cfg.get("nesterov", False)) and momentum > 0,
                           weight_decay=train_cfg["weight_decay"])


def fit(images, index, classes, model_cfg, train_cfg, image_size, seed, device, checkpoint_path,
        max_epochs=None, task=None):
    """Train and return (best state dict, history list, n_parameters).

    ``max_epochs`` stops after that many epochs in this call (used by tests to simulate an
    interruption); the checkpoint then holds everything needed to continue.

    ``task``: what the network learns; the classifier (:class:`ClassificationTask` of
    ``classes`` with ``train_cfg["class_weights"]``) by default. The MDA stage passes its
    ``cellscape.mda.regression_task.RegressionTask``: a one-output network trained with MSE,
    whose history has ``*_rmse`` and ``*_r2`` columns instead of ``*_accuracy``.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    task = task or ClassificationTask(len(classes), train_cfg["class_weights"])
    model = build_model(model_cfg, image_size, task.n_outputs, in_channels=images.shape[1]).to(device)
    channels_last = train_cfg.get("channels_last", False)
    precision = resolve_precision(train_cfg.get("precision", "float32"), device)
    log.info("training in %s%s", precision, ", channels-last" if channels_last else "")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    task.prepare(model)
    n_params = count_parameters(model)
    log.info("model: %d trainable parameters", n_params)
    optimiser = make_optimiser(model, train_cfg)
    x_train, y_train = load_split(images, index, "train", task)
    steps_per_epoch = -(-len(x_train) // train_cfg["batch_size"])
    learning_rate = LearningRate(train_cfg, steps_per_epoch)
    ema_epochs = float(train_cfg.get("ema_epochs", 0))
    average = WeightAverage(model, ema_epochs, steps_per_epoch) if ema_epochs > 0 else None
    x_val, y_val = load_split(images, index, "val", task)
    loss_fn = task.loss_fn(y_train, device)
    fingerprint = config_fingerprint(model_cfg, train_cfg, image_size, seed,
                                     list(classes) if task.name == "classification" else [], len(x_train),
                                     index["id"].astype(str).tolist()[:50], *task.fingerprint())
    resumed = try_resume(checkpoint_path, model, optimiser, generator, fingerprint, average)
    if resumed:
        state, best_weights = resumed
        log.info("resumed from %s after epoch %d", checkpoint_path, state.epoch)
    else:
        state, best_weights = TrainState(), None
    ran = 0
    while state.epoch < train_cfg["epochs"] and state.epochs_without_improvement < train_cfg["patience"]:
        if max_epochs is not None and ran >= max_epochs:
            break
        t0 = time.perf_counter()
        epoch = state.epoch + 1
        tr_loss, tr_scores = train_epoch(model, x_train, y_train, optimiser, loss_fn, device,
                                         train_cfg["batch_size"], generator, train_cfg["augment"],
                                         f"epoch {epoch}/{train_cfg['epochs']}", task, channels_last, precision,
                                         learning_rate, state.epoch * steps_per_epoch, average)
        train_seconds = time.perf_counter() - t0
        judged = average.swapped_into(model) if average is not None else contextlib.nullcontext()
        with judged:  # the weights the run keeps: the average where there is one
            val_loss, val_scores = evaluate_loss(model, x_val, y_val, loss_fn, device, task=task)
            kept = {k: v.detach().cpu().clone(memory_format=torch.contiguous_format)
                    for k, v in model.state_dict().items()}
        state.history.append({"epoch": epoch, "train_loss": tr_loss,
                              **{f"train_{k}": v for k, v in tr_scores.items()},
                              "val_loss": val_loss, **{f"val_{k}": v for k, v in val_scores.items()},
                              "lr": optimiser.param_groups[0]["lr"],
                              "train_seconds": train_seconds, "seconds": time.perf_counter() - t0})
        log.info("epoch %d: train loss %.4f %s | val loss %.4f %s", epoch, tr_loss,
                 " ".join(f"{k} {v:.4f}" for k, v in tr_scores.items()), val_loss,
                 " ".join(f"{k} {v:.4f}" for k, v in val_scores.items()))
        if val_loss < state.best_val_loss:
            state.best_val_loss, state.best_epoch = val_loss, epoch
            state.epochs_without_improvement = 0
            best_weights = kept
        else:
            state.epochs_without_improvement += 1
        state.epoch = epoch
        save_checkpoint(checkpoint_path, model, optimiser, state, best_weights, generator, fingerprint, average)
        ran += 1
    return best_weights, state.history, n_params
