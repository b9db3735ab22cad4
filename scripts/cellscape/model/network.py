"""The paper's VGG-like cell classifier, built from the config.

Every layer whose features the workflow explores is a named module (conv1..convN, dense1..denseM)
whose output is the post-activation tensor, so a forward hook on it sees exactly what the paper
embeds. ReLUs are not in-place: an in-place ReLU would overwrite a hooked conv output.
"""
import torch
from torch import nn

from .architecture import flat_size, layer_shapes


class ConvUnit(nn.Sequential):
    """3x3 'same' convolution followed by ReLU; its output is the layer's feature map."""

    def __init__(self, c_in, c_out):
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=False))


class DenseUnit(nn.Sequential):
    def __init__(self, d_in, d_out, final):
        layers = [nn.Linear(d_in, d_out)]
        if not final:
            layers.append(nn.ReLU(inplace=False))
        super().__init__(*layers)


class CellNet(nn.Module):
    """conv stages with 2x2 max-pooling and dropout after each stage, then dense layers.

    ``forward`` returns logits; the softmax of dense-last is applied by the loss or by
    ``predict_proba``. ``layer_names`` lists the explorable layers in forward order.
    """

    def __init__(self, model_cfg, image_size, n_classes, in_channels=2):
        super().__init__()
        shapes = layer_shapes(model_cfg, image_size, n_classes)  # validates the architecture
        self.layer_names = [s.name for s in shapes]
        self.in_channels = in_channels
        self.image_size = image_size
        dropout = float(model_cfg.get("dropout", 0.25))
        dense_dropout = float(model_cfg.get("dense_dropout", 0.0))
        self.features = nn.Sequential()
        c_in, k = in_channels, 0
        for i, stage in enumerate(model_cfg["conv_stages"], start=1):
            for c in stage:
                k += 1
                self.features.add_module(f"conv{k}", ConvUnit(c_in, c))
                c_in = c
            self.features.add_module(f"pool{i}", nn.MaxPool2d(2, ceil_mode=True))
            self.features.add_module(f"drop{i}", nn.Dropout(dropout))
        self.classifier = nn.Sequential(nn.Flatten())
        d_in = flat_size(model_cfg, image_size)
        units = list(model_cfg["dense"]) + [n_classes]
        for j, d_out in enumerate(units, start=1):
            final = j == len(units)
            self.classifier.add_module(f"dense{j}", DenseUnit(d_in, d_out, final))
            if not final and dense_dropout > 0:
                self.classifier.add_module(f"drop_dense{j}", nn.Dropout(dense_dropout))
            d_in = d_out
        self.apply(_init_weights)

    def forward(self, x):
        return self.classifier(self.features(x))

    def layer(self, name):
        """The module whose output is layer ``name``'s post-activation tensor."""
        if name.startswith("conv"):
            return getattr(self.features, name)
        if name.startswith("dense"):
            return getattr(self.classifier, name)
        raise KeyError(f"unknown layer {name!r}; layers are {self.layer_names}")

    @torch.no_grad()
    def predict_proba(self, x):
        return torch.softmax(self(x), dim=1)


def _init_weights(module):
    """He initialisation for the ReLU layers: with PyTorch's default, this 12-layer net without
    batch normalisation barely moves away from chance in the first epochs."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_model(model_cfg, image_size, n_classes, in_channels=2):
    return CellNet(model_cfg, image_size, n_classes, in_channels)


def state_in_channels(state_dict):
    """The input channels of a saved CellNet: the first convolution's kernel depth (the image
    set's channel count when it was trained)."""
    return next(v for v in state_dict.values() if v.ndim == 4).shape[1]


def load_model(weights_path, model_cfg, image_size, n_classes, device="cpu"):
    """Rebuild the network from the config and load trained weights (weights only, safe); the
    input width is the weights' own."""
    state = torch.load(weights_path, map_location=device, weights_only=True)
    model = build_model(model_cfg, image_size, n_classes, state_in_channels(state))
    model.load_state_dict(state)
    return model.to(device).eval()


def inference_model(state_dict, model_cfg, image_size, n_outputs, device="cpu", channels_last=False):
    """The network with ``state_dict`` in eval mode for prediction passes; ``channels_last`` as
    in training (a float32 forward pass is ~1.4x faster that way on CPU: docs/performance.md)."""
    model = build_model(model_cfg, image_size, n_outputs, state_in_channels(state_dict))
    model.load_state_dict(state_dict)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model.to(device).eval()


def load_network(weights_path, network, device="cpu"):
    """The classifier of a rule's ``network`` param, whatever its source (``loading.load_network``):
    for the paper's network {model, image_size, n_outputs}, ``load_model``."""
    from .loading import load_network as load_any
    return load_any(weights_path, network, device)


#: oneDNN's instruction-set caps (ONEDNN_MAX_CPU_ISA) below which bfloat16 is emulated
ISAS_WITHOUT_BFLOAT16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}
#: ATen's CPU capabilities (ATEN_CPU_CAPABILITY) that have no bfloat16 instructions
ATEN_WITHOUT_BFLOAT16 = {"DEFAULT", "AVX2", "ZVECTOR", "VSX"}


def instructions_capped_below_bfloat16(environ=None):
    """The oneDNN or ATen instruction cap that rules bfloat16 out, or None: a user who caps the
    instructions (``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``, as on an AVX2-only CPU)
    gets float32 from every 'auto', whatever the CPU itself has."""
    import os
    environ = os.environ if environ is None else environ
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        if environ.get(name, "").strip().upper() in ISAS_WITHOUT_BFLOAT16:
            return f"{name}={environ[name]}"
    if environ.get("ATEN_CPU_CAPABILITY", "").strip().upper() in ATEN_WITHOUT_BFLOAT16:
        return f"ATEN_CPU_CAPABILITY={environ['ATEN_CPU_CAPABILITY']}"
    return None


def native_bfloat16(device):
    """Whether ``device`` computes bfloat16 natively (CPUs with AVX512-BF16 or AMX whose use no
    instruction cap forbids, GPUs that report bf16 support); the one hardware check behind every
    'auto' precision setting."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if instructions_capped_below_bfloat16():
        return False
    # not mkldnn's bf16 check alone: it says yes on any AVX-512 CPU, where oneDNN emulates bfloat16
    # (a training step 3.5x slower than float32 on an AVX-512 CPU without AVX512-BF16); it does
    # honour a cap, so it must agree too
    try:
        flags = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        return bool(flags and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(name, device):
    """'auto' -> bfloat16 where the hardware computes it natively, else float32: emulated
    bfloat16 would be slower."""
    if name != "auto":
        return name
    return "bfloat16" if native_bfloat16(device) else "float32"
