"""Does the PBC acquisition batch (50 cells per class at 366x369 px, bluish background) lift
the test accuracy? Reads a finished PBC run's predictions, finds each test cell's batch from
its source image's size, and prints the accuracy on the main batch and on the other one.

    .venv/bin/python tools/pbc_batch_effect.py [results/pbc]

The batch has 50 cells of each class (the main set is 27% lymphocytes), so a network that
recognised the batch could only gain on it by guessing its 50:50 class balance; the test
accuracy without the batch is the figure to quote.
"""
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from cellscape.runtime.tables import join_on_id, read_cell_table  # noqa: E402

results = Path(sys.argv[1] if len(sys.argv) > 1 else "results/pbc")
index = read_cell_table(results / "data" / "index.csv")
predictions = read_cell_table(results / "model" / "predictions.csv")
kept = index.assign(batch=["other (366x369)" if Image.open(path).size == (366, 369) else "main (360x363)"
                           for path in index["source"]])
test = join_on_id(predictions[predictions["split"] == "test"], kept[["id", "batch"]], "test predictions",
                  "data/index.csv", how="covers")
test["correct"] = test["class"] == test["predicted"]
print("cells kept by QC, by batch and class:")
print(kept.groupby(["batch", "class"]).size().unstack(fill_value=0).to_string())
print("\ntest accuracy by batch:")
summary = test.groupby(["batch", "class"])["correct"].agg(["mean", "size"]).rename(
    columns={"mean": "accuracy", "size": "n"})
print(summary.to_string(float_format=lambda v: f"{v:.4f}"))
overall, main = test["correct"].mean(), test.loc[test["batch"].str.startswith("main"), "correct"].mean()
print(f"\ntest accuracy, all cells: {overall:.4f} (n={len(test)}); main batch only: {main:.4f} "
      f"(n={int(test['batch'].str.startswith('main').sum())})")
