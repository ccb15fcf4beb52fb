"""The fuzz targets: CSV, xlsx, project ledgers (项目台账), rule YAML, period labels, HTTP (JSON and CSV) and SDMX payloads.

Each target calls the library function its command calls (``ingest``, ``rules.check``, ``collect``,
``periods.parse_label``) in a private copy of the example deployment with a real SQLite store and a real
HTTP server on 127.0.0.1. Ledgers go through ``ingest`` under the deployment's ledger glob
(``config/projects.yaml``), so they reach ``ingest_ledger`` exactly as ``ingest`` and ``run`` send them.
At the end every value the store holds is checked: finite and within its indicator's bounds; and every
amount the project ledger holds (总投资, 年度计划, monthly 到位资金 and 完成投资): finite and not negative.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from tests.fuzz.engine import Mutator, Report, Target, campaign

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
SDMX_SEED = ROOT / "tests" / "collectors" / "data" / "sdmx_wb_wits_tariff.xml"

# Share of the cases per target: the cheap targets get many, the workbook (a child process each) fewer.
WEIGHTS = {"period": 0.26, "csv": 0.24, "rule_yaml": 0.19, "http": 0.09, "sdmx": 0.06, "xlsx": 0.08, "ledger": 0.08}

PERIOD_SEEDS = ["2023-06", "2023-Q2", "2023-H1", "2023", "2023-01/02", "2023年1-6月", "2023年1-2月", "2023年6月",
                "2023年第二季度", "2023年二季度", "2023年上半年", "2023年", "1-6月", "2025-08"]
CSV_EXTRA = ("unit,indicator,period,value,basis,measure\n大祥区,fiscal_revenue,2023-06,1.5,累计,亿元\n"
             "北塔区,gdp_growth,2023-Q2,5.5,,%\n双清区,gdp,2023-Q2,120.3,ytd,亿元\n大祥区,new_urban_jobs,2023-06,462,当月,人\n")
JSON_SEED = {"data": {"items": [{"region": "大祥区", "code": "retail_sales", "month": "2025-08", "amount": "101.5"},
                                {"region": "双清区", "code": "retail_sales_growth", "month": "2025-08", "amount": 6.2},
                                {"region": "北塔区", "code": "retail_sales", "month": "2025-08", "amount": None}]}, "next": None}
HTTP_CSV_SEED = "地区,月份,社零\n大祥区,2025-08,101.5\n双清区,2025-08,/\n".encode("gb18030")


class Workspace:
    """A private deployment, store and HTTP server for one campaign."""

    def __init__(self, folder: Path):
        from collectors.layout import load_collectors
        from targetwatch.deployment import load_deployment
        from targetwatch.store.sqlite import SQLiteStore

        self.folder = folder
        self.config = folder / "config"
        shutil.copytree(CONFIG, self.config, ignore=shutil.ignore_patterns("__pycache__"))
        (self.config / "settings.yaml").write_text(f"sqlite_path: {folder / 'store.db'}\n", encoding="utf-8")
        self.payload: tuple[bytes, str] = (b"", "application/json")
        self._serve()
        collectors = self.config / "collectors"
        fields = "mapping: {fields: {unit: region, indicator: code, period: month, value: amount}}"
        (collectors / "fuzz-http-json.yaml").write_text(
            "apiVersion: targetwatch/v1\nkind: Collector\nmetadata: {name: fuzz-http-json}\nspec:\n"
            f"  source: {{kind: http, url: '{self.url}/api', records: data.items, retries: 0, timeout: 5,"
            " pagination: {next: next, max_pages: 3}}\n"
            f"  {fields}\n", encoding="utf-8")
        (collectors / "fuzz-http-csv.yaml").write_text(
            "apiVersion: targetwatch/v1\nkind: Collector\nmetadata: {name: fuzz-http-csv}\nspec:\n"
            f"  source: {{kind: http, url: '{self.url}/table.csv', format: csv, encoding: gb18030, retries: 0, timeout: 5}}\n"
            "  mapping: {fields: {unit: 地区, period: 月份, value: 社零}, fixed: {indicator: retail_sales}}\n", encoding="utf-8")
        (self.config / "feeds").mkdir()
        (collectors / "fuzz-sdmx.yaml").write_text(
            "apiVersion: targetwatch/v1\nkind: Collector\nmetadata: {name: fuzz-sdmx}\nspec:\n"
            "  source: {kind: sdmx, file: feeds/message.xml}\n"
            "  mapping: {fields: {unit: REPORTER, period: TIME_PERIOD, value: value}, fixed: {indicator: rd_expenditure_growth},"
            " codes: {unit: {'840': 大祥区}}}\n", encoding="utf-8")
        self.rules_dir = folder / "rules-only"
        (self.rules_dir / "rules").mkdir(parents=True)
        self.dep = load_deployment(self.config)
        self.collectors = {c.metadata.name: c for c in load_collectors(self.config)}
        self.store = SQLiteStore(self.dep.settings.sqlite_path)
        self.inbox = folder / "inbox"
        self.inbox.mkdir()
        self.csv_seeds = [p.read_bytes() for p in sorted((CONFIG / "inbox" / "long").glob("*.csv"))] + [CSV_EXTRA.encode()]
        self.rule_seeds = [doc.encode() for p in sorted((CONFIG / "rules").glob("*.yaml"))
                           for doc in p.read_text(encoding="utf-8").split("\n---\n") if "kind:" in doc]
        self.xlsx_seeds = [(p.name.split("_")[0], p.read_bytes()) for p in sorted((CONFIG / "inbox" / "shaoyang").glob("*.xlsx"))[-2:]]
        self.sdmx_seed = SDMX_SEED.read_bytes()
        self.ledger_seeds = [p.read_bytes() for p in sorted((CONFIG / "ledgers").glob("*.xlsx"))]
        for example in (self.config / "ledgers").glob("*.xlsx"):
            example.unlink()  # the mutants stand alone: a unit's derived figures come from the mutant only

    def _serve(self) -> None:
        workspace = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body, ctype = workspace.payload
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.store.close()

    # -- inputs and targets --------------------------------------------------------------------------

    def targets(self) -> dict[str, tuple[float, object, Target]]:
        return {
            "period": (WEIGHTS["period"], lambda m: m.mutate(m.rng.choice(PERIOD_SEEDS).encode()), self.period),
            "csv": (WEIGHTS["csv"], lambda m: m.mutate(m.rng.choice(self.csv_seeds)), self.csv),
            "rule_yaml": (WEIGHTS["rule_yaml"], lambda m: m.mutate(m.rng.choice(self.rule_seeds)), self.rule_yaml),
            "http": (WEIGHTS["http"], self._http_input, self.http),
            "sdmx": (WEIGHTS["sdmx"], lambda m: m.mutate(self.sdmx_seed), self.sdmx),
            "xlsx": (WEIGHTS["xlsx"], self._xlsx_input, self.xlsx),
            "ledger": (WEIGHTS["ledger"], lambda m: _workbook_mutant(m, m.rng.choice(self.ledger_seeds)), self.ledger),
        }

    def period(self, data: bytes, report: Report) -> None:
        from targetwatch import periods

        periods.parse_label(data.decode("utf-8", "replace"))

    def _ingest(self, path: Path, report: Report) -> None:
        from collectors.ingest import ingest

        try:
            for result in ingest(self.dep, self.store, [path]):
                if result.error:
                    report.rejections += 1
                    if "cannot be read: " in result.error or ": failed: " in result.error:
                        report.unforeseen.append(_unforeseen(report, result.error))
                    if "parser died" in result.error:
                        report.parser_deaths += 1
        finally:
            path.unlink(missing_ok=True)

    def csv(self, data: bytes, report: Report) -> None:
        path = self.inbox / "fuzz.csv"
        path.write_bytes(data)
        self._ingest(path, report)

    def rule_yaml(self, data: bytes, report: Report) -> None:
        from rules.check import check

        (self.rules_dir / "rules" / "case.yaml").write_bytes(data)
        check(self.rules_dir, self.dep)

    def _http_input(self, m: Mutator) -> bytes:
        if m.rng.random() < 0.7:
            return b"J" + m.mutate(json.dumps(JSON_SEED, ensure_ascii=False).encode())
        return b"C" + m.mutate(HTTP_CSV_SEED)

    def http(self, data: bytes, report: Report) -> None:
        from collectors.sources import collect

        kind, body = data[:1], data[1:]
        self.payload = (body, "application/json" if kind == b"J" else "text/csv")
        collect(self.dep, self.store, self.collectors["fuzz-http-json" if kind == b"J" else "fuzz-http-csv"])

    def sdmx(self, data: bytes, report: Report) -> None:
        from collectors.sources import collect

        (self.config / "feeds" / "message.xml").write_bytes(data)
        collect(self.dep, self.store, self.collectors["fuzz-sdmx"])

    def _xlsx_input(self, m: Mutator) -> bytes:
        prefix, seed = m.rng.choice(self.xlsx_seeds)
        return prefix.encode() + b"\0" + _workbook_mutant(m, seed)

    def xlsx(self, data: bytes, report: Report) -> None:
        prefix, _, body = data.partition(b"\0")
        path = self.config / "inbox" / "shaoyang" / f"{prefix.decode()}_fuzz.xlsx"
        path.write_bytes(body)
        self._ingest(path, report)

    def ledger(self, data: bytes, report: Report) -> None:
        path = self.config / "ledgers" / "fuzz.xlsx"
        path.write_bytes(data)
        self._ingest(path, report)

    def check_landed(self, report: Report) -> None:
        """Every value in the store is finite and inside its indicator's bounds; every amount in the
        project ledger is finite and not negative."""
        frame = self.store.read()
        report.landed = len(frame)
        bounds = {i.id: i.value_bounds() for i in self.dep.indicators.values()}
        lo = frame["indicator"].map(lambda i: bounds[i][0]).to_numpy(dtype="float64")
        hi = frame["indicator"].map(lambda i: bounds[i][1]).to_numpy(dtype="float64")
        values = frame["value"].to_numpy(dtype="float64")
        bad = ~np.isfinite(values) | (values < lo) | (values > hi)
        report.landed_bad = [f"{r.indicator} {r.unit} {r.period}: {r.value}" for r in frame[bad].itertuples()]
        report.landed_bad += self._ledger_amounts_bad()

    def _ledger_amounts_bad(self) -> list[str]:
        from targetwatch.store.projects import ProjectLedger, ledger_path

        ledger = ProjectLedger(ledger_path(self.store, self.dep.settings))
        try:
            projects = ledger.read()
        finally:
            ledger.close()
        # A blank 总投资 or 年度计划 reads as NaN (no amount); monthly money holds only the months written.
        amounts = [(p, column, v) for column in ("investment", "annual_plan")
                   for p, v in zip(projects["project"], projects[column]) if v is not None and v == v]
        amounts += [(p, f"{column} {month}", v) for column in ("funds", "invested")
                    for p, by_month in zip(projects["project"], projects[column]) for month, v in (by_month or {}).items()]
        values = np.array([float(v) for _, _, v in amounts], dtype="float64")
        bad = ~np.isfinite(values) | (values < 0)
        return [f"project ledger {p} {column}: {v}" for (p, column, v), b in zip(amounts, bad) if b]


def _workbook_mutant(m: Mutator, seed: bytes) -> bytes:
    """A damaged workbook: the zip itself (one case in five), or one XML part mutated and zipped again,
    which reaches the sheet checks and calamine."""
    if m.rng.random() < 0.2:
        return m.mutate(seed)
    source = zipfile.ZipFile(io.BytesIO(seed))
    parts = [i.filename for i in source.infolist() if i.filename.endswith(".xml")]
    sheets = [p for p in parts if "worksheets/" in p or "sharedStrings" in p]
    victim = m.rng.choice(sheets if sheets and m.rng.random() < 0.8 else parts)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for info in source.infolist():
            content = source.read(info)
            zf.writestr(info.filename, m.mutate(content) if info.filename == victim else content)
    return out.getvalue()


def _unforeseen(report: Report, error: str):
    from tests.fuzz.engine import Failure

    return Failure("ingest", sum(report.cases.values()) - 1, error)


def run(cases: int, seed: int, folder: Path, only: int | None = None) -> Report:
    """One campaign in ``folder``: a fresh workspace, ``cases`` cases, then the landed-values check.

    ``only`` replays one case of the campaign (same seed, same input)."""
    workspace = Workspace(folder)
    try:
        return campaign(workspace.targets(), cases, seed, finish=workspace.check_landed, only=only)
    finally:
        workspace.close()
