"""The discovery package stands on data, features and models only: benchmarks and experiments
(simulator, training) live in :mod:`skyfm.benchmarks`."""

from __future__ import annotations

import ast
from pathlib import Path

import skyfm.discover

FORBIDDEN = ("skyfm.sim", "skyfm.train", "skyfm.benchmarks")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def test_discover_imports_neither_sim_nor_train():
    pkg = Path(skyfm.discover.__file__).parent
    bad = {f"{p.name}: {name}" for p in pkg.glob("*.py") for name in _imports(p)
           if name.startswith(FORBIDDEN) or name in ("skyfm.sim", "skyfm.train")}
    assert not bad, f"skyfm.discover imports experiment code: {sorted(bad)}"


def test_the_check_sees_a_forbidden_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def g():\n    from skyfm.sim import simulate_lightcurves\n")
    assert any(n.startswith(FORBIDDEN) for n in _imports(f))
