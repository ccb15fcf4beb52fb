"""The target language and its engine: spec → load → check → evaluate → verdicts.

``rules.evaluate(deployment, store, as_of=..., period=...)`` returns the verdict frame
(``rules.verdict.VERDICT_COLUMNS``); ``rules.load_rules`` reads ``config/rules/*.yaml`` (``rules.load_valid_rules`` leaves out files with errors);
``rules.check.check`` lists every located diagnostic; ``rules.verdict.worst_first`` orders verdicts
for leaders.
"""

from __future__ import annotations

from rules.check import load_rules, load_valid_rules
from rules.engine import evaluate
from rules.load import RuleSet

__all__ = ["evaluate", "load_rules", "load_valid_rules", "RuleSet"]
