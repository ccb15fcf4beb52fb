"""Private files from birth and settings from the right place (issue 14).

Files are checked under a permissive umask (022), where anything created with default modes would be
0644; ``os.chmod`` is made to fail, so a file that is only private after a chmod fails the test.
"""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from targetwatch.cli import app
from targetwatch.deployment import load_deployment
from targetwatch.errors import ConfigError


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def open_umask(monkeypatch):
    """umask 022 for the test, and no chmod allowed: privacy has to come from the creating call."""
    old = os.umask(0o022)

    def refuse(*args, **kwargs):
        raise AssertionError("chmod after creation: the file was not private from birth")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(Path, "chmod", refuse)
    yield
    os.umask(old)


def test_the_store_its_wal_and_shm_and_a_new_folder_are_private_from_birth(tmp_path, deployment_dir, open_umask):
    from collectors.ingest import ingest_file
    from targetwatch.store.sqlite import SQLiteStore

    path = tmp_path / "new" / "deeper" / "store.db"
    store = SQLiteStore(path)
    try:
        csv = tmp_path / "a.csv"
        csv.write_text("unit,indicator,period,value\n北塔区,gdp,2023-Q2,10\n", encoding="utf-8")
        assert ingest_file(load_deployment(deployment_dir), store, csv).ok
        files = {p.name: mode(p) for p in path.parent.iterdir()}
        assert files == {"store.db": 0o600, "store.db-wal": 0o600, "store.db-shm": 0o600}
        assert mode(tmp_path / "new") == mode(tmp_path / "new" / "deeper") == 0o700
    finally:
        store.close()


def test_the_notification_ledger_and_the_run_history_are_private_from_birth(tmp_path, open_umask):
    from collectors import runs
    from exporters.ledger import Ledger

    ledger = Ledger(tmp_path / "state" / "notify.db")
    ledger.con.execute("CREATE TABLE IF NOT EXISTS probe (x)")
    ledger.con.execute("INSERT INTO probe VALUES (1)")
    now = datetime.now(timezone.utc)
    runs.record_run(tmp_path / "state" / "jobs.db", "c", scheduled_for=None, started_at=now, finished_at=now, status="ok", attempts=1)
    try:
        modes = {p.name: mode(p) for p in (tmp_path / "state").iterdir()}
    finally:
        ledger.close()
    assert modes and set(modes.values()) == {0o600}, modes
    assert {"notify.db", "notify.db-wal", "jobs.db"} <= set(modes)
    assert mode(tmp_path / "state") == 0o700


def test_drop_folder_reports_and_folders_are_private_from_birth(deployment_dir, store, open_umask):
    from collectors.layout import load_collectors
    from collectors.sources import collect
    from tests.collectors.schedule_helpers import write_collector

    write_collector(deployment_dir, "drop", '  files: ["drop/*.csv"]\n  sheets: [{shape: long}]\n  source: {kind: dropfolder, settle_seconds: 0}\n')
    (deployment_dir / "drop").mkdir()
    (deployment_dir / "drop" / "empty.csv").write_bytes(b"")
    (deployment_dir / "drop" / "bad.csv").write_text("unit,indicator,period,value\n火星区,gdp,2023-Q2,1\n", encoding="utf-8")
    dep = load_deployment(deployment_dir)
    collect(dep, store, load_collectors(dep.root)[0])
    drop = deployment_dir / "drop"
    assert mode(drop / "archive") == mode(drop / "rejected") == 0o700
    assert mode(drop / "rejected" / "empty.csv.report.txt") == mode(drop / "archive" / "bad.csv.report.txt") == 0o600


def test_the_alertmanager_file_with_the_wechat_secret_is_private_and_never_in_a_tracked_tree(tmp_path, monkeypatch, deployment_dir, open_umask):
    from exporters.alertmanager import export_alertmanager
    from tests.exporters.test_generated import VARIANTS

    wechat = VARIANTS["alertmanager-all-wechat"]  # every leader on WeCom: the file holds the corp-app secret
    monkeypatch.setenv("TARGETWATCH_WECHAT_API_SECRET", "corp-secret-xyz")
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("private/\n", encoding="utf-8")
    dep = load_deployment(deployment_dir)
    # Not yet tracked, but not ignored either: one `git add .` away from the repository.
    with pytest.raises(ConfigError, match="in a git work tree and not ignored"):
        export_alertmanager(dep, repo / "provisioning", wechat)
    assert not (repo / "provisioning" / "alertmanager.yml").exists()
    written = export_alertmanager(dep, repo / "private", wechat)
    assert "corp-secret-xyz" in written.read_text(encoding="utf-8")
    assert mode(written) == 0o600 and mode(repo / "private") == 0o700
    monkeypatch.delenv("TARGETWATCH_WECHAT_API_SECRET")
    placeholder = export_alertmanager(dep, repo / "provisioning", wechat)  # no secret: the work tree is fine
    assert "corp-secret-xyz" not in placeholder.read_text(encoding="utf-8")


# -- settings -------------------------------------------------------------------------------------


def _settings(deployment_dir: Path, text: str) -> None:
    (deployment_dir / "settings.yaml").write_text((deployment_dir / "settings.yaml").read_text(encoding="utf-8") + text, encoding="utf-8")


def test_command_line_beats_environment_beats_settings_file_beats_defaults_and_each_origin_is_true(deployment_dir, monkeypatch):
    _settings(deployment_dir, "listen_port: 9999\nlog_level: INFO\ninflux: {bucket: from_file, url: 'http://file:1'}\n")
    monkeypatch.delenv("TARGETWATCH_LOG_LEVEL", raising=False)
    monkeypatch.setenv("TARGETWATCH_LISTEN_PORT", "7777")
    monkeypatch.setenv("TARGETWATCH_INFLUX__URL", "http://env:2")
    monkeypatch.setenv("TARGETWATCH_DASHBOARD_URL", "http://env-dash")
    dep = load_deployment(deployment_dir, settings_overrides={"dashboard_url": "http://cli-dash"})
    s, origin = dep.settings, dep.settings_origin
    file = str(deployment_dir / "settings.yaml")
    assert (s.listen_port, origin["listen_port"]) == (7777, "environment (TARGETWATCH_LISTEN_PORT)")
    assert (s.log_level, origin["log_level"]) == ("INFO", file)
    assert (s.influx.url, origin["influx.url"]) == ("http://env:2", "environment (TARGETWATCH_INFLUX__URL)")
    assert (s.influx.bucket, origin["influx.bucket"]) == ("from_file", file)
    assert (s.influx.org, origin["influx.org"]) == ("targetwatch", "default")
    assert (s.dashboard_url, origin["dashboard_url"]) == ("http://cli-dash", "command line")
    shown = CliRunner().invoke(app, ["config", "show", "--config", str(deployment_dir)])
    row = next(line for line in shown.output.splitlines() if "listen_port" in line)
    assert "7777" in row and "environment (TARGETWATCH_LISTEN_PORT)" in row


def test_a_token_in_settings_yaml_is_refused_at_its_line_and_never_printed(deployment_dir):
    _settings(deployment_dir, "influx:\n  url: http://127.0.0.1:8086\n  token: do-not-keep-me-here\n")
    with pytest.raises(ConfigError, match="influx.token is a secret and is not read from settings.yaml") as caught:
        load_deployment(deployment_dir)
    assert caught.value.location.line == 4
    run = CliRunner().invoke(app, ["config", "show", "--config", str(deployment_dir)])
    assert run.exit_code == 2 and "TARGETWATCH_INFLUX__TOKEN" in run.output and "do-not-keep-me-here" not in run.output


def test_the_influx_token_comes_from_the_secrets_file_unless_the_environment_has_it(deployment_dir, tmp_path, monkeypatch, caplog):
    secrets = tmp_path / "secrets.env"
    secrets.write_text("TARGETWATCH_INFLUX__TOKEN=from-secrets-file\n", encoding="utf-8")
    secrets.chmod(0o644)
    _settings(deployment_dir, f"secrets_file: {secrets}\n")
    monkeypatch.delenv("TARGETWATCH_INFLUX__TOKEN", raising=False)
    dep = load_deployment(deployment_dir)
    assert f"the secrets file {secrets} is readable by other users (mode 644)" in caplog.text
    assert "from-secrets-file" not in caplog.text
    assert (dep.settings.influx.token_value(), dep.settings_origin["influx.token"]) == ("from-secrets-file", "secrets file")
    monkeypatch.setenv("TARGETWATCH_INFLUX__TOKEN", "from-env")
    dep = load_deployment(deployment_dir)
    assert (dep.settings.influx.token_value(), dep.settings_origin["influx.token"]) == ("from-env", "environment (TARGETWATCH_INFLUX__TOKEN)")
    shown = CliRunner().invoke(app, ["config", "show", "--config", str(deployment_dir)])
    assert "from-env" not in shown.output and "********" in shown.output


def test_a_secret_comes_from_the_environment_then_the_file_its_file_variable_names_then_the_secrets_file(tmp_path, monkeypatch):
    from targetwatch.settings import secret

    name = "TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN"
    for var in (name, name + "_FILE", "TARGETWATCH_SECRETS_FILE"):
        monkeypatch.delenv(var, raising=False)
    assert secret(name) is None
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"{name}=from-secrets-file\n", encoding="utf-8")
    monkeypatch.setenv("TARGETWATCH_SECRETS_FILE", str(secrets))
    assert secret(name) == "from-secrets-file"
    mounted = tmp_path / "webhook_token"  # what compose mounts at /run/secrets/…, shared with Alertmanager
    mounted.write_text("from-mounted-file\n", encoding="utf-8")
    monkeypatch.setenv(name + "_FILE", str(mounted))
    assert secret(name) == "from-mounted-file"  # the trailing newline is not part of the secret (Alertmanager trims it too)
    monkeypatch.setenv(name, "from-env")
    assert secret(name) == "from-env"
    monkeypatch.delenv(name)
    monkeypatch.setenv(name + "_FILE", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match=f"{name}_FILE names {tmp_path / 'absent'}, which cannot be read"):
        secret(name)
