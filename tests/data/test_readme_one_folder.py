"""The README's one-folder export as printed: classes from the file-name prefix (any case, an
abbreviation mapped), image_size auto from the frames, run through the workflow's ingest rule."""
import json
import re

import numpy as np
import pandas as pd
import yaml

from support.export60x import fabricate
from support.workflow import REPO, plan, snakemake
from cellscape.data.simulate import write_event_tiffs


def readme_config():
    text = (REPO / "README.md").read_text()
    block = re.search(r"```yaml\n(# configs/airway\.yaml\n.*?)```", text, re.S).group(1)
    return yaml.safe_load(block)


def write_one_folder(root, config, per_class=10):
    """``Ciliated_<n>``, ``secretory_<n>`` and, for a few, the abbreviations ``CIL_<n>``/``Sec_<n>``;
    a stray ``Beads_1`` without a class. Returns {class: object numbers}."""
    tokens = [config["data"]["channel_files"][name] for name in ("cytoplasm", "nucleus")]
    root.mkdir(parents=True)
    names = {"ciliated": ("Ciliated", "CIL"), "secretory": ("secretory", "Sec")}
    written = {}
    for k, (cls, cell_type) in enumerate((("ciliated", "neutrophil"), ("secretory", "lymphocyte"))):
        rng = np.random.default_rng([9, k])
        written[cls] = list(range(per_class))
        for i in written[cls]:
            image, _ = fabricate(rng, cell_type)
            write_event_tiffs(root, f"{names[cls][i % 4 == 3]}_{100 + i}", image, 0.18, channels=tokens)
    image, _ = fabricate(np.random.default_rng(1), "lymphocyte")
    write_event_tiffs(root, "Beads_1", image, 0.18, channels=tokens)
    return written


def test_readme_one_folder_config_labels_by_file_name_prefix(tmp_path):
    config = readme_config()
    written = write_one_folder(tmp_path / "export", config)
    config["data"]["directory"] = str(tmp_path / "export")  # the only change: where this test's export is
    (tmp_path / "airway.yaml").write_text(yaml.safe_dump(config))
    target = f"{config['results']}/data/index.csv"
    r = snakemake(tmp_path, target, "--cores", "2", "--configfile", str(tmp_path / "airway.yaml"), timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    chosen = re.search(r"image_size auto: (\d+) px", r.stderr)
    assert chosen, r.stderr[-2000:]
    data = tmp_path / config["results"] / "data"
    images = np.load(data / "images.npy", mmap_mode="r")
    assert images.shape[2] == int(chosen.group(1))
    qc = pd.read_csv(data / "qc.csv")
    labelled = qc[qc["problem"] != "no label"]
    assert sorted(labelled["id"]) == sorted(f"{cls}/{100 + i}" for cls, objs in written.items() for i in objs)
    assert list(qc.loc[qc["problem"] == "no label", "object"]) == ["Beads_1"]
    index = pd.read_csv(tmp_path / target)
    assert index.groupby("class").size().min() >= 8
    summary = json.loads((data / "qc_summary.json").read_text())
    assert summary["image_size"] == images.shape[2] and summary["unlabelled"] == 1
    assert "1 objects have no class" in r.stderr  # said again at the end of the run
    assert pd.read_csv(tmp_path / config["results"] / "logs" / "ingest_qc.csv").equals(qc)
    assert plan(tmp_path, tmp_path / "airway.yaml", targets=[target]) == []  # nothing left to do


def test_a_stopped_ingestion_keeps_its_qc_csv_beside_the_log(tmp_path):
    config = readme_config()
    write_one_folder(tmp_path / "export", config, per_class=4)
    config["data"]["directory"] = str(tmp_path / "export")
    config["qc"] = {"area_bounds": "pixels"}  # 250-1,400 px: every 60x cell is larger
    (tmp_path / "airway.yaml").write_text(yaml.safe_dump(config))
    target = f"{config['results']}/data/index.csv"
    r = snakemake(tmp_path, target, "--cores", "1", "--configfile", str(tmp_path / "airway.yaml"), timeout=600)
    assert r.returncode != 0
    kept = tmp_path / config["results"] / "logs" / "ingest_qc.csv"
    qc = pd.read_csv(kept)
    assert len(qc) == 9 and (qc["problem"] == "cell area out of range").sum() >= 6
    assert "fewer than 3 cells" in (tmp_path / config["results"] / "logs" / "ingest.log").read_text()
    assert str(kept.relative_to(tmp_path)) in r.stdout + r.stderr + kept.with_name("ingest.log").read_text()
    assert not (tmp_path / config["results"] / "data" / "qc.csv").exists()  # removed with the failed job
