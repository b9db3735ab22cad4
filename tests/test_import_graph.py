"""The package's modules import each other without a circle: every module can be read, tested and
changed from the modules it imports down. The imports are read from the source text (``ast``,
imports inside functions included: a deferred import is still a dependency), not by importing."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "scripts" / "cellscape"


def module_names(root):
    """{dotted module name: file} of every module under the package directory ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported(name, path, known):
    """The modules of ``known`` that module ``name`` (file ``path``) imports anywhere in its text."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            # ``from pkg import sub`` imports the submodule ``pkg.sub``; ``from mod import name`` the module
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                       for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in known and target != name)
    return found


def import_graph(root):
    known = module_names(root)
    return {name: imported(name, path, known) for name, path in known.items()}


def find_cycle(graph):
    """One import circle of ``graph`` ({module: imported modules}) as [a, b, ..., a], or None:
    a depth-first search that meets a module still on its path has closed a circle."""
    on_path, done = [], set()

    def visit(node):
        on_path.append(node)
        for neighbour in sorted(graph.get(node, ())):
            if neighbour in on_path:
                return on_path[on_path.index(neighbour):] + [neighbour]
            if neighbour not in done:
                cycle = visit(neighbour)
                if cycle:
                    return cycle
        on_path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def write_package(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_check_finds_a_circle_closed_by_a_deferred_relative_import(tmp_path):
    write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/model/__init__.py": "",
        "pkg/model/network.py": "import torch\nfrom .architecture import flat\n\ndef load():\n    from .loading import x\n",
        "pkg/model/loading.py": "from ..model import network\n",
        "pkg/model/architecture.py": "import json\n",
        "pkg/runtime/__init__.py": "from . import io\n",
        "pkg/runtime/io.py": "from pkg.model.architecture import flat\n",
    })
    graph = import_graph(tmp_path / "pkg")
    assert graph["pkg.model.network"] == {"pkg.model.architecture", "pkg.model.loading"}
    assert graph["pkg.model.loading"] == {"pkg.model.network"}
    assert graph["pkg.runtime"] == {"pkg.runtime.io"} and graph["pkg.runtime.io"] == {"pkg.model.architecture"}
    assert find_cycle(graph) == ["pkg.model.loading", "pkg.model.network", "pkg.model.loading"]
    (tmp_path / "pkg/model/loading.py").write_text("from .architecture import flat\n")
    assert find_cycle(import_graph(tmp_path / "pkg")) is None


def test_the_search_finds_a_long_circle_and_passes_a_diamond():
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"d"}, "d": {"b"}}) == ["b", "c", "d", "b"]


def test_the_package_has_no_import_circle():
    graph = import_graph(PACKAGE)
    assert "cellscape.model.loading" in graph and graph["cellscape.model.loading"]  # the graph was read
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def package_graph(graph):
    """The graph between the package's first-level parts (``cellscape.mda``, ``cellscape.trust``):
    {part: the other parts its modules import}."""
    part = lambda module: ".".join(module.split(".")[:2])
    parts = {}
    for module, imports in graph.items():
        parts.setdefault(part(module), set()).update(part(i) for i in imports if part(i) != part(module))
    return parts


def test_the_package_graph_collapses_modules_into_their_stage():
    graph = {"p.a.x": {"p.b.y"}, "p.a.z": {"p.a.x"}, "p.b.y": {"p.c"}, "p.c": set()}
    assert package_graph(graph) == {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": set()}
    assert find_cycle(package_graph({**graph, "p.c": {"p.a.z"}})) == ["p.a", "p.b", "p.c", "p.a"]


def test_no_two_stages_import_each_other():
    """A stage is changed and tested from the stages below it: no circle between the package's
    first-level parts either (module-level acyclicity allows stage A -> B -> A through different
    modules)."""
    parts = package_graph(import_graph(PACKAGE))
    assert "cellscape.mda" in parts and "cellscape.embeddings" in parts
    cycle = find_cycle(parts)
    assert cycle is None, "stage circle: " + " -> ".join(cycle)
    assert not parts["cellscape.runtime"] & {"cellscape.data", "cellscape.model"}


def test_the_model_stage_has_one_entrance():
    """Rule scripts, tools and benchmarks open a trained classifier through ``model.loading``: the
    paper's network module builds the network and loads nothing."""
    graph = import_graph(PACKAGE)
    assert graph["cellscape.model.network"] == {"cellscape.model.architecture"}
    assert {"cellscape.model.adapter", "cellscape.model.sources.train"} <= graph["cellscape.model.loading"]


def test_every_rule_script_imports_names_that_exist():
    """A rule script runs only when its job does: a name it imports from the package that no
    longer exists would fail hours into a run. Checked here without torch-heavy work: each named
    module is imported and each name looked up."""
    import importlib
    scripts = sorted(PACKAGE.parent.glob("*.py"))
    assert len(scripts) > 30
    missing = []
    for script in scripts:
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cellscape"):
                module = importlib.import_module(node.module)
                missing += [f"{script.name}: {node.module}.{a.name}" for a in node.names
                            if not hasattr(module, a.name) and not _is_submodule(node.module, a.name)]
    assert not missing, missing


def _is_submodule(package, name):
    import importlib
    import importlib.util
    if not hasattr(importlib.import_module(package), "__path__"):  # a module, not a package
        return False
    return importlib.util.find_spec(f"{package}.{name}") is not None
