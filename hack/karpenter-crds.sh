#!/usr/bin/env bash
# Fetches Karpenter's CRDs (karpenter.sh_*.yaml) from its published Go module, sigs.k8s.io/karpenter
# at KARPENTER_VERSION (hack/versions.env), into ~/.cache/hearth, and prints the directory that holds
# them. Upstream files are never committed: the NodePool controller's integration test applies them
# to the simulated cluster, checks what Hearth writes is accepted, and removes them again.
#   bash hack/karpenter-crds.sh      → /root/.cache/hearth/karpenter-v1.14.3/crds
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(grep '^KARPENTER_VERSION=' "$root/hack/versions.env" | cut -d= -f2)"
cache="${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}"
out="$cache/karpenter-$version/crds"
if [[ -s "$out/karpenter.sh_nodepools.yaml" ]]; then
  echo "$out"
  exit 0
fi
# The module's go directive may name a newer toolchain than the local one: then `go mod download`
# reports an error but has still fetched (and verified) the zip, which is all we need.
json="$(GOMODCACHE="$cache/gomod" GOFLAGS=-modcacherw GOTOOLCHAIN=local go mod download -json "sigs.k8s.io/karpenter@$version" 2>/dev/null || true)"
zip="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$zip" || ! -s "$zip" ]]; then
  echo "karpenter-crds: could not download sigs.k8s.io/karpenter@$version:" >&2
  printf '%s\n' "$json" >&2
  exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
unzip -q -o "$zip" "sigs.k8s.io/karpenter@$version/pkg/apis/crds/karpenter.sh_*.yaml" -d "$tmp"
mkdir -p "$out"
cp "$tmp/sigs.k8s.io/karpenter@$version/pkg/apis/crds/"karpenter.sh_*.yaml "$out/"
echo "$out"
