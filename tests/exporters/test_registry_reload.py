"""serve reads the registry (units, people, indicators) again at every cycle, like the rules: an edit shows on
/metrics at the next cycle, and a registry file with an error keeps the last good registry."""

from __future__ import annotations

import logging

from exporters.ledger import Ledger
from exporters.service import Service


def fixed(frame):
    return lambda deployment, store, *, as_of=None, period=None: frame


def test_a_registry_edit_reaches_the_next_cycle_and_a_broken_one_keeps_the_last_good(deployment_dir, deployment, store, verdicts,
                                                                                    tmp_path, caplog):
    service = Service(deployment, store, evaluate=fixed(verdicts), ledger=Ledger(tmp_path / "n.db"))
    try:
        service.evaluate()
        assert 'targetwatch_person_info{name="伍毅",person="wu_yi",title="分管副区长"} 1.0' in service.scrape().decode()

        people = deployment_dir / "registry" / "people.yaml"
        good = people.read_text(encoding="utf-8")
        people.write_text(good.replace("{id: wu_yi, name: 伍毅, title: 分管副区长", "{id: wu_yi, name: 伍毅, title: 常务副区长"), encoding="utf-8")
        service.evaluate()
        body = service.scrape().decode()
        assert 'targetwatch_person_info{name="伍毅",person="wu_yi",title="常务副区长"} 1.0' in body
        assert service.deployment.people["wu_yi"].title == "常务副区长"
        assert service.notifications.deployment is service.deployment  # digests name people from the new registry
        edited = service.deployment

        people.write_text(good.replace("people:\n", "people:\n  - {id: wu_yi, name: 重复}\n", 1), encoding="utf-8")  # a duplicate id
        with caplog.at_level(logging.WARNING, logger="targetwatch.serve"):
            service.evaluate()
        assert service.deployment is edited
        assert any("the registry (units, people, indicators) has an error; keeping the last good one" in r.getMessage()
                   and "people.yaml" in r.getMessage() for r in caplog.records)
    finally:
        service.ledger.close()
