"""The services are listed in one place, `services/runtime/registry.py`: a list of them written
anywhere else in code (a tuple of names, a dict keyed by them, "intake|indicator") would miss
the next service added there. Code reads `registry.SERVICES` or `registry.NAMES` instead.
One name used for behaviour (`stack.kill("intake")`) is fine, and so is prose in docstrings."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from services.runtime.registry import NAMES

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("services", "contracts", "bench", "dashboards", "tests")
REGISTRY = ROOT / "services" / "runtime" / "registry.py"
_NAME = "|".join(map(re.escape, NAMES))
LISTED_IN_A_STRING = re.compile(
    rf"\b(?:{_NAME})\b(?:\s*(?:[|,/&+]|\band\b|\bor\b)\s*(?:{_NAME})\b)+"
)
"""Two names or more in a row: `intake|indicator`, `intake, indicator and alerting`."""


def documentation(tree: ast.AST) -> set[int]:
    """The strings that stand as statements: docstrings of modules, classes, functions and
    attributes (prose, not code)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def listed(elements: list[ast.expr | None]) -> set[str]:
    """The service names among the elements, or the first items of pairs among them
    (`(("intake", client), ("indicator", client))`)."""
    heads = (e.elts[0] if isinstance(e, ast.Tuple | ast.List) and e.elts else e for e in elements)
    return {e.value for e in heads if isinstance(e, ast.Constant) and e.value in NAMES}


def service_lists(source: str) -> Iterator[str]:
    tree = ast.parse(source)
    prose = documentation(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
            elements = node.keys if isinstance(node, ast.Dict) else node.elts
            names = listed(list(elements))
            if len(names) >= 2:
                yield f"line {node.lineno}: a collection of {sorted(names)}"
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
        ):
            for match in LISTED_IN_A_STRING.finditer(node.value):
                yield f"line {node.lineno}: a string listing {match.group(0)!r}"


def sources() -> list[Path]:
    return [
        path
        for top in SCANNED
        for path in sorted((ROOT / top).rglob("*.py"))
        if path != REGISTRY and ".venv" not in path.parts
    ]


def test_no_list_of_services_is_written_outside_the_registry() -> None:
    scanned = sources()
    assert len(scanned) > 100 and REGISTRY not in scanned
    found = [
        f"{path.relative_to(ROOT)} {where}"
        for path in scanned
        for where in service_lists(path.read_text(encoding="utf-8"))
    ]
    assert not found, "lists of services; read the registry instead:\n" + "\n".join(found)


def test_the_scan_finds_lists_of_services_and_lets_single_names_be() -> None:
    one, two, *_ = NAMES
    example = f"""
SERVICES = ("{one}", "{two}")
PORTS = {{"{one}": 8001, "{two}": 8002}}
PAIRS = [("{one}", 1), ("{two}", 2)]
JOB = 'job=~"{one}|{two}"'
stack.kill("{one}")
by_one = {{"{one}": 1}}
"""
    found = [line.split(":")[0] for line in service_lists(example)]
    assert found == ["line 2", "line 3", "line 4", "line 5"]
