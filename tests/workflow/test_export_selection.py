"""The README's path from an explorer selection to a gate: its config block and `make run` line,
run on a copy of a finished tiny run, put the saved cells into the FCS and AnnData export."""
import re
import shutil
import subprocess

import anndata
import flowio
import pandas as pd
import pytest
import yaml

from support.workflow import REPO


def readme_gate_example():
    """The README's gate config (YAML block) and its `make run CONFIG=...` command, as printed."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"```yaml\n(# configs/gates\.yaml\n.*?)```", text, re.S).group(1)
    command = re.search(r"`(make run CONFIG=configs/gates\.yaml)`", text).group(1)
    return yaml.safe_load(block), command


@pytest.mark.slow
def test_readme_gate_example_exports_the_saved_selection(tiny_run, tmp_path):
    config, command = readme_gate_example()
    (name, path), = config["export"]["selections"].items()
    work = tmp_path / "run"
    shutil.copytree(tiny_run, work, symlinks=True)
    shown = pd.read_csv(work / "results/tiny/activations/selection.csv", dtype={"id": str})
    chosen = shown[shown["predicted"] != shown["class"]]["id"].tolist() or shown["id"].tolist()[:3]
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": chosen}).to_csv(work / path, index=False)  # what the page's Save button writes
    tiny = yaml.safe_load((REPO / "configs/tiny.yaml").read_text())
    gates = work / "configs" / "gates.yaml"
    gates.parent.mkdir()
    gates.write_text(yaml.safe_dump({**tiny, **config}))
    # the README's line; only the config's location and the run directory are this test's
    line = command.replace("CONFIG=configs/gates.yaml", f"CONFIG={gates}") + f' ARGS="--directory {work}"'
    r = subprocess.run(line, shell=True, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "export" in r.stdout + r.stderr  # the export reran for the new gate
    fcs = flowio.FlowData(str(work / "results/tiny/export/cells.fcs"))
    names = [fcs.text[f"p{k}n"] for k in range(1, fcs.channel_count + 1)]
    events = pd.DataFrame(fcs.as_array(preprocess=False), columns=names)
    obs = anndata.read_h5ad(work / "results/tiny/export/cells.h5ad").obs
    inside = obs.index.isin(chosen)
    assert events[f"selection_{name}"].tolist() == inside.astype(float).tolist()
    assert obs[f"selection_{name}"].to_numpy().tolist() == inside.tolist()
