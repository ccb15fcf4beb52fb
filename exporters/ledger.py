"""The notification ledger and outbox: one SQLite file next to the store (``notify.db``).

Four tables. ``verdict_state`` keeps the last status seen per verdict key, so that only a change of
state notifies, across restarts. ``outbox`` holds every message with its delivery progress (parts sent,
failed attempts, next attempt, last error, result). ``decision`` records why each message exists: which
verdict, with which value and status change, triggered it, for whom, on which channel, and when
(``kind`` says whether it was a leader's digest, a late-report reminder, a change held back as
``backfilled`` because its period is older than the current reporting period, or an ``alertmanager``
notification relayed to the robots). Each outbox row has an ``idempotency_key`` that every resend of
it carries. ``reminded`` names each
late report a contact (联络人) was reminded of, so that each is reminded once, across restarts.
State changes, decisions, reminded items and new outbox rows are written in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import pandas as pd

from rules.verdict import KEY as VERDICT_KEY
from targetwatch.private import connect_sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS verdict_state (
    rule TEXT NOT NULL, unit TEXT NOT NULL, indicator TEXT NOT NULL, period TEXT NOT NULL,
    status TEXT NOT NULL, value REAL, changed_at REAL NOT NULL,
    PRIMARY KEY (rule, unit, indicator, period)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, created_at REAL NOT NULL, leader TEXT NOT NULL, period TEXT NOT NULL,
    channel TEXT NOT NULL, recipient TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL,
    parts_sent INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL, result TEXT NOT NULL DEFAULT 'pending', last_error TEXT, sent_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(result, next_attempt_at);
CREATE TABLE IF NOT EXISTS decision (
    id INTEGER PRIMARY KEY, decided_at REAL NOT NULL, rule TEXT NOT NULL, unit TEXT NOT NULL,
    indicator TEXT NOT NULL, period TEXT NOT NULL, old_status TEXT, new_status TEXT NOT NULL,
    value REAL, target REAL, gap REAL, leader TEXT, outbox_id INTEGER REFERENCES outbox(id), note TEXT
);
CREATE TABLE IF NOT EXISTS reminded (
    person TEXT NOT NULL, indicator TEXT NOT NULL, unit TEXT NOT NULL, period TEXT NOT NULL,
    reminder_key TEXT NOT NULL, reminded_at REAL NOT NULL,
    PRIMARY KEY (person, indicator, unit, period)
) WITHOUT ROWID;
"""

# The verdict key (rules.verdict.KEY), as a list for pandas.
KEY = list(VERDICT_KEY)


def idempotency_key(*identity) -> str:
    """``tw-`` and 32 hex digits of what identifies one message; the same identity, the same key."""
    text = json.dumps(identity, ensure_ascii=False, default=str)
    return "tw-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def ledger_path(settings) -> Path:
    """``notify.db`` in the folder of the store file (``settings.sqlite_path``)."""
    return Path(settings.sqlite_path).expanduser().parent / "notify.db"


class Ledger:
    """The SQLite ledger and outbox; safe to share between the service loop and the HTTP thread."""

    def __init__(self, path: str | Path, clock=time.time):
        self.path = Path(path)
        self.clock = clock
        self.lock = threading.RLock()
        # Contact details of leaders: private from birth (0600, -wal/-shm too).
        self.con = connect_sqlite(path, check_same_thread=False, isolation_level=None)
        self.con.execute("PRAGMA synchronous=FULL")
        self.con.executescript(SCHEMA)
        columns = {row[1] for row in self.con.execute("PRAGMA table_info(outbox)")}
        if "attempts" in columns:  # ledgers written before the column was named for what it counts
            self.con.execute("ALTER TABLE outbox RENAME COLUMN attempts TO failures")
        if "kind" not in {row[1] for row in self.con.execute("PRAGMA table_info(decision)")}:
            # What a decision is about: a leader's digest, or a late-report reminder to a contact (联络人).
            self.con.execute("ALTER TABLE decision ADD COLUMN kind TEXT NOT NULL DEFAULT 'digest'")
        if "idempotency_key" not in columns:
            # The key a receiver de-duplicates by; rows queued before it existed keep none.
            self.con.execute("ALTER TABLE outbox ADD COLUMN idempotency_key TEXT")
        self.con.execute("CREATE INDEX IF NOT EXISTS outbox_key ON outbox(idempotency_key)")
        self.con.execute("CREATE INDEX IF NOT EXISTS decision_key ON decision(rule, unit, indicator, period)")

    def close(self) -> None:
        """Close the database."""
        with self.lock:
            self.con.close()

    # -- state ---------------------------------------------------------------------------------------

    def states(self) -> pd.DataFrame:
        """The last status per verdict key, and when it was recorded (``old_changed_at``)."""
        with self.lock:
            return pd.read_sql_query("SELECT rule, unit, indicator, period, status AS old_status, changed_at AS old_changed_at "
                                     "FROM verdict_state", self.con)

    def record(self, changes: pd.DataFrame, messages: list[dict], decisions: list[dict], reminded: list[dict] | None = None) -> list[int]:
        """In one transaction: store the new states, add the outbox rows, add the decisions, mark ``reminded`` items.

        A decision's ``message`` is an index into ``messages`` (or None); it becomes the outbox id. Its
        optional ``kind`` is "digest" (the default) or "late_reminder". ``reminded`` rows (person,
        indicator, unit, period, key) are late reports their contact has been reminded of, once.
        """
        now = self.clock()
        with self.lock:
            cur = self.con.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.executemany(
                    "INSERT INTO verdict_state(rule, unit, indicator, period, status, value, changed_at) VALUES (?,?,?,?,?,?,?) "
                    "ON CONFLICT(rule, unit, indicator, period) DO UPDATE SET status=excluded.status, value=excluded.value, changed_at=excluded.changed_at",
                    [(r.rule, r.unit, r.indicator, r.period, r.status, _float(r.value), now) for r in changes.itertuples(index=False)],
                )
                ids = []
                for m in messages:
                    # A message queued without a key (a late-report reminder) is identified by its content.
                    key = m.get("key") or idempotency_key(m["leader"], m["period"], m["channel"], m["recipient"], m["message"])
                    cur.execute(
                        "INSERT INTO outbox(created_at, leader, period, channel, recipient, subject, message, next_attempt_at, idempotency_key) "
                        "VALUES (?,?,?,?,?,?,?,?,?)",
                        (now, m["leader"], m["period"], m["channel"], m["recipient"], m["subject"], m["message"], now, key),
                    )
                    ids.append(cur.lastrowid)
                cur.executemany(
                    "INSERT INTO decision(decided_at, rule, unit, indicator, period, old_status, new_status, value, target, gap, leader, outbox_id, note, kind) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [(now, d["rule"], d["unit"], d["indicator"], d["period"], d["old_status"], d["new_status"], _float(d["value"]),
                      _float(d["target"]), _float(d["gap"]), d["leader"], None if d["message"] is None else ids[d["message"]], d["note"],
                      d.get("kind", "digest"))
                     for d in decisions],
                )
                cur.executemany(
                    "INSERT OR IGNORE INTO reminded(person, indicator, unit, period, reminder_key, reminded_at) VALUES (?,?,?,?,?,?)",
                    [(r["person"], r["indicator"], r["unit"], r["period"], r["key"], now) for r in reminded or []],
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return ids

    def has_key(self, key: str) -> bool:
        """Whether a message with this idempotency key is already in the outbox (sent or not)."""
        with self.lock:
            return self.con.execute("SELECT 1 FROM outbox WHERE idempotency_key=? LIMIT 1", (key,)).fetchone() is not None

    def held(self, since_code: int = 0) -> pd.DataFrame:
        """Backfilled decisions not sent yet (the latest per verdict key), of periods starting at ``since_code`` or later.

        ``since_code`` compares with the period's code (year·10000 + first month·100 + last month).
        """
        sql = ("SELECT d.id, d.rule, d.unit, d.indicator, d.period, d.new_status, d.leader FROM decision d "
               "WHERE d.kind='backfilled' AND d.outbox_id IS NULL AND d.id = (SELECT MAX(e.id) FROM decision e "
               "WHERE e.rule=d.rule AND e.unit=d.unit AND e.indicator=d.indicator AND e.period=d.period) ORDER BY d.id")
        with self.lock:
            frame = pd.read_sql_query(sql, self.con)
        if frame.empty:
            return frame
        from targetwatch import periods

        codes = {p: periods.parse(p).code for p in frame["period"].unique()}
        return frame[frame["period"].map(codes) >= since_code].reset_index(drop=True)

    def release(self, decision_ids: list[int], outbox_id: int | None, note: str) -> None:
        """Mark held (backfilled) decisions as dealt with: sent as ``outbox_id``, or closed with ``note``."""
        with self.lock:
            self.con.executemany("UPDATE decision SET outbox_id=?, note=COALESCE(note || '; ', '') || ? WHERE id=?",
                                 [(outbox_id, note, int(i)) for i in decision_ids])

    def reminded(self) -> pd.DataFrame:
        """The late reports each contact has been reminded of: person, indicator, unit, period (2025-09)."""
        with self.lock:
            return pd.read_sql_query("SELECT person, indicator, unit, period FROM reminded", self.con)

    # -- outbox --------------------------------------------------------------------------------------

    def due(self, limit: int = 100) -> list[sqlite3.Row]:
        """Pending messages whose next attempt is due, oldest first."""
        with self.lock:
            self.con.row_factory = sqlite3.Row
            try:
                return self.con.execute(
                    "SELECT * FROM outbox WHERE result='pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?", (self.clock(), limit)
                ).fetchall()
            finally:
                self.con.row_factory = None

    def part_sent(self, outbox_id: int, parts_sent: int, done: bool) -> None:
        """Record that the first ``parts_sent`` parts arrived; ``done`` marks the message sent."""
        with self.lock:
            if done:
                self.con.execute("UPDATE outbox SET parts_sent=?, result='sent', sent_at=?, last_error=NULL WHERE id=?",
                                 (parts_sent, self.clock(), outbox_id))
            else:
                self.con.execute("UPDATE outbox SET parts_sent=? WHERE id=?", (parts_sent, outbox_id))

    def failed(self, outbox_id: int, error: str, delay: float, give_up: bool = False) -> None:
        """One failed attempt: retry after ``delay`` seconds, or mark the message failed for good."""
        with self.lock:
            self.con.execute(
                "UPDATE outbox SET failures=failures+1, last_error=?, next_attempt_at=?, result=? WHERE id=?",
                (error, self.clock() + delay, "failed" if give_up else "pending", outbox_id),
            )

    def counts(self) -> tuple[pd.DataFrame, int]:
        """Deliveries by (channel, result) — sent, and failed attempts — and the number pending."""
        with self.lock:
            sent = pd.read_sql_query("SELECT channel, 'sent' AS result, COUNT(*) AS count FROM outbox WHERE result='sent' GROUP BY channel", self.con)
            failed = pd.read_sql_query("SELECT channel, 'failed' AS result, SUM(failures) AS count FROM outbox WHERE failures > 0 GROUP BY channel", self.con)
            pending = self.con.execute("SELECT COUNT(*) FROM outbox WHERE result='pending'").fetchone()[0]
        return pd.concat([sent, failed], ignore_index=True).sort_values(["channel", "result"], ignore_index=True), int(pending)

    def notifications(self) -> pd.DataFrame:
        """The ledger: every decision with the message it led to, its channel, recipient and result."""
        sql = (
            "SELECT datetime(d.decided_at, 'unixepoch') AS decided_at, d.leader, d.period, d.rule, d.unit, d.indicator, "
            "d.old_status, d.new_status, d.value, d.target, d.gap, o.id AS message, o.channel, o.recipient, "
            "o.result, o.failures, datetime(o.sent_at, 'unixepoch') AS sent_at, o.last_error, d.note, d.kind, o.idempotency_key "
            "FROM decision d LEFT JOIN outbox o ON o.id = d.outbox_id ORDER BY d.id"
        )
        with self.lock:
            return pd.read_sql_query(sql, self.con)

    def outbox(self) -> pd.DataFrame:
        """Every message with its delivery state, oldest first."""
        with self.lock:
            return pd.read_sql_query("SELECT * FROM outbox ORDER BY id", self.con)


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
