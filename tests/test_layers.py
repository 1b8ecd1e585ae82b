"""The package's import graph only points downward through the layers of the architecture."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cargohold"

# Lower number = lower layer; a module may import only from its own layer or below.
LAYERS: dict[str, int] = {
    "cargohold.errors": 0,
    "cargohold.reference": 0,
    "cargohold.manifest": 0,
    "cargohold.metrics": 0,
    "cargohold.config": 0,
    "cargohold.logging": 0,
    "cargohold.tracing": 0,
    "cargohold.storage.driver": 1,
    "cargohold.storage": 2,
    "cargohold.auth": 3,
    "cargohold.notify": 3,
    "cargohold.proxy": 3,
    "cargohold.gc": 3,
    "cargohold.api": 4,
    "cargohold.cli": 5,
}


def layer_of(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, layer)
    return None if best is None else best[1]


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__")
        out.append((name, path))
    return out


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "cargohold":  # `from cargohold import errors`
                found.update(f"cargohold.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return {m for m in found if m.startswith("cargohold")}


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda v: str(v))
def test_imports_point_downward(module: str, path: Path) -> None:
    if module.startswith(("cargohold.testing", "cargohold.client")) or module == "cargohold":
        return
    own = layer_of(module)
    assert own is not None, f"{module} belongs to no layer; add it to LAYERS"
    for target in imports(path):
        target_layer = layer_of(target)
        assert target_layer is not None, f"{module} imports {target}, which has no layer"
        assert target_layer <= own, (
            f"{module} (layer {own}) imports {target} (layer {target_layer})"
        )


def test_client_never_imports_server_code() -> None:
    for module, path in modules():
        if module.startswith("cargohold.client"):
            server = {t for t in imports(path) if not t.startswith("cargohold.client")}
            assert server <= {"cargohold.reference", "cargohold.manifest"}, (module, server)
