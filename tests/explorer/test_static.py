"""The pages' static code (scripts/cellscape/explorer/static/), read as text."""
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "scripts" / "cellscape" / "explorer" / "static"


def test_every_function_of_common_js_is_called_from_a_page_script():
    common = (STATIC / "common.js").read_text()
    others = "\n".join(p.read_text() for p in STATIC.glob("*.js") if p.name != "common.js")
    # declarations (function name(...)) and object methods (name(...) {)
    functions = [a or b for a, b in re.findall(r"\bfunction (\w+)\s*\(|^\s+(\w+)\([^)]*\)\s*\{", common, re.M)]
    assert functions, "common.js declares no function"
    unused = [name for name in functions if not re.search(rf"\bcommon\.{name}\b", others)]
    assert unused == [], f"common.js functions no page script calls: {unused}"


def test_every_script_a_page_loads_is_a_static_file_or_a_data_file():
    for page in ("index.html", "gallery.html"):
        sources = re.findall(r'<script src="([^"]+)"', (STATIC / page).read_text())
        assert sources[0] == "common.js", page  # it creates the namespace the others hang off
        missing = [s for s in sources if not (STATIC / s).exists() and not s.startswith("data_")]
        assert missing == [], (page, missing)
