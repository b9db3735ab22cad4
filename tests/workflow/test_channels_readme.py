"""The README's several-channels section as printed: its cell-cycle config ingests a three-channel
export (brightfield, nucleus, darkfield) of three classes, and its two command lines plan."""
import re
import shlex

import numpy as np
import pandas as pd
import pytest
import tifffile
import yaml

from support.workflow import REPO, planned_rules, snakemake
from cellscape.data.simulate import simulate_event

PBC = REPO.parent / "shared" / "data" / "pbc"


def readme_section():
    text = (REPO / "README.md").read_text()
    return text.split("### Several channels", 1)[1].split("\n## ", 1)[0]


def readme_config():
    block = re.search(r"```yaml\n(# configs/cellcycle\.yaml\n.*?)```", readme_section(), re.S).group(1)
    return yaml.safe_load(block)


def readme_commands():
    block = re.search(r"```bash\n(.*?)```", readme_section(), re.S).group(1)
    return [shlex.split(line) for line in block.strip().splitlines()]


def write_export(root, config, per_class=12):
    """Per-channel files named as the config's channels say, three classes (simulated cells;
    the G1/G2/M names are only folder names here)."""
    tokens = [c["file"] for c in config["data"]["channels"]]
    simulated = {"Ch1": "Ch1", "Ch4": "Ch4", "Ch6": "Ch6"}
    for k, cls in enumerate(config["classes"]):
        folder = root / cls
        folder.mkdir(parents=True)
        for i in range(per_class):
            image, _ = simulate_event(np.random.default_rng([k, i]), ("lymphocyte", "neutrophil")[k % 2],
                                      channels=[simulated[t] for t in tokens])
            for token, plane in zip(tokens, image):
                tifffile.imwrite(folder / f"{i}_{token}.ome.tif", plane)


def test_readme_cellcycle_config_ingests_three_named_channels(tmp_path):
    config = readme_config()
    export = tmp_path / "export"
    write_export(export, config)
    config["data"]["directory"] = str(export)  # the only change: where this test's export is
    (tmp_path / "cellcycle.yaml").write_text(yaml.safe_dump(config))
    target = f"{config['results']}/data/index.csv"
    r = snakemake(tmp_path, target, "--cores", "2", "--configfile", str(tmp_path / "cellcycle.yaml"), timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    images = np.load(tmp_path / config["results"] / "data" / "images.npy", mmap_mode="r")
    index = pd.read_csv(tmp_path / target)
    assert images.shape[1] == 3
    assert set(index["class"]) == set(config["classes"])
    assert {f"intensity_{c['name']}" for c in config["data"]["channels"]} <= set(index.columns)


@pytest.mark.parametrize("line", readme_commands(), ids=lambda line: line[-1])
def test_readme_channel_commands_plan(line):
    configs = line[line.index("--configfile") + 1:]
    if any("pbc" in c for c in configs) and not PBC.is_dir():
        pytest.skip(f"{PBC}: the PBC images are not on this machine")
    options = line[1:line.index("--configfile")]  # the printed command: cores and config files only
    assert line[0] == ".venv/bin/snakemake" and (options == [] or len(options) == 2 and options[0] == "--cores"), line
    cores = int(options[1]) if options else 1
    # the plan of everything (forceall): finished results in the repository must not hide it
    jobs = planned_rules(REPO, *configs, forceall=True, cores=cores)
    assert jobs.get("train") == 1 and jobs.get("explorer") == 1, jobs
