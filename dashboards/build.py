"""Encode the dashboards of a deployment to JSON files, one per dashboard, named by uid."""

from __future__ import annotations

import json
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards.boards import BOARDS
from dashboards.common import UIDS

GENERATED = Path(__file__).parent / "generated"


def dashboards(deployment) -> dict[str, dict]:
    """uid → dashboard JSON (as plain objects) for a deployment."""
    # Only the peer groups some target covers: a group without targets would be an empty matrix.
    covered = {r.unit for r in rule_units(deployment)}
    groups = {g: members for g in deployment.groups if (members := deployment.group_members(g)) and covered & set(members)}
    names = {g: deployment.groups[g].name for g in groups}
    out = {}
    for key, make in BOARDS.items():
        encoded = json.dumps(make(groups, names).build(), cls=JSONEncoder, ensure_ascii=False, sort_keys=True)
        out[UIDS[key]] = json.loads(encoded)
    return out


def rule_units(deployment) -> list:
    """(rule, unit) pairs of every rule's own units (or its group's members when it names none)."""
    from collections import namedtuple

    from rules import load_rules

    Pair = namedtuple("Pair", "rule unit")
    if not (deployment.root / "rules").is_dir():
        return []
    out = []
    for doc in load_rules(deployment.root, deployment).docs:
        spec = doc.doc.spec
        units = list(getattr(spec, "units", None) or []) or (deployment.group_members(spec.group) if getattr(spec, "group", None) else [])
        out += [Pair(doc.id, u) for u in units]
    return out


def render(board: dict) -> str:
    """The exact text committed for a dashboard: sorted keys, two-space indent, Chinese kept readable."""
    return json.dumps(board, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def build(deployment, out_dir: str | Path | None = None) -> list[Path]:
    """Write every dashboard to ``out_dir`` (default ``dashboards/generated``); the paths written."""
    target = Path(out_dir) if out_dir else GENERATED
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for uid, board in dashboards(deployment).items():
        path = target / f"{uid}.json"
        path.write_text(render(board), encoding="utf-8")
        written.append(path)
    return written
