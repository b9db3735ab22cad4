"""One plan per configuration: the channels resolved once, the runtime helpers below every stage."""
import ast
import json
import os
import subprocess
import sys

from support.workflow import REPO

COUNT_CHANNEL_RESOLUTIONS = """
import json, sys
import cellscape.data.channels as channels
calls = []
original = channels.resolve_channels
def counted(*args, **kwargs):
    calls.append(1)
    return original(*args, **kwargs)
channels.resolve_channels = counted  # before any module binds the name
from cellscape.plan.dag import planned_jobs
jobs = planned_jobs(sys.argv[1], sys.argv[2:])
print(json.dumps({"calls": len(calls), "jobs": len(jobs)}))
"""


def test_a_planning_resolves_the_channels_once(tmp_path):
    for configs in ([REPO / "config.yaml"],
                    [REPO / "configs" / "four_channels.yaml"]):
        run = subprocess.run([sys.executable, "-c", COUNT_CHANNEL_RESOLUTIONS, str(tmp_path), *map(str, configs)],
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONPATH": str(REPO / "scripts")})
        assert run.returncode == 0, run.stderr[-3000:]
        counted = json.loads(run.stdout.strip().splitlines()[-1])
        assert counted["jobs"] > 50, counted  # the whole DAG was planned
        assert counted["calls"] == 1, (configs, counted)


def imported_packages(path):
    """The cellscape packages a module imports (absolute or relative)."""
    names = set()
    package = path.relative_to(REPO / "scripts").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = list(base) + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            if target[0] == "cellscape" and len(target) > 1:
                names.add(target[1])
        elif isinstance(node, ast.Import):
            names |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("cellscape.")}
    return names


def test_the_runtime_helpers_import_no_stage_package():
    modules = sorted((REPO / "scripts" / "cellscape" / "runtime").glob("*.py"))
    assert modules
    for module in modules:
        assert imported_packages(module) <= {"runtime"}, module


def test_the_import_reader_sees_relative_and_absolute_imports(tmp_path):
    probe = REPO / "scripts" / "cellscape" / "plan" / "build.py"
    assert {"data", "model"} <= imported_packages(probe)


def test_a_source_that_cannot_work_stops_planning_naming_the_setting():
    import pytest

    from cellscape.plan.errors import PlanError
    from cellscape.plan.source import source_plan
    from support.config import validated_config
    config = validated_config({"classes": ["lymphocyte", "platelet"]})
    with pytest.raises(PlanError, match=r"config classes .*platelet.*the simulator makes only"):
        source_plan(config, config["data"]["channels"])
    config = validated_config({"data": {"source": "directory"}})
    with pytest.raises(PlanError, match="config data.directory: required"):
        source_plan(config, config["data"]["channels"])
    config = validated_config({"simulator": {"events": 10, "chunks": 3}})
    assert source_plan(config, config["data"]["channels"]).chunks == ["000", "001", "002"]
