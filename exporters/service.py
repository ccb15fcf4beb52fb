"""``targetwatch serve``: /metrics on 127.0.0.1, periodic evaluation, digests, and the push to Alertmanager.

:class:`Service` is a library object. :meth:`Service.evaluate_and_notify` does one cycle: evaluate the
rules, hand the verdicts to the /metrics collector, record state changes and queue digests in the
ledger, queue late-report reminders to the contacts (联络人, :mod:`exporters.reminders`), deliver the
outbox, and push to Alertmanager when configured. ``notifiers.yaml``'s ``via`` picks the one path that
tells leaders: ``builtin`` (the digests; no push to Alertmanager) or ``alertmanager`` (no digests; the
push when ``alertmanager_url`` is set, and ``POST /alertmanager/webhook`` relaying Alertmanager's
notifications to the robots, :mod:`exporters.amwebhook`). Verdicts of periods older than the current
reporting period are marked ``historic`` (:func:`exporters.verdicts.historic`): held back from digests,
not pushed, and excluded by the generated alert rules. :meth:`Service.run` serves HTTP
in a thread and runs the cycle in the calling thread, the only one that touches the store, every
``interval`` seconds, or at once when :meth:`Service.request_evaluation` is called. SIGTERM and SIGINT stop it cleanly.

After a collection (:meth:`Service.collected`, the collection scheduler's hook) the loop runs an
incremental cycle instead (:meth:`Service.evaluate_changes`): only the rules that read the (indicator,
period) pairs the collection revised (:mod:`rules.reads`, from ``BatchResult.changed``) are evaluated
again, their verdicts replace the old ones, and only the verdicts that changed go to the ledger, the
digests and the reminders; the digests leave before the per-period history of those rules is updated.
The periodic full cycle stays as the safety net. The per-period history, the costliest part of a cycle,
is computed again by a full cycle only when the store's batches, the rules, the as-of day or the period
changed since it was last brought up to date.

Each cycle starts by loading the configuration once (:class:`CycleConfig`; the first cycle takes the
reading made at start): the registry (units, groups, people, indicators), the rules, the notifier
settings and the collector mappings. So an edit while the service runs changes the verdicts, the rule
titles on /metrics and the reminder contacts together, at the next cycle. A rule file with an error is
left out with its located errors logged and counted (``targetwatch_rule_files_invalid``), and every
other rule is evaluated; notifier settings or collector mappings with an error keep the last good ones.

Extension point: ``add_background(start, stop)`` registers something that runs beside the service
(the collection scheduler): ``start()`` after the HTTP server is up, ``stop()`` on shutdown.
"""

from __future__ import annotations

import gzip
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import numpy as np
import pandas as pd

import rules
from collectors.layout import Collector, load_collectors
from exporters.amwebhook import PATH as ALERTMANAGER_WEBHOOK, TOKEN_ENV as WEBHOOK_TOKEN_ENV, AlertmanagerRelay, is_loopback, refusal
from exporters.bulletin import web as bulletin_web
from exporters.channels import NotifierConfig, load_notifier_config
from exporters.collector import ExporterState, TargetwatchCollector
from exporters.exposition import render
from exporters.ledger import Ledger, ledger_path
from exporters.notify import Delivery, Notifications
from exporters.owners import RuleInfo, rule_catalogue
from exporters.annotations import Annotator
from exporters.projects import project_rule_infos, project_snapshot
from exporters.reminders import LateReminders
from exporters.push import AlertmanagerPusher
from exporters.verdicts import HISTORIC, KEY, historic, history_kinds, with_rank_change
from rules.reads import affected_rules
from targetwatch import settings as settings_mod
from targetwatch.deployment import Deployment, load_deployment
from targetwatch.errors import ConfigError
from targetwatch.grafana import token as grafana_token
from targetwatch.periods import as_of_instant
from targetwatch.store import Store, store_for

log = logging.getLogger("targetwatch.serve")
# The classic text format, which every Prometheus 2.x reads (the exposition uses legacy names only).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Cycle:
    """What one evaluate-and-notify cycle did."""

    verdicts: int
    seconds: float
    queued: int
    delivery: Delivery
    pushed: bool | None
    reminders: int = 0


@dataclass
class CycleConfig:
    """The configuration one evaluation cycle reads, loaded once at its start."""

    rules: rules.RuleSet
    notifiers: NotifierConfig
    collectors: list[Collector] = field(default_factory=list)
    catalogue: list[RuleInfo] = field(default_factory=list)
    deployment: Deployment | None = None  # with this cycle's registry (units, groups, people, indicators)
    registry_stamp: tuple = ()  # the registry files' sizes and modification times when it was read

    @property
    def rule_errors(self) -> list:
        """The located errors of the rule files left out of this cycle."""
        return [p for p in self.rules.problems if p.level == "error"]


def load_cycle_config(deployment, previous: CycleConfig | None = None, notifiers: NotifierConfig | None = None) -> CycleConfig:
    """The deployment's registry (read again after the first cycle), rules (valid files only), notifier settings
    (``notifiers`` when fixed) and collector mappings. A registry, notifier settings or mappings with an error
    keep ``previous``'s, logged with their location."""
    stamp = registry_files_stamp(deployment.root)
    if previous is not None and stamp != previous.registry_stamp:  # parsing a national registry takes seconds: only when edited
        deployment = _or_last_good(lambda: reload_registry(deployment), deployment, "the registry (units, people, indicators)")
    ruleset = rules.load_valid_rules(deployment.root, deployment)
    for problem in (p for p in ruleset.problems if p.level == "error"):
        log.warning("rule file left out of this evaluation: %s", problem)
    if notifiers is None:
        notifiers = _or_last_good(lambda: load_notifier_config(deployment.root), previous and previous.notifiers, "notifiers.yaml")
    collectors = _or_last_good(lambda: load_collectors(deployment.root), previous and previous.collectors, "a collector mapping")
    return CycleConfig(ruleset, notifiers, collectors, rule_catalogue(deployment, ruleset), deployment, stamp)


def registry_files_stamp(root) -> tuple:
    """Size and modification time of each registry file: what tells an edited registry from the one read."""
    stamps = []
    for path in sorted((root / "registry").glob("*.yaml")):
        try:
            st = path.stat()
            stamps.append((path.name, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            continue
    return tuple(stamps)


def reload_registry(deployment: Deployment) -> Deployment:
    """``deployment`` with its registry files read again (the same object when they say the same); the
    settings stay as they were at start (the store, the port and the secrets do not move under a service)."""
    fresh = load_deployment(deployment.root)
    registry = (fresh.units, fresh.groups, fresh.people, fresh.indicators)
    if registry == (deployment.units, deployment.groups, deployment.people, deployment.indicators):
        return deployment
    log.info("registry changed: %d units, %d groups, %d people, %d indicators", *map(len, registry))
    return Deployment(deployment.root, deployment.settings, deployment.settings_origin, *registry)


def _or_last_good(load: Callable, last_good, what: str):
    """``load()``, or ``last_good`` when it fails with a located error (logged); the first load must succeed."""
    try:
        return load()
    except ConfigError as exc:
        if last_good is None:
            raise
        log.warning("%s has an error; keeping the last good one: %s", what, exc)
        return last_good


def _collector_runs(settings) -> Callable[[], pd.DataFrame]:
    from collectors import runs

    path = runs.jobs_db_path(settings)
    return lambda: runs.run_history(path)


class Service:
    """The exporter service of one deployment. ``store`` is a Store, or a factory called per cycle."""

    def __init__(self, deployment, store: Store | Callable[[], Store] | None = None, *, evaluate=None, as_of=None, period=None,
                 notifier_config: NotifierConfig | None = None, ledger: Ledger | None = None, interval: float = 300.0,
                 retry_tick: float = 5.0, host: str | None = None, port: int | None = None):
        self.deployment = deployment
        settings = deployment.settings
        self._store = store
        self._evaluate = evaluate
        self.as_of = as_of or getattr(settings, "as_of", None)
        self.period = period
        self._fixed_notifiers = notifier_config
        self.cycle_config = load_cycle_config(deployment, notifiers=notifier_config)
        self._config_unused = True  # the first cycle takes this reading rather than parsing everything again
        self.config_listeners: list[Callable[[CycleConfig], None]] = []  # told of each cycle's configuration
        self.ledger = ledger or Ledger(ledger_path(settings))
        self.interval, self.retry_tick = interval, retry_tick
        self.host, self.port = host or settings.listen_host, port if port is not None else settings.listen_port
        # Read once at start, like every secret of a running service; never logged.
        self._webhook_token = settings_mod.secret(WEBHOOK_TOKEN_ENV, settings) or None  # an empty value is no token
        self.state = ExporterState()
        self.pusher: AlertmanagerPusher | None = None
        self._use_notifiers(self.cycle_config.notifiers)
        self.collector = TargetwatchCollector(self.state, deployment, batches=lambda: self.state.batches,
                                              notifications=self.ledger.counts, rule_infos=self._rule_infos,
                                              runs=_collector_runs(settings))
        # Grafana annotations (数据更新, 规则生效) when a Grafana token is configured (targetwatch.grafana).
        api_token = grafana_token(settings)
        self.annotator = Annotator(settings.dashboard_url, api_token, deployment) if api_token else None
        self._backgrounds: list[tuple[Callable[[], None], Callable[[], None]]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # (indicator, period) pairs landed by collections since the last cycle; a full cycle when asked for
        # (request_evaluation) or when a collection cannot say what it changed.
        self._pending: set[tuple[str, int]] = set()
        self._full_requested = False
        self._pending_lock = threading.Lock()
        self._verdicts: pd.DataFrame | None = None  # the last cycle's verdicts (with HISTORIC), before rank changes
        self._history = pd.DataFrame()  # the last per-period history, before rank changes
        self._history_key: tuple | None = None  # what that history was computed from (see _history_inputs)
        self.server: ThreadingHTTPServer | None = None
        self._rendered: tuple | None = None  # (what the state families were built from, their rendering)

    # -- configuration -----------------------------------------------------------------------------------

    def reload(self) -> CycleConfig:
        """Load this cycle's configuration once, and hand it to everything that reads it."""
        if self._config_unused:  # read at start: the first cycle uses it (a broken rule file is logged once)
            self._config_unused = False
            config = self.cycle_config
        else:
            config = load_cycle_config(self.deployment, self.cycle_config, self._fixed_notifiers)
        registry_changed = config.deployment is not None and config.deployment is not self.deployment
        if registry_changed:  # everything that names units, people or indicators reads the new registry
            self.deployment = self.collector.deployment = config.deployment
            if self.annotator is not None:
                self.annotator.deployment = config.deployment
        if registry_changed or config.notifiers != self.cycle_config.notifiers:
            self._use_notifiers(config.notifiers)
        self.cycle_config = config
        for listener in self.config_listeners:
            listener(config)
        return config

    def _use_notifiers(self, config: NotifierConfig) -> None:
        settings = self.deployment.settings
        self.config = config
        self.notifications = Notifications(self.deployment, self.ledger, config, settings.dashboard_url)
        self.reminders = LateReminders(self.deployment, self.ledger, config)
        self.relay = AlertmanagerRelay(self.deployment, self.ledger, config, self.notifications, lambda: self.state.verdicts)
        if settings.alertmanager_url and config.via == "alertmanager":
            if self.pusher is None:  # kept across reloads: it remembers what it pushed, to resolve it
                self.pusher = AlertmanagerPusher(settings.alertmanager_url, self.deployment, config.push_resolve_seconds,
                                                 settings.dashboard_url.rstrip("/") + config.dashboard_path)
        else:
            if settings.alertmanager_url:
                log.warning("alertmanager_url is set but notifiers.yaml says via: builtin: not pushing (one notification path at a time)")
            self.pusher = None

    def _rule_infos(self) -> list[tuple[str, str, str]]:
        return [(r.id, r.title, r.document) for r in self.cycle_config.catalogue] + project_rule_infos()

    # -- one cycle -------------------------------------------------------------------------------------

    def evaluate(self) -> tuple[pd.DataFrame, float]:
        """Load the configuration, evaluate the rules and expose the verdicts on /metrics; notify nobody (``serve --once``)."""
        self.reload()
        store, owned = self._open_store()
        try:
            started = time.perf_counter()
            verdicts = self._with_historic(self._run_evaluate(store))
            batches = store.batches()
            history = self._full_history(store, batches)
            seconds = time.perf_counter() - started
            self._verdicts = verdicts
            self.state.set_verdicts(with_rank_change(verdicts, history), seconds, batches,
                                    invalid_rule_files=self.cycle_config.rules.invalid_files, history=history)
            self.state.projects = project_snapshot(self.deployment, store, self.as_of, verdicts)
            self._annotate(store)
        finally:
            if owned:
                store.close()
        return verdicts, seconds

    def evaluate_and_notify(self) -> Cycle:
        """Evaluate, expose, record changes, queue digests and late-report reminders, deliver, push alerts. Thread-safe."""
        with self._lock:
            verdicts, seconds = self.evaluate()
            queued = self.notifications.plan(verdicts)
            reminded = self.plan_reminders(verdicts)
            delivery = self.notifications.deliver()
            pushed = self.pusher.push(verdicts) if self.pusher else None
            log.info("evaluated %d verdicts in %.2f s; %d digest(s) and %d reminder(s) queued, %d sent, %d failed",
                     len(verdicts), seconds, queued, reminded, delivery.sent, delivery.failed)
            return Cycle(len(verdicts), seconds, queued, delivery, pushed, reminded)

    def evaluate_changes(self, changed: set[tuple[str, int]]) -> Cycle:
        """After a collection landed revisions of the ``changed`` (indicator, period) pairs: re-evaluate only
        the rules that read them (:mod:`rules.reads`), with this cycle's configuration (no reload: the
        periodic full cycle reloads), and hand only the verdicts that changed to the ledger, the digests and
        the reminders. The digests leave before the slower per-period history of those rules is updated;
        /metrics then shows every verdict, the unchanged ones as they were. Thread-safe."""
        if self._evaluate is not None or self._verdicts is None:  # fixed verdicts, or no full cycle yet
            return self.evaluate_and_notify()
        with self._lock:
            started = time.perf_counter()
            ruleset = self.cycle_config.rules
            ids = affected_rules(ruleset, changed, as_of_day=as_of_instant(self.as_of).date(), period=self.period)
            store, owned = self._open_store()
            try:
                fresh = rules.evaluate(self.deployment, store, as_of=self.as_of, period=self.period, rules=ids,
                                       ruleset=ruleset) if ids else self._verdicts.iloc[0:0]
                verdicts, news = replace_rules(self._verdicts, self._with_historic(fresh), ids)
                seconds = time.perf_counter() - started
                self._verdicts = verdicts
                queued = self.notifications.plan(verdicts, changed=news)
                reminded = self.plan_reminders(news)
                delivery = self.notifications.deliver()
                batches = store.batches()
                history = self._update_history(store, ids, batches)
                self.state.set_verdicts(with_rank_change(verdicts, history), seconds, batches, history=history)
                self._annotate(store)
            finally:
                if owned:
                    store.close()
            pushed = self.pusher.push(verdicts) if self.pusher else None
            log.info("re-evaluated %d of %d rules for %d changed (indicator, period) pairs in %.2f s: %d verdict(s) changed; "
                     "%d digest(s) and %d reminder(s) queued, %d sent, %d failed", len(ids), len(ruleset.ids), len(changed),
                     seconds, len(news), queued, reminded, delivery.sent, delivery.failed)
            return Cycle(len(news), seconds, queued, delivery, pushed, reminded)

    def _with_historic(self, verdicts: pd.DataFrame) -> pd.DataFrame:
        return verdicts.assign(**{HISTORIC: np.where(historic(verdicts, self.period), "true", None)})

    def plan_reminders(self, verdicts: pd.DataFrame) -> int:
        """Queue the reminders the late verdicts owe to contacts; a failure is logged and leaves digests and delivery alone.

        Late reports of historic periods are not reminded, as their digests are not sent: a first start
        or a restart after downtime does not flood the contacts either.
        """
        if HISTORIC in verdicts:
            verdicts = verdicts[verdicts[HISTORIC] != "true"]
        try:
            return self.reminders.plan(verdicts, self.as_of)
        except Exception:  # the next cycle tries again; nothing was recorded (one transaction)
            log.exception("late-report reminders failed this cycle")
            return 0

    def _run_evaluate(self, store: Store) -> pd.DataFrame:
        if self._evaluate is not None:
            return self._evaluate(self.deployment, store, as_of=self.as_of, period=self.period)
        return rules.evaluate(self.deployment, store, as_of=self.as_of, period=self.period, ruleset=self.cycle_config.rules)

    def _annotate(self, store: Store) -> None:
        """Post the Grafana annotations due this cycle; a Grafana that is down costs a log line, not the cycle."""
        if self.annotator is None:
            return
        try:
            self.annotator.cycle(store, as_of_instant(self.as_of).date(), self.cycle_config.rules.docs)
        except Exception as exc:  # noqa: BLE001 - annotations are a courtesy; the token never reaches the log
            log.warning("Grafana annotations failed this cycle: %s", type(exc).__name__)

    def _run_history(self, store: Store, only: list[str] | None = None) -> pd.DataFrame:
        """Every period so far of the rules that rank, compare or pace (of those in ``only``), for their whole
        peer group: what the league table and the pacing charts show, before rank changes. Only with the rule
        engine (a test's fixed verdicts have none)."""
        if self._evaluate is not None:
            return pd.DataFrame()
        ruleset = self.cycle_config.rules
        kinds = history_kinds(ruleset)
        ids = [i for i in kinds if only is None or i in set(only)]
        if not ids:
            return pd.DataFrame()
        history = rules.evaluate(self.deployment, store, as_of=self.as_of, period="all", rules=ids, whole_group=True,
                                 ruleset=ruleset)
        return history.assign(kind=history["rule"].map(kinds))

    def _history_inputs(self, batches: pd.DataFrame) -> tuple:
        """What the history is a function of: the store's batches, the rules, the as-of day and the period."""
        ruleset = self.cycle_config.rules
        landed = (len(batches), int(batches["id"].max()) if len(batches) and "id" in batches else None)
        rules_seen = hash(repr([(d.file, d.raw) for d in ruleset.docs]))
        return landed, rules_seen, as_of_instant(self.as_of).date(), self.period

    def _full_history(self, store: Store, batches: pd.DataFrame) -> pd.DataFrame:
        """The whole history, computed again only when its inputs changed since it was last brought up to date
        (by a full cycle, or by the incremental cycles after each collection): the costliest part of a cycle."""
        key = self._history_inputs(batches)
        if key != self._history_key:
            self._history, self._history_key = self._run_history(store), key
        return with_rank_change(self._history, self._history)

    def _update_history(self, store: Store, ids: list[str], batches: pd.DataFrame) -> pd.DataFrame:
        """The history with the rules in ``ids`` evaluated again (the others read nothing that changed)."""
        kinds = history_kinds(self.cycle_config.rules)
        wanted = [i for i in ids if i in kinds]
        if wanted and self._evaluate is None:  # a rule whose history is now empty loses its old rows too
            self._history = replace_rules(self._history, self._run_history(store, wanted), wanted)[0]
        self._history_key = self._history_inputs(batches)
        return with_rank_change(self._history, self._history)

    def _open_store(self) -> tuple[Store, bool]:
        return store_for(self._store, self.deployment.settings)

    def scrape(self) -> bytes:
        """One /metrics body, as Prometheus would receive it. The per-verdict and info families are rendered
        once per evaluation (most of the body and of its cost); the counters are read at every scrape."""
        frames = self.collector.frames()
        cached = self._rendered
        if cached is None or any(a is not b for a, b in zip(cached[0][:3], frames[:3])) or cached[0][3] != frames[3] \
                or cached[0][4] is not self.deployment:
            cached = self._rendered = ((*frames, self.deployment), render(_Families(self.collector.state_families(*frames))))
        return cached[1] + render(_Families(self.collector.live_families()))

    # -- long-running ----------------------------------------------------------------------------------

    def add_background(self, start: Callable[[], None], stop: Callable[[], None]) -> None:
        """Run something beside the service: ``start()`` once serving, ``stop()`` on shutdown."""
        self._backgrounds.append((start, stop))

    def request_evaluation(self, *_args) -> None:
        """Ask the run loop for a full cycle now (safe from any thread)."""
        with self._pending_lock:
            self._full_requested = True
        self._wake.set()

    def collected(self, result) -> None:
        """The collection scheduler's hook after a collection that landed new revisions: ask the run loop to
        re-evaluate the rules that read them (safe from any thread). A batch that does not say which
        (indicator, period) pairs changed (``BatchResult.changed`` None) asks for a full cycle."""
        landed = [b.changed for b in getattr(result, "batches", []) if b.revisions_added]
        with self._pending_lock:
            if not landed or any(pairs is None for pairs in landed):
                self._full_requested = True
            else:
                self._pending.update(*landed)
        self._wake.set()

    def _take_pending(self) -> tuple[set[tuple[str, int]], bool]:
        """The pairs landed since the last cycle and whether a full cycle was asked for; both reset."""
        with self._pending_lock:
            pending, full = self._pending, self._full_requested
            self._pending, self._full_requested = set(), False
        return pending, full

    def stop(self) -> None:
        """Ask :meth:`run` to finish (what SIGTERM does)."""
        self._stop.set()
        self._wake.set()

    def start_http(self) -> ThreadingHTTPServer:
        """Serve /metrics and /-/healthy in a daemon thread; return the server (its port may be 0 → chosen)."""
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                log.debug("%s " + fmt, self.address_string(), *args)

            def do_POST(self):
                path = self.path.split("?", 1)[0]
                if path != ALERTMANAGER_WEBHOOK:
                    return self._answer(404, f"not found: POST {ALERTMANAGER_WEBHOOK}\n".encode())
                refused = service.webhook_refusal(self.headers.get("Authorization"))
                if refused is not None:  # nothing read, relayed or queued; the header's value is never logged
                    log.warning("refused POST %s from %s: %s", ALERTMANAGER_WEBHOOK, self.client_address[0], refused[1])
                    return self._answer(refused[0], f"refused: {refused[1]}\n".encode(), bearer=refused[0] == 401)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                code, text = service.relay.handle(body)
                self._answer(code, text.encode())
                if code == 200:  # queued durably; deliver now rather than at the next retry tick
                    service.notifications.deliver()

            def _answer(self, code: int, body: bytes, bearer: bool = False) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                if bearer:
                    self.send_header("WWW-Authenticate", 'Bearer realm="targetwatch"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                encoding = None
                if path == "/metrics":
                    body, ctype, code = service.scrape(), CONTENT_TYPE, 200
                    if "gzip" in self.headers.get("Accept-Encoding", ""):  # Prometheus asks; a fast level is plenty
                        body, encoding = gzip.compress(body, compresslevel=1), "gzip"
                elif bulletin_web.handles(path):  # the read-only 通报 page for people outside Grafana
                    body, ctype, code = bulletin_web.page(service, path)
                elif path in ("/-/healthy", "/-/ready"):
                    body, ctype, code = b"OK\n", "text/plain", 200
                else:
                    body, ctype, code = b"not found: try /metrics\n", "text/plain", 404
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                if encoding:
                    self.send_header("Content-Encoding", encoding)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="targetwatch-http", daemon=True).start()
        log.info("serving http://%s:%d/metrics", *self.server.server_address[:2])
        if self._webhook_token is None:  # said once, at start: the endpoint's stance does not change while serving
            if is_loopback(self.host):  # only this machine can reach it: said, not warned (every local serve would warn)
                log.info("POST %s takes unauthenticated requests (serve listens on loopback only); set %s to require a token",
                            ALERTMANAGER_WEBHOOK, WEBHOOK_TOKEN_ENV)
            else:
                log.warning("POST %s is refused: serve listens on %s, beyond loopback, and %s is not set",
                            ALERTMANAGER_WEBHOOK, self.host, WEBHOOK_TOKEN_ENV)
        return self.server

    def webhook_refusal(self, authorization: str | None) -> tuple[int, str] | None:
        """Why ``POST /alertmanager/webhook`` with this ``Authorization`` header is refused, or ``None`` (:func:`exporters.amwebhook.refusal`)."""
        return refusal(authorization, self._webhook_token, is_loopback(self.host))

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT or :meth:`stop`: evaluate every ``interval`` s, retry the outbox often."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        self.start_http()
        for start, _ in self._backgrounds:
            start()
        next_cycle = 0.0
        try:
            while not self._stop.is_set():
                if self._wake.is_set() or time.monotonic() >= next_cycle:
                    self._wake.clear()
                    changed, full = self._take_pending()
                    full = full or time.monotonic() >= next_cycle
                    try:
                        if full:  # the periodic safety net: the configuration reloaded, every rule evaluated
                            self.evaluate_and_notify()
                        elif changed:
                            self.evaluate_changes(changed)
                    except Exception:  # keep serving the last verdicts; the next cycle tries again
                        log.exception("evaluation failed; serving the previous verdicts")
                        if not full:  # whatever the failed cycle was to cover, the next full one does
                            next_cycle = 0.0
                    if full:
                        next_cycle = time.monotonic() + self.interval
                else:
                    self.notifications.deliver()
                self._wake.wait(min(self.retry_tick, max(0.0, next_cycle - time.monotonic())))
        finally:
            for _, stop in reversed(self._backgrounds):
                stop()
            self.server.shutdown()
            self.server.server_close()
            self.ledger.close()
            log.info("stopped")


def replace_rules(previous: pd.DataFrame, fresh: pd.DataFrame, ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``previous`` with the rows of the rules in ``ids`` replaced by ``fresh``, and the rows of ``fresh`` that
    are new or differ from the row of the same key in ``previous`` (the verdicts that changed)."""
    replaced = previous["rule"].isin(ids) if len(previous) else pd.Series(False, index=previous.index)
    merged = pd.concat([previous[~replaced], fresh], ignore_index=True) if len(fresh) else previous[~replaced].reset_index(drop=True)
    if fresh.empty or previous.empty:
        return merged, fresh
    key = list(KEY)
    old = previous[replaced].drop_duplicates(key)
    compared = [c for c in fresh.columns if c in old.columns and c not in key]
    joined = fresh[key].merge(old[[*key, *compared]], on=key, how="left", indicator=True)
    differs = (joined["_merge"] == "left_only").to_numpy().copy()
    for column in compared:
        # As text through numpy (NaN reads "nan" on both sides; pandas' own astype(str) would keep it missing).
        differs |= fresh[column].to_numpy(dtype=object).astype(str) != joined[column].to_numpy(dtype=object).astype(str)
    return merged, fresh[differs]


class _Families:
    """Some metric families as a collector (what :func:`render` takes)."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        yield from self.families
