"""Train the classifier the paper's way, reproducibly, surviving interruption.

SGD with momentum; the only augmentations are horizontal flips and 90-degree rotations (the
paper found pixel-changing transforms hurt); class-weighted loss against imbalance; early
stopping on the validation loss keeps the best weights. The full training state (weights,
optimiser, RNG states, history) is checkpointed atomically after every epoch, so a killed job
resumes where it stopped and reaches the same weights as an uninterrupted run.
"""
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

from .io import atomic_path
from .model import build_model, count_parameters

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    epoch: int = 0
    best_val_loss: float = float("inf")
    best_epoch: int = 0
    epochs_without_improvement: int = 0
    history: list = field(default_factory=list)


def load_split(images, index, split):
    """(x, y) tensors of one split; the set is small enough to hold (float32, 2 channels)."""
    rows = index.loc[index["split"] == split, "row"].to_numpy()
    x = torch.from_numpy(np.ascontiguousarray(images[rows], dtype=np.float32))
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


def config_fingerprint(*parts):
    """Hash of what determines the training run: a checkpoint of another run is not resumed."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@torch.no_grad()
def evaluate_loss(model, x, y, loss_fn, device, batch_size=256):
    model.eval()
    total, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size].to(device), y[start:start + batch_size].to(device)
        logits = model(xb)
        total += loss_fn(logits, yb).item() * len(xb)
        correct += (logits.argmax(1) == yb).sum().item()
    return total / max(1, len(x)), correct / max(1, len(x))


def train_epoch(model, x, y, optimiser, loss_fn, device, batch_size, generator, do_augment, desc):
    model.train()
    order = torch.randperm(len(x), generator=generator)
    total, correct = 0.0, 0
    bar = tqdm(range(0, len(x), batch_size), desc=desc, unit="batch", file=sys.stderr, mininterval=5)
    for start in bar:
        idx = order[start:start + batch_size]
        xb = x[idx]
        if do_augment:
            xb = augment(xb, generator)
        xb, yb = xb.to(device, non_blocking=True), y[idx].to(device, non_blocking=True)
        optimiser.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimiser.step()
        total += loss.item() * len(idx)
        correct += (logits.argmax(1) == yb).sum().item()
    return total / len(x), correct / len(x)


def save_checkpoint(path, model, optimiser, state, best_weights, generator, fingerprint):
    payload = {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
               "state": state.__dict__, "best_weights": best_weights,
               "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
               "fingerprint": fingerprint}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def try_resume(path, model, optimiser, generator, fingerprint):
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
    generator.set_state(payload["generator"])
    torch.set_rng_state(payload["torch_rng"])
    return TrainState(**payload["state"]), payload["best_weights"]


def fit(images, index, classes, model_cfg, train_cfg, image_size, seed, device, checkpoint_path,
        max_epochs=None):
    """Train and return (best state dict, history list, n_parameters).

    ``max_epochs`` stops after that many epochs in this call (used by tests to simulate an
    interruption); the checkpoint then holds everything needed to continue.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    n_classes = len(classes)
    model = build_model(model_cfg, image_size, n_classes).to(device)
    n_params = count_parameters(model)
    log.info("model: %d trainable parameters", n_params)
    optimiser = torch.optim.SGD(model.parameters(), lr=train_cfg["lr"], momentum=train_cfg["momentum"],
                                weight_decay=train_cfg["weight_decay"])
    x_train, y_train = load_split(images, index, "train")
    x_val, y_val = load_split(images, index, "val")
    loss_fn = nn.CrossEntropyLoss(weight=class_weights(y_train, n_classes, train_cfg["class_weights"]).to(device))
    fingerprint = config_fingerprint(model_cfg, train_cfg, image_size, seed, list(classes), len(x_train),
                                     index["id"].astype(str).tolist()[:50])
    resumed = try_resume(checkpoint_path, model, optimiser, generator, fingerprint)
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
        tr_loss, tr_acc = train_epoch(model, x_train, y_train, optimiser, loss_fn, device,
                                      train_cfg["batch_size"], generator, train_cfg["augment"],
                                      f"epoch {epoch}/{train_cfg['epochs']}")
        val_loss, val_acc = evaluate_loss(model, x_val, y_val, loss_fn, device)
        state.history.append({"epoch": epoch, "train_loss": tr_loss, "train_accuracy": tr_acc,
                              "val_loss": val_loss, "val_accuracy": val_acc,
                              "lr": optimiser.param_groups[0]["lr"],
                              "seconds": time.perf_counter() - t0})
        log.info("epoch %d: train loss %.4f acc %.4f | val loss %.4f acc %.4f", epoch, tr_loss,
                 tr_acc, val_loss, val_acc)
        if val_loss < state.best_val_loss:
            state.best_val_loss, state.best_epoch = val_loss, epoch
            state.epochs_without_improvement = 0
            best_weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            state.epochs_without_improvement += 1
        state.epoch = epoch
        save_checkpoint(checkpoint_path, model, optimiser, state, best_weights, generator, fingerprint)
        ran += 1
    return best_weights, state.history, n_params
