"""Offline validation of generated dashboards: ``tsc`` against the npm ``@grafana/grafana-foundation-sdk`` types.

No JSON Schema for Grafana dashboards exists; the TypeScript types of the SDK are the closest thing.
Each dashboard becomes ``export const d: Dashboard = <json>;`` in a ``.ts`` file inside ``dashboards/tsc``
(so that its ``node_modules`` resolve). Panel ``targets`` and annotation ``target`` entries are cast
``as any``: their ``Dataquery`` type is an opaque marker interface.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

TSC_DIR = Path(__file__).parent / "tsc"

# The SDK types its enums (DashboardLinkType, VariableType …) as TypeScript string enums, which a JSON
# string literal cannot be assigned to. AsJSON<T> turns every string enum into the union of its values
# (`${E}`) and leaves everything else as strict as before: wrong types, unknown keys and values outside
# an enum still fail.
PRELUDE = """import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";

type AsJSON<T> = T extends string ? `${T}`
  : T extends (infer U)[] ? AsJSON<U>[]
  : T extends object ? { [K in keyof T]: AsJSON<T[K]> }
  : T;

"""


def typescript_source(board: dict) -> str:
    """A TypeScript module that declares ``board`` as a ``Dashboard``."""
    casts: list[str] = []

    def opaque(value) -> str:
        casts.append(json.dumps(value, ensure_ascii=False))
        return f"__OPAQUE_{len(casts) - 1}__"

    def walk(panels: list) -> None:
        for panel in panels:
            if panel.get("targets"):
                panel["targets"] = [opaque(t) for t in panel["targets"]]
            walk(panel.get("panels", []))

    board = json.loads(json.dumps(board))
    walk(board.get("panels", []))
    for annotation in board.get("annotations", {}).get("list", []):
        if "target" in annotation:
            annotation["target"] = opaque(annotation["target"])
    text = json.dumps(board, ensure_ascii=False, indent=2)
    for i, cast in enumerate(casts):
        text = text.replace(f'"__OPAQUE_{i}__"', f"({cast} as any)")
    return PRELUDE + "export const dashboard: AsJSON<Dashboard> = " + text + ";\n"


def typecheck(boards: dict[str, dict], tsc_dir: Path = TSC_DIR) -> subprocess.CompletedProcess:
    """Run ``tsc --noEmit --strict`` over every dashboard; the finished process (rc 0 = all valid)."""
    with tempfile.TemporaryDirectory(dir=tsc_dir, prefix="check-") as tmp:
        files = []
        for uid, board in boards.items():
            path = Path(tmp) / f"{uid}.ts"
            path.write_text(typescript_source(board), encoding="utf-8")
            files.append(str(path))
        return subprocess.run(
            [str(tsc_dir / "node_modules" / ".bin" / "tsc"), "--noEmit", "--strict", "--module", "nodenext",
             "--moduleResolution", "nodenext", "--skipLibCheck", *files],
            capture_output=True, text=True, timeout=300,
        )
