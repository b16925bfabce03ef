#!/usr/bin/env bash
# Installs what consent-gate needs on a fresh Debian machine: librdkafka (with its mock
# cluster) and pkg-config. Safe to run repeatedly; does nothing when all is present.
set -euo pipefail
need=()
pkg-config --exists rdkafka 2>/dev/null || need+=(librdkafka-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
if ((${#need[@]})); then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "bootstrap: installing ${need[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "bootstrap: swift 6.2+ is required (not found on PATH)" >&2; exit 1; }
