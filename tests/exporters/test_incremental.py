"""Incremental evaluation: a collection that touches one indicator re-evaluates only the rules reading it,
and the service's verdicts and history then equal those of a full evaluation; only changed verdicts reach
the ledger."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

import rules
from collectors.ingest import due_files, ingest
from collectors.sources import CollectionResult
from exporters.ledger import Ledger
from exporters.service import Service
from exporters.verdicts import KEY
from rules.reads import affected_rules
from targetwatch.deployment import load_deployment
from targetwatch.store import StagedChunk
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import free_port
from tests.exporters.receivers import Receiver, send_digests_to

PERIOD = "2023-06"


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(KEY), kind="stable").reset_index(drop=True)


@pytest.fixture
def service(deployment_dir, tmp_path):
    hook = Receiver("webhook", free_port()).start()  # every digest stays on this machine
    send_digests_to(deployment_dir, hook)
    deployment = load_deployment(deployment_dir)
    db = SQLiteStore(deployment.settings.sqlite_path)
    ingest(deployment, db, due_files(deployment))
    svc = Service(deployment, db, period=PERIOD, ledger=Ledger(tmp_path / "notify.db"))
    svc.evaluate_and_notify()  # the full cycle every incremental one starts from
    svc.hook = hook
    yield svc
    svc.ledger.close()
    db.close()
    hook.stop()


def test_an_ingest_touching_one_indicator_re_evaluates_only_its_rules_and_matches_a_full_evaluation(service, monkeypatch):
    deployment, db = service.deployment, service._store
    # 大祥区 corrects its June fiscal revenue growth from 3.2% to 5.0%: above the city's 3.8% now.
    row = pd.DataFrame({"indicator": ["fiscal_revenue_growth"], "unit": ["daxiang"], "period": [20230606], "basis": ["ytd"],
                        "value": [5.0], "row": [9], "sheet": ["2023年1-6月"], "column": ["K"]})
    batch = db.ingest([StagedChunk(row)], source="correction.xlsx", content_hash="correction", reported_at=datetime.now(timezone.utc))
    assert batch.revisions_added == 1 and batch.changed == frozenset({("fiscal_revenue_growth", 20230606)})

    asked = []
    evaluate = rules.evaluate

    def recording(*args, **kwargs):
        asked.append(kwargs.get("rules"))
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(rules, "evaluate", recording)
    decided_before = len(service.ledger.notifications())
    digests_before = len(service.hook.requests)
    service.collected(CollectionResult("shaoyang-monthly", [batch]))
    changed, full = service._take_pending()
    assert not full and changed == {("fiscal_revenue_growth", 20230606)}
    cycle = service.evaluate_changes(changed)

    ruleset = service.cycle_config.rules
    reading = {i for i in ruleset.ids if not ruleset.versions(i)[0].is_scorecard and any(
        v.doc.spec.indicator == "fiscal_revenue_growth" or getattr(getattr(v.doc.spec.target, "of", None), "indicator", None)
        == "fiscal_revenue_growth" for v in ruleset.versions(i))}
    evaluated = asked[0]
    assert set(evaluated) == reading and "dx_fiscal_revenue_above_city" in reading
    assert len(evaluated) < len(ruleset.ids) / 10
    assert all(a is None or set(a) <= reading for a in asked[1:])  # the history of the same rules, if any ranks

    monkeypatch.setattr(rules, "evaluate", evaluate)
    full_verdicts = service._with_historic(rules.evaluate(deployment, db, period=PERIOD))
    mine = _sorted(service._verdicts)
    pd.testing.assert_frame_equal(mine[full_verdicts.columns], _sorted(full_verdicts))
    exposed = _sorted(service.state.verdicts)
    pd.testing.assert_frame_equal(exposed[full_verdicts.columns], _sorted(full_verdicts))
    full_history = service._run_history(db)
    pd.testing.assert_frame_equal(_sorted(service._history)[full_history.columns], _sorted(full_history))

    # Only the verdicts that changed reach the ledger and the digests: 大祥区's fiscal revenue verdict is on track.
    now = mine[(mine["rule"] == "dx_fiscal_revenue_above_city") & (mine["unit"] == "daxiang")]
    assert now["status"].tolist() == ["on_track"]
    decided = service.ledger.notifications().iloc[decided_before:]
    assert decided[["rule", "unit", "new_status", "leader"]].values.tolist() == [
        ["dx_fiscal_revenue_above_city", "daxiang", "on_track", "xia_xiangyang"]]
    assert [body["recipient"] for _, body in service.hook.requests[digests_before:]] == ["xia_xiangyang"]
    assert 1 <= cycle.verdicts < len(mine[mine["rule"].isin(reading)])


def test_a_collection_that_cannot_say_what_changed_asks_for_a_full_cycle(service):
    from targetwatch.store import BatchResult

    unknown = BatchResult(batch=1, source="influx", revisions_added=5)  # changed is None: the backend does not say
    service.collected(CollectionResult("x", [unknown]))
    assert service._take_pending() == (set(), True)


def test_the_reads_of_a_rule_bound_the_periods_it_is_re_evaluated_for(service):
    ruleset = service.cycle_config.rules
    day = datetime(2023, 7, 20).date()
    june = affected_rules(ruleset, {("fiscal_revenue_growth", 20230606)}, as_of_day=day, period=PERIOD)
    assert "dx_fiscal_revenue_above_city" in june
    # Figures from long before any year the rules judge, or of an indicator no rule reads, touch nothing.
    assert affected_rules(ruleset, {("fiscal_revenue_growth", 20150606)}, as_of_day=day, period=PERIOD) == []
    assert affected_rules(ruleset, {("no_such_indicator", 20230606)}, as_of_day=day, period=PERIOD) == []
    # A year-on-year comparison reads last year: a 2022 revision re-evaluates the same rules.
    assert set(june) <= set(affected_rules(ruleset, {("fiscal_revenue_growth", 20220606)}, as_of_day=day, period=PERIOD))
    # Not knowing what changed re-evaluates everything.
    assert affected_rules(ruleset, None, as_of_day=day, period=PERIOD) == list(ruleset.ids)
