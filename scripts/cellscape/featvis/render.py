"""The optimisation loop that draws feature images (lucid's ``optvis/render.py``).

It knows objectives, parameterisations and transforms only through their interfaces:
``objective(activations) -> value`` with ``objective.layers``, ``param() -> images`` with
``param.parameters()``, ``transforms(images, generator) -> images``. Forward hooks on the layers
the objective reads collect activations; once the deepest one has been seen the forward pass is
abandoned (a private exception), so optimising conv4 never pays for conv5..dense.
"""
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from ..model.hooks import capture_activations, frozen_eval
from .objectives import IMAGE
from .quality import SATURATION_HIGH, SATURATION_LOW, saturated_share
from .transforms import compose


class _RedirectedReLU(torch.autograd.Function):
    """ReLU whose gradient is not blocked for a batch item whose units are all off.

    A channel that is zero everywhere on the initial grey image gets no gradient through its
    ReLU and its feature image never starts. As lucid's ``redirected_relu_grad``: where the
    ordinary ReLU gradient of a batch item is entirely zero, pass the gradient through
    wherever it pushes the input *up* (never pushing a negative input further down).
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        negative = x < 0
        relu_grad = torch.where(negative, torch.zeros_like(grad), grad)
        # the optimiser descends -objective: positive grad pushes the input down
        redirected = torch.where(negative & (grad > 0), torch.zeros_like(grad), grad)
        blocked = relu_grad.flatten(1).abs().amax(dim=1) == 0
        blocked = blocked.view(-1, *([1] * (x.dim() - 1)))
        return torch.where(blocked, redirected, relu_grad)


@contextmanager
def redirected_relus(model, enabled):
    """While ``enabled()`` is true, every nn.ReLU of ``model`` uses the redirected gradient."""

    def hook(module, inputs, output):
        if enabled():
            return _RedirectedReLU.apply(inputs[0])
        return None

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class PlateauStop:
    """Stop when no batch item's objective improved by more than ``rel_tol`` over a window.

    The objective under random transforms is noisy, so the mean over the last ``window`` steps
    is compared to the mean over the window before; an item has plateaued when that gain is at
    most ``rel_tol * |recent mean| + abs_tol``. All items must have plateaued, and at least
    ``min_steps`` steps must have run.
    """

    def __init__(self, window=32, rel_tol=0.01, min_steps=64, abs_tol=0.0):
        self.window, self.rel_tol = int(window), float(rel_tol)
        self.min_steps, self.abs_tol = int(min_steps), float(abs_tol)

    def __call__(self, item_history):
        history = np.asarray(item_history, dtype=np.float64)
        n = len(history)
        if n < max(self.min_steps, 2 * self.window):
            return False
        recent = history[n - self.window:].mean(axis=0)
        before = history[n - 2 * self.window:n - self.window].mean(axis=0)
        gain = recent - before
        return bool(np.all(gain <= self.rel_tol * np.abs(recent) + self.abs_tol))

    def __repr__(self):
        return (f"PlateauStop(window={self.window}, rel_tol={self.rel_tol}, "
                f"min_steps={self.min_steps}, abs_tol={self.abs_tol})")


class SaturationStop:
    """Stop an item once its image saturates; keep its last image that did not.

    An image is saturated when more than ``threshold`` of its pixels lie in the sigmoid's flat
    tails (below ``low`` or above ``high``): from there on the optimisation mostly drives pixels
    into the tails (brightness always pays in a network without normalisation) and the image
    turns into a binary field. The renderer keeps each item's last unsaturated image and
    freezes the item at its first saturated step from ``min_steps`` on (earlier, a saturated
    step is only skipped: the first Adam steps overshoot before the penalties pull back); the
    run ends when every item is frozen.
    """

    def __init__(self, threshold=0.05, low=SATURATION_LOW, high=SATURATION_HIGH, min_steps=0):
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.threshold, self.low, self.high = float(threshold), float(low), float(high)
        self.min_steps = int(min_steps)

    def __call__(self, images):
        """(B,) bool: which items' ``images`` are saturated."""
        return saturated_share(images, self.low, self.high) > self.threshold

    def __repr__(self):
        return (f"SaturationStop(threshold={self.threshold}, low={self.low}, high={self.high}, "
                f"min_steps={self.min_steps})")


def _stop_rule(value, rule_class, name, from_number=None):
    """The stop rule a ``render`` argument asks for: None/False (none), an instance of
    ``rule_class``, its keyword arguments as a dict, True (its defaults) or a number passed to
    ``from_number`` (None: numbers are not accepted)."""
    if value is None or value is False:
        return None
    if isinstance(value, rule_class):
        return value
    if isinstance(value, dict):
        return rule_class(**value)
    if value is True:
        return rule_class()
    if from_number is not None and isinstance(value, (int, float)):
        return from_number(value)
    raise TypeError(f"{name} must be None, True, a dict or a {rule_class.__name__}"
                    f"{' or a number' if from_number else ''}, got {value!r}")


@dataclass
class RenderResult:
    images: np.ndarray  # (B, C, H, W) float32 in [0, 1], the untransformed final images
    snapshots: dict  # {step: (B, C, H, W)} images after `step` updates (0 = initial)
    history: np.ndarray  # (steps_run,) total objective per step, on transformed images
    item_history: np.ndarray  # (steps_run, B) per-item objective per step
    final_objective: np.ndarray  # (B,) objective of the final untransformed images
    steps_run: int
    seconds: float
    stopped_early: bool = False
    settings: dict = field(default_factory=dict)
    item_steps: np.ndarray = None  # (B,) updates behind each returned image (saturation stop)


def _per_item(value, batch):
    """(B,) view of an objective value; a whole-batch scalar is spread evenly."""
    value = value.detach().float()
    if value.dim() == 0:
        return value.expand(batch) / batch
    return value


def render(model, objective, param, transforms=(), steps=512, lr=0.05, snapshots=(), seed=0,
           device=None, stop_plateau=None, progress=True, truncate=True, channels_last=False,
           bf16=False, redirect_relu_steps=16, stop_saturation=None, filtered_view=None):
    """Maximise ``objective`` over the images of ``param`` with Adam; return a RenderResult.

    ``transforms`` is a list of transforms (or one callable) applied before every forward pass
    with a generator seeded by ``seed``. ``stop_plateau`` (a PlateauStop, its kwargs as a dict,
    or True for the defaults) ends the run early once every item has converged.
    ``stop_saturation`` (a SaturationStop, its kwargs, or a threshold) freezes each item at its
    last unsaturated image (snapshots and the result show that image) and ends the run when
    every item is frozen; a frozen item's objective counts as constant for the plateau rule. ``truncate``
    stops each forward pass at the deepest layer the objective needs. ``channels_last`` and
    ``bf16`` (autocast to bfloat16) are speed options; see bench/bench_featvis.py for whether
    they pay off on a given machine. For the first ``redirect_relu_steps`` steps ReLUs pass
    gradient to items whose units are all off (lucid's ``relu_gradient_override``), so channels
    that are silent on the initial grey image still get drawn. ``filtered_view`` (a
    ``filtering.FilteredView``) adds, on its steps, its weight x the objective on the view
    filtered by the channel maps; the history records the plain objective. The model and the
    param are moved to ``device``.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    transform = transforms if callable(transforms) else compose(transforms)
    plateau = _stop_rule(stop_plateau, PlateauStop, "stop_plateau")
    saturation = _stop_rule(stop_saturation, SaturationStop, "stop_saturation",
                            lambda share: SaturationStop(threshold=float(share)) if share > 0 else None)
    snapshot_steps = set(int(s) for s in snapshots)
    generator = torch.Generator().manual_seed(int(seed))
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device)
    param.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(param.parameters(), lr=lr)
    totals, per_item, shots = [], [], {}
    stopped_early = False
    step = 0
    kept, active, item_steps = None, None, None  # saturation stop: last good image per item
    started = time.perf_counter()

    def shown(images):
        """The images as returned: frozen items show their last unsaturated image."""
        if kept is None:
            return images.detach()
        return torch.where(active.view(-1, 1, 1, 1), images.detach(), kept)

    try:
        with frozen_eval(model), capture_activations(model, objective.layers - {IMAGE}, truncate) as hooked, \
                redirected_relus(model, lambda: torch.is_grad_enabled() and step < redirect_relu_steps):
            def run(seen, images):
                """The hooked activations of the network's view ``seen``, plus the untransformed images."""
                acts = hooked(seen)
                acts[IMAGE] = images.float()
                return acts

            bar = tqdm(total=steps, desc=f"render {objective.name}"[:60], file=sys.stderr,
                       disable=not progress, mininterval=2.0)
            for step in range(steps):
                images = param()
                if saturation is not None:
                    with torch.no_grad():
                        if kept is None:
                            kept = images.detach().clone()
                            active = torch.ones(images.shape[0], dtype=torch.bool, device=images.device)
                            item_steps = np.zeros(images.shape[0], dtype=np.int64)
                        saturated = saturation(images)
                        good = active & ~saturated
                        kept = torch.where(good.view(-1, 1, 1, 1), images.detach(), kept)
                        item_steps[good.cpu().numpy()] = step
                        if step >= saturation.min_steps:
                            active &= ~saturated
                    if not bool(active.any()):
                        stopped_early = True
                        break
                if step in snapshot_steps:
                    shots[step] = shown(images).cpu().numpy().astype(np.float32)
                seen = transform(images, generator).contiguous(memory_format=memory_format)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    acts = run(seen, images)
                    filtered = (run(filtered_view(seen, acts), images)
                                if filtered_view is not None and filtered_view.due(step) else None)
                value = objective(acts)
                loss = -value.sum()
                if filtered is not None:
                    loss = loss - filtered_view.weight * objective(filtered).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                item = _per_item(value, images.shape[0]).cpu().numpy()
                if active is not None and per_item:
                    frozen = ~active.cpu().numpy()
                    item = np.where(frozen, per_item[-1], item)
                per_item.append(item)
                totals.append(float(item.sum()))
                bar.update(1)
                if step % 16 == 0:
                    bar.set_postfix(objective=f"{totals[-1]:.4g}")
                if plateau is not None and plateau(per_item):
                    stopped_early = True
                    break
            bar.close()
            steps_run = len(totals)
            with torch.no_grad():
                current = param()
                if saturation is not None:
                    # the image after the last update, where it is not saturated; else the last good one
                    good = active & ~saturation(current)
                    kept = torch.where(good.view(-1, 1, 1, 1), current, kept)
                    item_steps[good.cpu().numpy()] = steps_run
                    final = kept
                else:
                    final = current
                final_value = _per_item(objective(run(final.contiguous(memory_format=memory_format), final)),
                                        final.shape[0])
            final_images = final.cpu().numpy().astype(np.float32)
            if steps_run in snapshot_steps and steps_run not in shots:
                shots[steps_run] = final_images
            if saturation is not None and stopped_early:  # every item frozen: later snapshots are final
                shots.update({s: final_images for s in snapshot_steps if s > steps_run})
    finally:
        if channels_last:
            model.to(memory_format=torch.contiguous_format)
    return RenderResult(
        images=final_images,
        snapshots=shots,
        history=np.asarray(totals, dtype=np.float64),
        item_history=np.asarray(per_item, dtype=np.float64).reshape(len(totals), -1),
        final_objective=final_value.cpu().numpy().astype(np.float64),
        steps_run=steps_run,
        seconds=time.perf_counter() - started,
        stopped_early=stopped_early,
        settings={"steps": steps, "lr": lr, "seed": seed, "truncate": truncate,
                  "channels_last": channels_last, "bf16": bf16,
                  "redirect_relu_steps": redirect_relu_steps,
                  "stop_plateau": repr(plateau), "stop_saturation": repr(saturation),
                  "filtered_view": repr(filtered_view),
                  "device": str(device)},
        item_steps=np.full(len(final_images), steps_run, dtype=np.int64) if item_steps is None else item_steps,
    )
