"""Every command line the README prints in a shell block runs as printed: Snakemake and make lines
as dry runs (-n: nothing is computed), the rest by the tests named beside them."""
import re
import shlex
import subprocess

import pytest

from support.workflow import REPO

#: printed lines another test runs as printed (test file), or that are placeholders for the user's file
ELSEWHERE = {
    "make test": "the suite itself (.ci/run)",
    "make layer LAYER=conv3": "tests/workflow/test_layer_rerun.py",
    "make unlock": "tests/workflow/test_kill_recovery.py",
    ".venv/bin/snakemake --profile profiles/default --configfile configs/mydata.yaml":
        "a placeholder for the user's config; tests/data/test_readme_one_folder.py runs its example",
    ".venv/bin/snakemake --cores 2 --configfile configs/pbc.yaml configs/pbc_three_channels.yaml":
        "tests/workflow/test_channels_readme.py (needs the PBC images)",
    ".venv/bin/snakemake --cores 8 --configfile configs/four_channels.yaml": "tests/workflow/test_channels_readme.py",
}


def shell_lines():
    text = (REPO / "README.md").read_text()
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            command = line.split("#")[0].strip()
            if command:
                lines.append(command)
    return lines


def test_the_readme_prints_its_two_commands_first():
    assert shell_lines()[:2] == ["make run", "make test"]


@pytest.mark.parametrize("command", [c for c in dict.fromkeys(shell_lines()) if c not in ELSEWHERE])
def test_each_printed_command_plans(command):
    words = shlex.split(command)
    if words[0] == "make":
        args = words + ["ARGS=-n --quiet rules"]
    else:
        assert words[0] == ".venv/bin/snakemake", command
        args = words + ["-n", "--quiet", "rules"]
    r = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (command, (r.stdout + r.stderr)[-3000:])


def test_every_other_printed_command_is_run_by_a_named_test():
    printed = set(shell_lines())
    for command, where in ELSEWHERE.items():
        assert command in printed, f"ELSEWHERE names a line the README no longer prints: {command}"
        path = where.split(" ")[0]
        if path.startswith("tests/"):
            assert (REPO / path).exists(), where
