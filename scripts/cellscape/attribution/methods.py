"""Pixel attribution of the classifier's decision: which pixels the predicted class rests on.

Methods (captum and a few lines of our own; no I/O here):

- ``saliency``: the input gradient of the target logit (Simonyan et al. 2014);
- ``integrated_gradients``: gradients along the straight path from an all-zero (background)
  image, times the input (Sundararajan et al. 2017);
- ``smoothgrad``: the input gradient averaged over noisy copies of the image (Smilkov et al.
  2017; noise sd 0.15 of the image's range);
- ``guided_backprop``: gradients with negative values stopped at every ReLU (Springenberg et al.
  2015). Its maps are known to show the image's edges whatever the weights (Adebayo et al. 2018):
  it is here as the negative control the checks must catch;
- ``gradcam_<layer>``: Grad-CAM at a conv layer (Selvaraju et al. 2017): the layer's channels
  weighted by their mean gradient, upsampled (bilinear) to the image. One backward pass gives it
  at every conv layer at once.

Every method gives a signed map per pixel (the attribution summed over the image's channels;
Grad-CAM's weighted sum before its ReLU) and an absolute one (|attribution| summed over the
channels): the checks compare both, as Adebayo et al. did.
"""
import numpy as np
import torch
import torch.nn.functional as F

from ..model.hooks import capture_activations

#: pixel methods, in the order tables and figures list them (Grad-CAM follows, one per conv layer)
PIXEL_METHODS = ("saliency", "integrated_gradients", "smoothgrad", "guided_backprop")
GRADCAM = "gradcam_"
#: images per forward pass along integrated gradients' paths (bounds the memory of a long path)
IG_BATCH = 64
#: SmoothGrad's noise: sd as a share of the image's value range (Smilkov et al.'s 10-20%)
SMOOTHGRAD_NOISE = 0.15


def gradcam_method(layer):
    return f"{GRADCAM}{layer}"


def gradcam_layer(method):
    """The conv layer of a Grad-CAM method name, None for a pixel method."""
    return method[len(GRADCAM):] if method.startswith(GRADCAM) else None


def check_methods(methods):
    for m in methods:
        if m not in PIXEL_METHODS and gradcam_layer(m) is None:
            raise ValueError(f"unknown attribution method {m!r}; choose from {', '.join(PIXEL_METHODS)} "
                             f"or {GRADCAM}<conv layer>")


def _batch(model, images):
    device = next(model.parameters()).device
    return torch.as_tensor(np.asarray(images, dtype=np.float32), device=device)


def _targets(targets, device):
    return torch.as_tensor(np.array(targets), dtype=torch.long, device=device)


def _input_gradient(model, x, target):
    x = x.detach().requires_grad_(True)
    score = model(x).gather(1, target[:, None]).sum()
    return torch.autograd.grad(score, x)[0]


def smoothgrad(model, x, target, n_samples, generator):
    """Mean input gradient over ``n_samples`` noisy copies (sd ``SMOOTHGRAD_NOISE`` x range)."""
    span = (x.amax(dim=(1, 2, 3), keepdim=True) - x.amin(dim=(1, 2, 3), keepdim=True)).clamp_min(1e-6)
    total = torch.zeros_like(x)
    for _ in range(n_samples):
        noise = torch.randn(x.shape, generator=generator, device="cpu").to(x.device)
        total += _input_gradient(model, x + SMOOTHGRAD_NOISE * span * noise, target)
    return total / n_samples


def gradcam(model, images, targets, layers):
    """Signed Grad-CAM maps ``{layer: (B, H, W)}`` of ``targets`` at the conv ``layers``, one
    forward and one backward pass for all, upsampled to the image size (not yet ReLU'd).

    The network's last layer must give the logits (the workflow's networks do)."""
    model.eval()
    x = _batch(model, images)
    target = _targets(targets, x.device)
    last = model.layer_names[-1]
    with torch.enable_grad(), capture_activations(model, list(layers) + [last], truncate=False, in_graph=True) as run:
        acts = run(x)
    logits = acts[last]
    if logits.dim() != 2:
        raise ValueError(f"Grad-CAM needs the network's last layer ({last}) to give logits (batch, classes); "
                         f"it gives {tuple(logits.shape)}")
    grads = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), [acts[layer] for layer in layers])
    out = {}
    for layer, grad in zip(layers, grads):
        activation = acts[layer]
        if activation.dim() != 4:
            raise ValueError(f"Grad-CAM needs a conv layer (batch, channels, height, width); {layer} gives "
                             f"{tuple(activation.shape)}")
        cam = (grad.mean(dim=(2, 3), keepdim=True) * activation).sum(dim=1, keepdim=True)
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
        out[layer] = cam[:, 0].detach().cpu().numpy().astype(np.float32)
    return out


def attribute(model, images, targets, method="saliency", n_steps=32, n_samples=16, random_state=0):
    """Signed attributions (B, C, H, W) of ``targets`` (class per image) to the input pixels;
    Grad-CAM methods give (B, 1, H, W)."""
    from captum.attr import GuidedBackprop, IntegratedGradients, Saliency
    check_methods([method])
    model.eval()
    layer = gradcam_layer(method)
    if layer is not None:
        return gradcam(model, images, targets, [layer])[layer][:, None]
    x = _batch(model, images)
    target = _targets(targets, x.device)
    with torch.enable_grad():
        if method == "saliency":
            result = Saliency(model).attribute(x.detach().requires_grad_(True), target=target, abs=False)
        elif method == "integrated_gradients":
            result = IntegratedGradients(model).attribute(x, baselines=0.0, target=target, n_steps=n_steps,
                                                          internal_batch_size=max(len(x), IG_BATCH))
        elif method == "smoothgrad":
            generator = torch.Generator().manual_seed(int(random_state))
            result = smoothgrad(model, x, target, n_samples, generator)
        else:
            result = GuidedBackprop(model).attribute(x.detach().requires_grad_(True), target=target)
    return result.detach().cpu().numpy().astype(np.float32)


def importance(attributions):
    """Per-pixel importance (B, H, W): absolute attribution summed over the image channels."""
    return np.abs(np.asarray(attributions, dtype=np.float32)).sum(axis=1)


def signed(attributions):
    """Per-pixel signed attribution (B, H, W): summed over the image channels."""
    return np.asarray(attributions, dtype=np.float32).sum(axis=1)


def shown(method, signed_map, absolute_map):
    """The map a figure shows: Grad-CAM's positive part (its ReLU), a pixel method's importance."""
    return np.maximum(signed_map, 0) if gradcam_layer(method) is not None else absolute_map


def attribution_maps(model, images, targets, methods, n_steps=32, n_samples=16, random_state=0):
    """``{method: (signed, absolute)}`` maps (B, H, W) of every method; all Grad-CAM layers share
    one backward pass."""
    check_methods(methods)
    out = {}
    layers = [gradcam_layer(m) for m in methods if gradcam_layer(m) is not None]
    cams = gradcam(model, images, targets, layers) if layers else {}
    for m in methods:
        layer = gradcam_layer(m)
        if layer is not None:
            out[m] = (cams[layer], np.abs(cams[layer]))
        else:
            a = attribute(model, images, targets, m, n_steps, n_samples, random_state)
            out[m] = (signed(a), importance(a))
    return out
