"""The example ledger generator (bench/make_project_ledgers.py), loaded by path: tests compare what the
system derives from the committed workbooks with the figures the generator wrote into them."""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import ROOT

GENERATOR = ROOT / "bench" / "make_project_ledgers.py"


def generator():
    """The generator module (imported once)."""
    if "make_project_ledgers" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_project_ledgers", GENERATOR)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules["make_project_ledgers"]
