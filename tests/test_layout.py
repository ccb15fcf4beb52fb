"""The layout the client fixed, and imports that point upstream only."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXED = ["collectors", "rules", "exporters", "dashboards", "config", "docker-compose.yml", "pyproject.toml", "tests", "README.md"]


@pytest.mark.parametrize("name", FIXED)
def test_the_top_level_the_client_fixed_exists(name):
    assert (ROOT / name).exists()


@pytest.mark.parametrize("package", ["targetwatch", "collectors", "rules", "exporters", "dashboards"])
def test_each_package_imports_from_this_repository(package):
    module = importlib.import_module(package)
    assert Path(module.__file__).resolve().parent == ROOT / package


def test_config_is_data_only_and_never_imported():
    assert not list((ROOT / "config").rglob("*.py"))


def test_imports_point_upstream_only():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
