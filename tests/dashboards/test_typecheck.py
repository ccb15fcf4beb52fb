"""Every generated dashboard type-checks with tsc against the npm @grafana/grafana-foundation-sdk types."""

from __future__ import annotations

import copy
import json
import subprocess

import pytest

from dashboards.build import GENERATED
from dashboards.typecheck import TSC_DIR, typecheck
from tests.conftest import require_binary


@pytest.fixture(scope="module")
def tsc_ready():
    """``dashboards/tsc/node_modules`` from the committed lock file (``npm ci``, pinned versions)."""
    if not (TSC_DIR / "node_modules" / ".bin" / "tsc").exists():
        npm = require_binary("npm")
        subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=TSC_DIR, check=True, timeout=300)
    require_binary("node")


def committed() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(GENERATED.glob("*.json"))}


def test_every_committed_dashboard_type_checks(tsc_ready):
    boards = committed()
    assert len(boards) == 7
    result = typecheck(boards)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda b: b["panels"][1].__setitem__("gridPos", {**b["panels"][1]["gridPos"], "h": "8"}),
         "Type 'string' is not assignable to type 'number'"),
        (lambda b: b["panels"][1].__setitem__("titel", "x"), "'\"titel\"' does not exist in type"),
        (lambda b: b["links"][0].__setitem__("type", "bookmarks"), '"bookmarks"\' is not assignable to type \'"link" | "dashboards"\''),
        (lambda b: b["templating"]["list"][1].__setitem__("refresh", 7), "Type '7' is not assignable"),
    ],
    ids=["a string panel height fails", "a misspelt panel key fails", "a link type outside the enum fails",
         "a variable refresh outside the enum fails"],
)
def test_a_broken_dashboard_fails_the_check(tsc_ready, breakage, message):
    board = copy.deepcopy(committed()["tw-overview"])
    breakage(board)
    result = typecheck({"broken": board})
    assert result.returncode == 2
    assert message in result.stdout, result.stdout
