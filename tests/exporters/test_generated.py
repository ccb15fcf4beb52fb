"""Generated Prometheus rules, their promtool tests and alertmanager.yml: golden files, checked by the real tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from exporters.alertmanager import export_alertmanager
from exporters.channels import load_notifier_config
from exporters.owners import leaders
from exporters.promrules import export_prometheus_rules
from targetwatch.deployment import load_deployment
from targetwatch.errors import ConfigError
from tests.conftest import EXAMPLE_CONFIG, require_binary

COMMITTED = EXAMPLE_CONFIG / "provisioning"


@pytest.fixture
def example(monkeypatch):
    monkeypatch.delenv("TARGETWATCH_WECHAT_API_SECRET", raising=False)
    monkeypatch.delenv("TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN", raising=False)
    return load_deployment(EXAMPLE_CONFIG)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd)


def variant(via: str = "alertmanager", **alertmanager):
    """The example's notifiers.yaml with another ``via`` and other Alertmanager receiver settings."""
    config = load_notifier_config(EXAMPLE_CONFIG)
    return config.model_copy(update={"via": via, "alertmanager": config.alertmanager.model_copy(update=alertmanager)})


# Every shape of alertmanager.yml the generator writes: each via, each receiver kind, ops by mail or webhook.
VARIANTS = {
    "builtin": variant("builtin"),
    "alertmanager": variant(),
    "alertmanager-all-email": variant(kinds={}, default_kind="email"),
    "alertmanager-all-webhook": variant(kinds={}, default_kind="webhook", ops_email=None,
                                        ops_webhook_url="https://duty.example.gov.cn/targetwatch/ops"),
    "alertmanager-all-wechat": variant(kinds={}, default_kind="wechat", smtp_require_tls=False),
}


@pytest.mark.parametrize("name", ["prometheus/rules.yml", "prometheus/rules_test.yml", "alertmanager/alertmanager.yml",
                                  "alertmanager/targetwatch.tmpl"])
def test_the_committed_file_is_what_the_generator_writes(example, tmp_path, name):
    export_prometheus_rules(example, tmp_path / "prometheus", tests=True)
    export_alertmanager(example, tmp_path / "alertmanager")
    assert (tmp_path / name).read_text(encoding="utf-8") == (COMMITTED / name).read_text(encoding="utf-8"), (
        f"config/provisioning/{name} is stale: run `targetwatch export prometheus-rules --tests` and `targetwatch export alertmanager`"
    )


def test_promtool_checks_and_tests_the_generated_rules(example, tmp_path):
    promtool = require_binary("promtool")
    export_prometheus_rules(example, tmp_path, tests=True)
    checked = run(promtool, "check", "rules", str(tmp_path / "rules.yml"))
    assert checked.returncode == 0 and "SUCCESS: 11 rules found" in checked.stdout, checked.stdout + checked.stderr  # + 力争, 数据核对
    tested = run(promtool, "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_the_promtool_tests_fail_when_an_alert_would_change(example, tmp_path):
    promtool = require_binary("promtool")
    export_prometheus_rules(example, tmp_path, tests=True)
    rules = (tmp_path / "rules.yml").read_text(encoding="utf-8")
    (tmp_path / "rules.yml").write_text(rules.replace('severity!="none"', 'severity!="warning"'), encoding="utf-8")
    tested = run(promtool, "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert tested.returncode == 1 and "FAILED" in tested.stdout + tested.stderr


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_amtool_accepts_every_variant_of_the_config_with_its_templates(example, tmp_path, name):
    amtool = require_binary("amtool")
    path = export_alertmanager(example, tmp_path, VARIANTS[name])
    checked = run(amtool, "check-config", str(path))
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout and " - 1 templates" in checked.stdout, checked.stdout + checked.stderr


def test_with_via_builtin_alertmanager_routes_no_leader_anywhere(example, tmp_path):
    amtool = require_binary("amtool")
    path = export_alertmanager(example, tmp_path, VARIANTS["builtin"])
    for leader in leaders(example):
        routed = run(amtool, "config", "routes", "test", f"--config.file={path}", "alertname=TargetBehind",
                     f"leader={leader}", "period=2023-06", "severity=critical", "unit=daxiang")
        assert routed.returncode == 0 and routed.stdout.strip() == "blackhole", routed.stdout + routed.stderr
    ops = run(amtool, "config", "routes", "test", f"--config.file={path}", "alertname=TargetwatchDown", "severity=critical")
    assert ops.stdout.strip() == "targetwatch-ops"


def test_amtool_accepts_the_config_and_routes_each_leader_to_their_receiver(example, tmp_path):
    amtool = require_binary("amtool")
    path = export_alertmanager(example, tmp_path, VARIANTS["alertmanager"])
    checked = run(amtool, "check-config", str(path))
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    example_leaders = leaders(example)
    # 14 leaders: 辛勤 and 任立 lead seed 001 rules; 蒋金亮 leads seed 003 rules and projects of the example ledgers;
    # 罗奇 leads seed 004's 科技创新攻坚仗 targets. (The example's data checks name no contact: they go to the operators.)
    assert example_leaders[:3] == ["xia_xiangyang", "wu_yi", "liu_hailong"] and len(example_leaders) == 14
    for leader in example_leaders:
        routed = run(amtool, "config", "routes", "test", f"--config.file={path}", f"--verify.receivers=leader-{leader}",
                     "alertname=TargetBehind", f"leader={leader}", "period=2023-06", "severity=critical", "unit=daxiang")
        assert routed.returncode == 0 and routed.stdout.strip() == f"leader-{leader}", routed.stdout + routed.stderr
    nobody = run(amtool, "config", "routes", "test", f"--config.file={path}", "alertname=TargetLate", "severity=warning")
    assert nobody.stdout.strip() == "targetwatch-ops"
    quiet = run(amtool, "config", "routes", "test", f"--config.file={path}", "alertname=TargetNoData", "leader=wu_yi", "severity=none")
    assert quiet.stdout.strip() == "blackhole"


def test_receivers_follow_notifiers_yaml(example, tmp_path):
    import yaml

    doc = yaml.safe_load(export_alertmanager(example, tmp_path, VARIANTS["alertmanager"]).read_text(encoding="utf-8"))
    receivers = {r["name"]: r for r in doc["receivers"]}
    assert receivers["leader-wu_yi"]["wechat_configs"] == [{
        "to_user": "wu_yi", "message_type": "markdown", "send_resolved": True, "agent_id": "1000002",
        "message": '**目标预警｜{{ .GroupLabels.period }}｜伍毅同志分管事项**\n\n{{ template "targetwatch.markdown" . }}'}]
    # 伍毅 has the WeCom robot in notifiers.yaml, 郑汉文 the DingTalk robot: both are reached through serve.
    # serve's webhook token is a bearer Alertmanager reads from the compose secret file, never inline.
    bearer = {"authorization": {"type": "Bearer", "credentials_file": "/run/secrets/targetwatch_alertmanager_webhook_token"}}
    assert receivers["leader-wu_yi"]["webhook_configs"] == [
        {"url": "http://targetwatch:9464/alertmanager/webhook?leader=wu_yi", "send_resolved": True, "http_config": bearer}]
    assert [w["url"] for w in receivers["leader-zheng_hanwen"]["webhook_configs"]] == [
        "https://duty.example.gov.cn/targetwatch/leader?leader=zheng_hanwen", "http://targetwatch:9464/alertmanager/webhook?leader=zheng_hanwen"]
    mail = receivers["leader-xia_xiangyang"]["email_configs"][0]
    assert mail["to"] == "xia_xiangyang@example.gov.cn" and mail["headers"]["Subject"] == "目标预警｜{{ .GroupLabels.period }}｜夏向阳同志分管事项"
    assert doc["templates"] == ["targetwatch.tmpl"] and (tmp_path / "targetwatch.tmpl").exists()
    assert doc["global"]["wechat_api_secret"] == "set TARGETWATCH_WECHAT_API_SECRET and re-export"
    assert doc["route"]["group_by"] == ["leader", "period"] and doc["route"]["repeat_interval"] == "744h"
    assert doc["inhibit_rules"] == [{"source_matchers": ['alertname=~"TargetNoData|TargetLate"'],
                                     "target_matchers": ['alertname="TargetBehind"'], "equal": ["unit", "rule"]}]


def test_only_the_relay_to_serve_presents_the_webhook_token_and_never_inline(example, tmp_path, monkeypatch):
    import yaml

    amtool = require_binary("amtool")
    token = "am-webhook-token-in-env-0d1e"
    monkeypatch.setenv("TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN", token)  # set where the export runs: still only the file is named
    path = export_alertmanager(example, tmp_path, VARIANTS["alertmanager"])
    assert token not in path.read_text(encoding="utf-8")
    webhooks = [w for r in yaml.safe_load(path.read_text(encoding="utf-8"))["receivers"] for w in r.get("webhook_configs", [])]
    with_token = [w["url"] for w in webhooks if "http_config" in w]
    assert with_token and with_token == [w["url"] for w in webhooks if "/alertmanager/webhook" in w["url"]]  # no other receiver gets it
    checked = run(amtool, "check-config", str(path))
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    # The token set and no file named: that Alertmanager would be refused by serve, so the export says so and writes nothing.
    (tmp_path / "again").mkdir()
    with pytest.raises(ConfigError, match="TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN is set.*alertmanager.targetwatch_token_file"):
        export_alertmanager(example, tmp_path / "again", variant(targetwatch_token_file=None))
    assert list((tmp_path / "again").iterdir()) == []
    monkeypatch.delenv("TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN")
    untokened = export_alertmanager(example, tmp_path / "again", variant(targetwatch_token_file=None)).read_text(encoding="utf-8")
    assert "/alertmanager/webhook" in untokened and "http_config" not in untokened  # loopback-only serve needs none


def test_the_wechat_secret_comes_from_the_environment_and_the_file_is_private(example, tmp_path, monkeypatch):
    monkeypatch.setenv("TARGETWATCH_WECHAT_API_SECRET", "corp-secret-xyz")
    (tmp_path / "alertmanager.yml").write_text("an older, world-readable file\n", encoding="utf-8")
    path = export_alertmanager(example, tmp_path, VARIANTS["alertmanager"])
    assert "wechat_api_secret: corp-secret-xyz" in path.read_text(encoding="utf-8")
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_wechat_secret_is_never_written_into_a_file_git_tracks(example, tmp_path, monkeypatch):
    git = require_binary("git")
    monkeypatch.setenv("TARGETWATCH_WECHAT_API_SECRET", "corp-secret-xyz")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "alertmanager.yml").write_text("tracked\n", encoding="utf-8")
    subprocess.run([git, "add", "alertmanager.yml"], cwd=tmp_path, check=True)
    with pytest.raises(ConfigError, match="tracked by git"):
        export_alertmanager(example, tmp_path, VARIANTS["alertmanager"])
    assert (tmp_path / "alertmanager.yml").read_text(encoding="utf-8") == "tracked\n"


def test_the_provisioned_config_addresses_services_by_their_compose_names(example, tmp_path):
    import urllib.parse

    import yaml

    services = set(yaml.safe_load((EXAMPLE_CONFIG.parent / "docker-compose.yml").read_text(encoding="utf-8"))["services"])
    for name, config in VARIANTS.items():
        doc = yaml.safe_load(export_alertmanager(example, tmp_path / name, config).read_text(encoding="utf-8"))
        urls = [c["url"] for r in doc["receivers"] for c in r.get("webhook_configs", [])]
        hosts = {urllib.parse.urlsplit(u).hostname for u in urls} | {doc["global"]["smtp_smarthost"].rsplit(":", 1)[0]}
        assert not hosts & {"127.0.0.1", "localhost", "::1"}, (name, hosts)
        assert all(h in services or "." in h for h in hosts), (name, hosts)  # a compose service, or a real host name
    relayed = {u for u in urls if "/alertmanager/webhook" in u}
    assert relayed and {urllib.parse.urlsplit(u).netloc for u in relayed} == {"targetwatch:9464"}


def test_the_cli_writes_into_the_deployment_provisioning_folder(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from targetwatch.cli import app

    monkeypatch.delenv("TARGETWATCH_WECHAT_API_SECRET", raising=False)
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE_CONFIG, config, ignore=shutil.ignore_patterns("provisioning", "inbox"))
    result = CliRunner().invoke(app, ["export", "prometheus-rules", "--tests", "--config", str(config)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["export", "alertmanager", "--config", str(config)])
    assert result.exit_code == 0, result.output
    for name in ("prometheus/rules.yml", "prometheus/rules_test.yml", "alertmanager/alertmanager.yml", "alertmanager/targetwatch.tmpl"):
        assert (config / "provisioning" / name).read_bytes() == (COMMITTED / name).read_bytes()


def test_alertmanager_mutes_behind_while_the_same_unit_and_rule_is_late_or_without_data(example, tmp_path):
    import json
    import time
    import urllib.request

    from exporters.push import AlertmanagerPusher
    from tests.conftest import free_port, stop, wait_http
    from tests.exporters.verdict_fixtures import good_verdict, verdict_frame

    binary = require_binary("prometheus-alertmanager")
    path = export_alertmanager(example, tmp_path)
    port = free_port()
    proc = subprocess.Popen([binary, f"--config.file={path}", f"--storage.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready")
        verdicts = verdict_frame(
            good_verdict(),  # 大祥区 behind in June …
            good_verdict(period="2023-07", status="late", severity="warning"),  # … and July's figure is overdue
            good_verdict(unit="beita"),  # 北塔区 behind in June, nothing pending
            good_verdict(unit="beita", rule="other_rule", period="2023-07", status="no_data", severity="none"),  # another rule
            good_verdict(unit="wugang"),  # 武冈市 behind in June, and July not reported yet
            good_verdict(unit="wugang", period="2023-07", status="no_data", severity="none"),
        )
        assert AlertmanagerPusher(url, example).push(verdicts)

        def states():
            with urllib.request.urlopen(f"{url}/api/v2/alerts") as resp:
                return {(a["labels"]["alertname"], a["labels"]["unit"], a["labels"]["period"]): a["status"]["state"]
                        for a in json.loads(resp.read())}

        deadline = time.monotonic() + 5  # inhibition is computed when Alertmanager next looks at the alerts
        while list(states().values()).count("suppressed") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert states() == {
            ("TargetBehind", "daxiang", "2023-06"): "suppressed",
            ("TargetLate", "daxiang", "2023-07"): "active",
            ("TargetBehind", "beita", "2023-06"): "active",
            ("TargetNoData", "beita", "2023-07"): "active",
            ("TargetBehind", "wugang", "2023-06"): "suppressed",
            ("TargetNoData", "wugang", "2023-07"): "active",
        }
    finally:
        stop(proc)
