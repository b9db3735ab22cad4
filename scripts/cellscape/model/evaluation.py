"""Predictions for every image and the test-set metrics."""
import numpy as np
import torch


@torch.no_grad()
def predict_proba(model, images, device, batch_size=256):
    """Class probabilities (n, n_classes) for an (n, C, H, W) array or memmap, in batches."""
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        xb = torch.from_numpy(np.asarray(images[start:start + batch_size], dtype=np.float32)).to(device)
        out.append(torch.softmax(model(xb), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def predictions_table(index, proba, classes):
    """One row per image: true and predicted class, certainty (max probability), probabilities."""
    predicted = proba.argmax(axis=1)
    table = index[["row", "id", "split", "class", "label"]].copy()
    table["predicted"] = np.asarray(classes)[predicted]
    table["predicted_label"] = predicted
    table["certainty"] = proba.max(axis=1)
    for k, cls in enumerate(classes):
        table[f"p_{cls}"] = proba[:, k]
    return table


def test_metrics(predictions, classes, n_parameters, evaluated="test"):
    """Test-split accuracy, per-class accuracy (recall) and balanced accuracy: the mean of the
    per-class accuracies of the classes the test split holds, so a rare class that the network
    misses counts as much as a common one (accuracy alone hides it). ``evaluated`` "all": every
    cell (a network trained on other data has seen none of them)."""
    test = predictions if evaluated == "all" else predictions[predictions["split"] == "test"]
    n = len(classes)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (test["label"].to_numpy(), test["predicted_label"].to_numpy()), 1)
    per_class = {cls: float(confusion[k, k] / max(1, confusion[k].sum())) for k, cls in enumerate(classes)}
    present = [per_class[cls] for k, cls in enumerate(classes) if confusion[k].sum()]
    return {"test_accuracy": float(np.trace(confusion) / max(1, confusion.sum())),
            "per_class_accuracy": per_class, "balanced_accuracy": float(np.mean(present)) if present else 0.0,
            "confusion": confusion.tolist(), "classes": list(classes), "n_test": int(len(test)),
            "n_parameters": int(n_parameters)}
