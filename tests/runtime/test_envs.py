"""The conda environment used with --sdm conda pins the same versions as requirements.txt."""
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def pins_from_requirements():
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def pins_from_env(path):
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for item in dep["pip"]:
                name, version = item.split("==")
                pins[name.lower()] = version
        elif "=" in dep:
            name, version = re.split(r"=+", dep, maxsplit=1)
            pins[name.lower()] = version
    pins.pop("python", None)
    return pins


def test_conda_env_pins_match_requirements():
    assert pins_from_env(REPO / "envs" / "cellscape.yaml") == pins_from_requirements()


def test_every_rule_names_the_conda_env():
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        rules = len(re.findall(r"^rule \w+:", text, flags=re.M))
        assert text.count('conda:\n        "../envs/cellscape.yaml"') == rules, smk.name
