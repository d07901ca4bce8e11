"""The packages stay in layers, each module stays small, each Docker image carries what it imports.

    observability  <-  sdr  <-  whatsapp, crm, meetings  <-  connectors, actions, review, components

A package imports only the packages below it (never one beside or above it), the lowest
never import Rasa or Sanic, and whatsapp/, crm/ and meetings/ work without Rasa (a channel sits on a
client package usable on its own, as Rasa's own channels do).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Dict, Iterator, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED: Dict[str, Set[str]] = {
    "observability": set(),
    "sdr": {"observability"},
    "whatsapp": {"observability", "sdr"},
    "crm": {"observability", "sdr"},
    "meetings": {"observability", "sdr"},
    "connectors": {"observability", "sdr", "whatsapp", "crm", "meetings"},
    "actions": {"observability", "sdr", "whatsapp", "crm", "meetings"},
    "review": {"observability", "sdr", "whatsapp", "crm", "meetings"},
    "components": {"observability", "sdr"},
}
NO_FRAMEWORK = {"observability", "sdr", "whatsapp", "crm", "meetings"}
FRAMEWORKS = {"rasa", "rasa_sdk", "sanic", "sanic_cors"}
MAX_MODULE_LINES = 600


def modules(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def imported_top_levels(path: Path) -> Iterator[Tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    ours = set(ALLOWED)
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules(package)
        for line, name in imported_top_levels(path)
        if name in ours and name != package and name not in ALLOWED[package]
        or package in NO_FRAMEWORK and name in FRAMEWORKS
    ]
    assert wrong == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_modules_stay_small(package: str) -> None:
    large = {str(p.relative_to(ROOT)): n for p in modules(package)
             if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert large == {}


def needed(packages: Set[str]) -> Set[str]:
    """Our packages that ``packages`` import, transitively, themselves included."""
    seen: Set[str] = set()
    todo = list(packages)
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        todo.extend(name for path in modules(package) for _, name in imported_top_levels(path)
                    if name in ALLOWED and name not in seen)
    return seen


def copied(stage: str) -> Set[str]:
    """Our packages a Dockerfile stage COPYs (its `FROM … AS <stage>` block); data aside."""
    text = (ROOT / "Dockerfile").read_text()
    block = re.search(rf"^FROM \S+ AS {stage}\n(.*?)(?=^FROM |\Z)", text, re.M | re.S)
    assert block, stage
    return set(re.findall(r"^COPY (\w+) \./\1$", block.group(1), re.M)) & set(ALLOWED)


@pytest.mark.parametrize("stage, entry", [
    ("train", {"components"}),
    ("rasa", {"connectors", "components", "review"}),
    ("actions", {"actions"}),
])
def test_each_image_copies_exactly_what_its_process_imports(stage: str, entry: Set[str]) -> None:
    assert copied(stage) == needed(entry)
