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
    groups = {g: deployment.group_members(g) for g in deployment.groups}
    names = {g: group.name for g, group in deployment.groups.items()}
    out = {}
    for key, make in BOARDS.items():
        encoded = json.dumps(make(groups, names).build(), cls=JSONEncoder, ensure_ascii=False, sort_keys=True)
        out[UIDS[key]] = json.loads(encoded)
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
