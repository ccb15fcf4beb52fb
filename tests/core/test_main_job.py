"""The main job (`targetwatch run`) on the example deployment: what a leader reads first."""

from __future__ import annotations

import json
import re

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from rules.vocabulary import STATUSES, WORDS
from targetwatch.cli import BRIEFING_WIDTH, app


def run(deployment_dir, *args: str):
    result = CliRunner().invoke(app, ["run", "--config", str(deployment_dir), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def briefing(deployment_dir) -> dict:
    return json.loads(run(deployment_dir, "--format", "json"))


def test_the_example_shows_a_mix_a_leader_recognises_and_few_late(briefing):
    counts = briefing["counts"]
    listed = [v for leader in briefing["leaders"] for v in leader["verdicts"]]
    late = sum(v["status"] == "late" for v in listed)
    # The example's inbox supplies every indicator its rules read; only reports left out on purpose are late.
    assert listed and late / len(listed) < 0.15, f"{late} of {len(listed)} listed verdicts are late"
    assert counts.get("late", 0) / sum(counts.values()) < 0.15
    for status in ("behind", "at_risk", "on_track"):
        assert counts.get(status, 0) >= 1, f"no {status} verdict on the example: {counts}"
    assert {v["status"] for v in listed} >= {"behind", "at_risk"}
    # Real values behind: the figures are in, not missing.
    assert all(v["value"] is not None for v in listed if v["status"] in ("behind", "at_risk"))


def test_the_on_track_verdicts_are_listed_with_all(deployment_dir):
    everything = json.loads(run(deployment_dir, "--format", "json", "--all"))
    listed = {v["status"] for leader in everything["leaders"] for v in leader["verdicts"]}
    assert {"behind", "at_risk", "on_track"} <= listed


def test_leaders_come_most_behind_first_each_with_their_worst_verdicts_first(briefing):
    order = {s: i for i, s in enumerate(STATUSES)}
    keys = []
    for leader in briefing["leaders"]:
        statuses = [order[v["status"]] for v in leader["verdicts"]]
        assert statuses == sorted(statuses), leader["leader"]
        keys.append(tuple(-leader["counts"].get(s, 0) for s in STATUSES))
    named = [k for k, leader in zip(keys, briefing["leaders"]) if not leader["leader"].startswith("（")]
    assert named == sorted(named), "leaders are not ordered by how much is behind"
    named_leaders = [leader for leader in briefing["leaders"] if not leader["leader"].startswith("（")]  # unassigned come last
    assert named_leaders[0]["counts"]["behind"] == max(leader["counts"].get("behind", 0) for leader in named_leaders)


def test_the_briefing_starts_with_one_summary_line_and_fits_100_columns(deployment_dir):
    first = run(deployment_dir).splitlines()
    assert first[0].startswith("截至 ") and all(WORDS[s].label in first[0] for s in STATUSES)
    assert "本次入库" in "\n".join(first)  # the first run lands the whole inbox: the ingest table shows
    assert max(cell_len(line) for line in first) <= BRIEFING_WIDTH
    # Nothing new lands the second time: one line of counts instead of the table.
    again = run(deployment_dir).splitlines()
    assert again[0].startswith("截至 ")
    assert "本次入库" not in "\n".join(again)
    assert any(re.match(r"收件箱 \d+ 个文件：没有新数据", line) for line in again[:3])
    assert max(cell_len(line) for line in again) <= BRIEFING_WIDTH


def test_the_words_are_the_vocabularys(deployment_dir):
    text = run(deployment_dir)
    for old in ("未报送", "正常"):  # the words of the CLI's own table, before the vocabulary
        assert old not in text.splitlines()[0]
    assert WORDS["behind"].label in text and WORDS["at_risk"].label in text


@pytest.fixture(scope="module")
def left_out() -> set[tuple[str, str]]:
    """The (rule, unit) pairs whose reports the example generator leaves out on purpose."""
    import importlib.util
    import sys

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "bench" / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return set(module.build()[3].left_out)


def test_late_is_only_where_a_report_is_left_out_on_purpose(briefing, left_out, deployment):
    from rules import load_rules

    late = {v["rule"] for leader in briefing["leaders"] for v in leader["verdicts"] if v["status"] == "late"}
    missing = {rule for rule, _unit in left_out}
    ruleset = load_rules(deployment.root, deployment)
    assert late
    for rule in late - missing:  # only a scorecard one of whose items was left out
        doc = ruleset.versions(rule)[-1]
        assert doc.is_scorecard and {item.rule for item in doc.doc.spec.items} & missing, rule


def test_the_example_picture_of_daxiang_in_july_2023_is_complete(deployment_dir, left_out):
    """As of 2023-07-20 (README), 大祥区's May–June tasks are judged on what had been sent by then: the
    long CSVs state they were sent on 2023-07-12, so only the report left out on purpose is late."""
    july = json.loads(run(deployment_dir, "--format", "json", "--as-of", "2023-07-20"))
    listed = [v for leader in july["leaders"] for v in leader["verdicts"]]
    late = {v["rule"] for v in listed if v["status"] == "late"}
    assert late <= {rule for rule, _unit in left_out} and len(late) <= 1
    jobs = next(v for v in listed if v["rule"] == "dx_new_urban_jobs")
    assert (jobs["period"], jobs["status"]) == ("2023-06", "at_risk")  # 51% of the year by June, the target 55%
