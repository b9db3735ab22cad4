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
