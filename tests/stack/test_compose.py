"""docker-compose.yml against the Compose Specification schema, and the files it mounts.

No Docker runs here; the schema (tests/stack/compose-spec.json, see compose-spec.SOURCE.txt) and the
checks below are what can be verified offline. promtool and amtool check the Prometheus and
Alertmanager files that compose mounts.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT, require, require_binary

SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text(encoding="utf-8"))
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
PROMETHEUS_DIR = ROOT / "config" / "provisioning" / "prometheus"
ALERTMANAGER_DIR = ROOT / "config" / "provisioning" / "alertmanager"


def errors(document) -> list[str]:
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document))


def test_the_compose_file_is_valid_against_the_compose_specification():
    assert errors(COMPOSE) == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda c: c["services"]["grafana"].__setitem__("helthcheck", {}),
        lambda c: c["services"]["grafana"]["depends_on"]["influxdb"].__setitem__("condition", "service_ready"),
        lambda c: c["services"]["influxdb"]["healthcheck"].__setitem__("every", "10s"),
    ],
    ids=["a misspelt service key fails", "an unknown depends_on condition fails", "an unknown healthcheck key fails"],
)
def test_the_schema_rejects_a_broken_compose_file(breakage):
    broken = copy.deepcopy(COMPOSE)
    breakage(broken)
    assert errors(broken) != []


def test_the_stack_runs_the_five_services_with_healthchecks_and_named_volumes():
    services = COMPOSE["services"]
    assert sorted(services) == ["alertmanager", "grafana", "influxdb", "prometheus", "targetwatch"]
    assert services["grafana"]["image"] == "grafana/grafana:11.6.0"  # the SDK pin builds for Grafana 11.6
    assert services["influxdb"]["image"].startswith("influxdb:2.")
    assert services["targetwatch"]["build"] == "."
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"
            else:
                assert source in COMPOSE["volumes"], f"{name}: volume {source} is not declared"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_secrets_come_from_the_env_file_and_the_example_names_every_one():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert required == {"INFLUX_TOKEN", "INFLUXDB_ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
                   if line and not line.startswith("#"))
    assert used <= set(example)
    assert all("CHANGE-ME" in example[name] for name in required)
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_grafana_provisioning_names_the_uids_the_dashboards_use():
    sources = yaml.safe_load((ROOT / "config/provisioning/grafana/datasources/targetwatch.yaml").read_text(encoding="utf-8"))
    uids = {s["uid"]: s["type"] for s in sources["datasources"]}
    assert uids == {"targetwatch-prometheus": "prometheus", "targetwatch-influxdb": "influxdb", "targetwatch-alertmanager": "alertmanager"}
    influx = next(s for s in sources["datasources"] if s["type"] == "influxdb")
    assert influx["jsonData"]["version"] == "Flux" and influx["secureJsonData"]["token"] == "$INFLUX_TOKEN"
    used = set(re.findall(r'"uid": "(targetwatch-[a-z]+)"', "".join(p.read_text(encoding="utf-8") for p in (ROOT / "dashboards/generated").glob("*.json"))))
    assert used <= set(uids)
    provider = yaml.safe_load((ROOT / "config/provisioning/grafana/dashboards/targetwatch.yaml").read_text(encoding="utf-8"))
    mount = next(v for v in COMPOSE["services"]["grafana"]["volumes"] if v.startswith("./dashboards/generated:"))
    assert provider["providers"][0]["options"]["path"] == mount.split(":")[1]
    home = COMPOSE["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == mount.split(":")[1] + "/tw-overview.json"


def test_promtool_accepts_the_prometheus_config_and_its_rules():
    promtool = require_binary("promtool")
    require((PROMETHEUS_DIR / "rules.yml").exists(), "config/provisioning/prometheus/rules.yml is not generated yet")
    result = subprocess.run([promtool, "check", "config", str(PROMETHEUS_DIR / "prometheus.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_accepts_the_alertmanager_config():
    amtool = require_binary("amtool")
    require((ALERTMANAGER_DIR / "alertmanager.yml").exists(), "config/provisioning/alertmanager/alertmanager.yml is not generated yet")
    result = subprocess.run([amtool, "check-config", str(ALERTMANAGER_DIR / "alertmanager.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_reads_its_smtp_password_from_the_secret_file_compose_mounts():
    # No docker compose here: the compose file, the generated alertmanager.yml and notifiers.yaml must name one path.
    alertmanager = yaml.safe_load((ALERTMANAGER_DIR / "alertmanager.yml").read_text(encoding="utf-8"))
    wanted = alertmanager["global"]["smtp_auth_password_file"]
    notifiers = yaml.safe_load((ROOT / "config" / "notifiers.yaml").read_text(encoding="utf-8"))
    assert notifiers["alertmanager"]["smtp_auth_password_file"] == wanted  # the export writes what notifiers.yaml says
    mounted = mounted_secrets("alertmanager")
    assert wanted in mounted, f"alertmanager.yml reads {wanted}; compose mounts {sorted(mounted)}"
    secret_file = COMPOSE["secrets"][mounted[wanted]]["file"]
    assert secret_file.startswith("./secrets/")
    assert "/secrets/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()  # the password is never committed
    assert "smtp_auth_password:" not in (ALERTMANAGER_DIR / "alertmanager.yml").read_text(encoding="utf-8")


def mounted_secrets(service: str) -> dict[str, str]:
    """Where compose mounts each secret of ``service``: {path inside the container: secret name}."""
    mounted = {}
    for entry in COMPOSE["services"][service].get("secrets", []):
        source, target = (entry, entry) if isinstance(entry, str) else (entry["source"], entry.get("target", entry["source"]))
        mounted[target if target.startswith("/") else f"/run/secrets/{target}"] = source
    return mounted


def test_alertmanager_and_serve_read_the_webhook_token_from_one_secret_file_compose_mounts():
    # notifiers.yaml names the file Alertmanager presents as a bearer; serve must read the very same secret.
    wanted = yaml.safe_load((ROOT / "config" / "notifiers.yaml").read_text(encoding="utf-8"))["alertmanager"]["targetwatch_token_file"]
    at_alertmanager, at_serve = mounted_secrets("alertmanager"), mounted_secrets("targetwatch")
    assert wanted in at_alertmanager and wanted in at_serve, (wanted, at_alertmanager, at_serve)
    assert at_alertmanager[wanted] == at_serve[wanted]
    assert COMPOSE["services"]["targetwatch"]["environment"]["TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN_FILE"] == wanted
    assert "TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN" not in COMPOSE["services"]["targetwatch"]["environment"]  # never inline
    assert COMPOSE["secrets"][at_serve[wanted]]["file"].startswith("./secrets/")  # ignored by git
