"""The target language and its engine: spec → load → check → evaluate → verdicts.

``rules.evaluate(deployment, store, as_of=..., period=...)`` returns the verdict frame
(``rules.verdict.VERDICT_COLUMNS``); ``rules.load_rules`` reads ``config/rules/*.yaml``;
``rules.check`` lists every located diagnostic.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy: importing the spec (for the schema) must not pull in pandas evaluation code.
    if name == "evaluate":
        from rules.evaluate import evaluate

        return evaluate
    if name in ("load_rules", "RuleSet"):
        from rules import load

        return getattr(load, name)
    if name == "check":
        from rules.check import check

        return check
    raise AttributeError(name)
