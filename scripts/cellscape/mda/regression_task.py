"""The MDA stage's training task: the classifier's network with one output, regressing a
per-cell measurement (``cellscape.mda.target``) with the shared loop of ``cellscape.model.training``."""
import numpy as np
import torch
from torch import nn


def target_scaling(index, column="target"):
    """(mean, std) of ``index[column]`` over the training split: the z-score the net learns.

    Standardising keeps the MSE and the learning rate on the scale the classifier was tuned
    for, whatever the target's units; predictions are mapped back with the same two numbers.
    """
    values = index.loc[index["split"] == "train", column].to_numpy(dtype=np.float64)
    if len(values) == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"training split of column {column!r} is empty or has missing values")
    std = float(values.std())
    return float(values.mean()), std if std > 0 else 1.0


class RegressionTask:
    """A continuous target (``index[column]``), z-scored from the training split; MSE loss.

    No class weights. The history reports RMSE (in the target's own units) and R^2.
    """

    name = "regression"
    n_outputs = 1

    def __init__(self, index, column="target"):
        self.column = column
        self.mean, self.std = target_scaling(index, column)

    def targets(self, index, split):
        values = index.loc[index["split"] == split, self.column].to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"split {split!r} of column {self.column!r} has missing values")
        return torch.from_numpy(((values - self.mean) / self.std).astype(np.float32))[:, None]

    def loss_fn(self, y_train, device):
        return nn.MSELoss()

    def fingerprint(self):
        return [self.name, self.column, round(self.mean, 12), round(self.std, 12)]

    @staticmethod
    def prepare(model):
        """Zero the output layer, so training starts from predicting the mean (loss 1).

        He-initialised, the 12-layer net without batch normalisation starts with outputs of
        several standard deviations; MSE gradients grow with the error (cross-entropy's are
        bounded), and the first SGD steps then kill the ReLUs. On the default data the net
        without this collapsed to predicting the mean (validation R^2 ~ 0 after 3-4 epochs at
        lr 0.003 and 0.001); with it, lr 0.001 reached validation R^2 0.84 in 3 epochs (lr 0.003
        stayed unstable, hence the regression's own lr in the config).
        """
        with torch.no_grad():
            for module in model.layer(model.layer_names[-1]).modules():
                if isinstance(module, nn.Linear):
                    module.weight.zero_()
                    module.bias.zero_()

    @staticmethod
    def batch_sums(outputs, y):
        """Squared error, sum and sum of squares of y (standardised units): enough for RMSE and R^2."""
        y = y.double()
        return np.array([((outputs.double() - y) ** 2).sum().item(), y.sum().item(), (y ** 2).sum().item()])

    def scores(self, sums, n):
        n = max(1, n)
        squared_error, y_sum, y_square_sum = sums
        total = y_square_sum - y_sum ** 2 / n
        return {"rmse": float(np.sqrt(squared_error / n) * self.std),
                "r2": float(1 - squared_error / total) if total > 0 else float("nan")}

    def to_original_units(self, outputs):
        """Network outputs (standardised) -> target units."""
        return np.asarray(outputs, dtype=np.float64).reshape(-1) * self.std + self.mean
