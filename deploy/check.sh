#!/usr/bin/env bash
# Offline checks of deploy/ (issue 6): Kubernetes manifests render (kustomize) and validate
# against the Kubernetes schemas (CRDs against deploy/schemas), cross-object consistency,
# Prometheus rules (promtool check + unit tests), the Grafana dashboard's queries against
# docs/metrics.md (and a live /metrics with --metrics), the ConfigMap policy (extracted;
# loaded by the real binary with --binary), the compose file, the Dockerfile.
#
#   deploy/check.sh [--metrics FILE] [--policy-out FILE] [--binary PATH]
#
# Run from anywhere; idempotent. Installs what is missing: PyYAML and jsonschema and
# kubernetes-validate (PyPI; bundles the Kubernetes schemas, works offline) and promtool
# (Debian package `prometheus`). kustomize: `kubectl kustomize` when a kubectl with
# kustomize v4+ is on PATH (and then deploy/tools/kustomize_lite.py is compared with it);
# otherwise deploy/tools/kustomize_lite.py renders alone (no kustomize v4+ exists in Debian
# bookworm or on PyPI). Ends with `N passed, M failed[, K skipped]`; exit 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
PY=${PYTHON:-python3}

if ! "$PY" -c 'import yaml, jsonschema' 2>/dev/null; then
    echo "check.sh: installing PyYAML, jsonschema" >&2
    "$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore 'PyYAML>=6' 'jsonschema>=4.18' >&2
fi
if ! "$PY" -c 'import kubernetes_validate' 2>/dev/null; then
    echo "check.sh: installing kubernetes-validate" >&2
    "$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore 'kubernetes-validate==1.37.0' >&2
fi
if ! command -v promtool >/dev/null; then
    echo "check.sh: installing promtool (Debian package prometheus)" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

bash -n deploy/compose/create-topics.sh
exec "$PY" deploy/tools/check_deploy.py "$@"
