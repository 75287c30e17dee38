"""Dependencies point one way: asr → qc.domain; qc, asr ← callqc ← flows (docs/architecture.md).

`qc/` and `asr/` are the domain: they take paths, bytes, data frames and settings values as parameters and
never import the application (`callqc/`) or the orchestration (`flows/`); no two top-level packages import
each other. Every import counts, including those inside functions.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from conftest import REPO_ROOT

PACKAGES = ("asr", "qc", "callqc", "flows")
# what each package may import; asr uses only qc.domain (the one domain-types module) of qc
ALLOWED = {"asr": {"qc"}, "qc": set(), "callqc": {"asr", "qc"}, "flows": {"asr", "qc", "callqc"}}


def imports_by_file() -> dict[Path, set[str]]:
    """Every module each of our files imports (absolute names), whether at the top or inside a function."""
    found: dict[Path, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module)
            found[path.relative_to(REPO_ROOT)] = names
    return found


def test_the_domain_never_imports_the_app_and_no_two_packages_import_each_other():
    wrong: list[str] = []
    edges: dict[str, set[str]] = defaultdict(set)
    for path, names in imports_by_file().items():
        own = path.parts[0]
        for name in names:
            target = name.split(".")[0]
            if target in PACKAGES and target != own:
                edges[own].add(target)
                if target not in ALLOWED[own]:
                    wrong.append(f"{path} imports {name}")
                elif own == "asr" and name != "qc.domain":
                    wrong.append(f"{path} imports {name} (asr may use qc.domain only)")
    assert not wrong, "imports against the direction of dependencies:\n" + "\n".join(sorted(wrong))
    cycles = sorted(f"{a} ⇄ {b}" for a in edges for b in edges[a] if a in edges.get(b, set()) and a < b)
    assert not cycles, cycles


def test_the_check_sees_imports_inside_functions(tmp_path):
    """The walk above must catch a function-level import too (the usual way a layer leak hides)."""
    source = "def f():\n    from callqc.settings import load_settings\n    return load_settings\n"
    names = {n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
    assert names == {"callqc.settings"}
