#!/usr/bin/env bash
# Builds helm from its Go module into ~/.cache/vabot/helm-<version>/helm (cached by version).
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-3.22.0}"
OUT="${XDG_CACHE_HOME:-$HOME/.cache}/vabot/helm-$HELM_VERSION"
if [ -x "$OUT/helm" ] && "$OUT/helm" version --short 2>/dev/null | grep -q "v$HELM_VERSION"; then
  echo "$OUT/helm"; exit 0
fi
cd "$(dirname "$0")/helm-bin"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
start=$(date +%s)
echo "[helm] building helm v$HELM_VERSION from Go modules (once; cached in $OUT)" >&2
go get "helm.sh/helm/v3@v$HELM_VERSION" >&2
mkdir -p "$OUT"
go build -p 2 -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" -o "$OUT/helm" helm.sh/helm/v3/cmd/helm >&2
echo "[helm] built in $(( $(date +%s) - start ))s" >&2
echo "$OUT/helm"
