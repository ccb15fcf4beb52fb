"""A process killed with SIGKILL in the middle of a batch leaves the store exactly as it was."""

import os
import signal
import subprocess
import sys
import textwrap

from targetwatch.store.sqlite import SQLiteStore

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    import pandas as pd
    from targetwatch.store import StagedChunk
    from targetwatch.store.sqlite import SQLiteStore

    store = SQLiteStore(sys.argv[1])
    def chunks():
        for i in range(1000):
            frame = pd.DataFrame({"indicator": "gdp", "unit": [f"u{j}" for j in range(i * 100, i * 100 + 100)],
                                  "period": 20230406, "basis": "ytd", "value": 1.0, "row": range(100),
                                  "sheet": None, "column": "value"})
            yield StagedChunk(good=frame)
            if i == 5:
                print("HALFWAY", flush=True)
                time.sleep(60)
    store.ingest(chunks(), source="big.csv", content_hash="x", reported_at=datetime.now(timezone.utc))
    """
)


def test_sigkill_in_the_middle_of_a_batch_lands_nothing(tmp_path):
    db = tmp_path / "kill.db"
    seed = SQLiteStore(db)
    seed.close()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "HALFWAY"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    store = SQLiteStore(db)
    try:
        assert store.read().empty
        assert store.batches().empty
        assert store.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()
