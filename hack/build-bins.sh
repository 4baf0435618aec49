#!/usr/bin/env bash
# Builds the simulated cluster's binaries from Go modules (no release downloads):
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok, kwokctl, helm,
#   and versitygw (an S3-compatible server: the artifact store's S3 tests run against it).
# `build-bins.sh node` builds the real node's binaries instead (issue 18): kubelet (from the same
# Kubernetes module), containerd v2 with ctr and containerd-shim-runc-v2, runc (with seccomp: Debian's
# libseccomp-dev is installed when missing) and the CNI plugins bridge, host-local, loopback, portmap.
# They are linked into their own directory, so the control plane's cache key does not change.
# Each component is built into a temporary directory and renamed into the cache only after its
# binaries ran `--version` successfully, so an interrupted build never leaves a cache entry that
# a later run would trust. Prints the bin directory on its last line.
#
# Env: HEARTH_CACHE (default ~/.cache/hearth), and the versions in hack/versions.env.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
CACHE="${HEARTH_CACHE:-$HOME/.cache/hearth}"

log() { printf '[build-bins] %s\n' "$*" >&2; }
die() { printf '[build-bins] error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed. The simulated cluster is built from Go modules:
  install Go >= 1.26 (https://go.dev/dl or your package manager), or point KUBECONFIG at an existing cluster."
GO_VERSION="$(go env GOVERSION)"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

only="${1:-all}"
if [[ "$only" == node ]]; then
  BIN="$CACHE/node-bin/$KUBE_VERSION-$CONTAINERD_VERSION-$RUNC_VERSION-$CNI_PLUGINS_VERSION-$GO_VERSION"
else
  BIN="$CACHE/bin/$(printf '%s' "$KUBE_VERSION-$ETCD_VERSION-$KWOK_VERSION-$HELM_VERSION-$VERSITYGW_VERSION-$GO_VERSION")"
fi
mkdir -p "$(dirname "$BIN")"

# build_component NAME CHECK_BINARY FUNCTION: runs FUNCTION OUT_DIR in a scratch dir unless
# $CACHE/parts/NAME already exists (complete), then links its binaries into $BIN.
build_component() {
  local name="$1" fn="$2" final="$CACHE/parts/$1"
  if [[ -d "$final" ]]; then
    log "cached: $name"
  else
    mkdir -p "$CACHE/parts"
    rm -rf "$final".tmp.* 2>/dev/null || true
    local tmp="$final.tmp.$$" work
    work="$(mktemp -d)"
    mkdir -p "$tmp"
    log "building $name (cold; this can take a while) ..."
    local start=$SECONDS
    if ! ( cd "$work" && "$fn" "$tmp" ); then
      rm -rf "$tmp" "$work"
      die "building $name failed; nothing was cached, the next run starts $name afresh"
    fi
    local b
    for b in "$tmp"/*; do
      case "$(basename "$b")" in
        containerd-shim-*) "$b" -v >/dev/null 2>&1 || { rm -rf "$tmp" "$work"; die "$b does not run"; } ;;
        # CNI plugins read their command from the environment.
        bridge|host-local|loopback|portmap) CNI_COMMAND=VERSION "$b" </dev/null >/dev/null 2>&1 || { rm -rf "$tmp" "$work"; die "$b does not run"; } ;;
        *) "$b" --version >/dev/null 2>&1 || "$b" version --client >/dev/null 2>&1 || "$b" version >/dev/null 2>&1 || { rm -rf "$tmp" "$work"; die "$b does not run"; } ;;
      esac
    done
    rm -rf "$work"
    mv "$tmp" "$final"
    log "built $name in $((SECONDS - start))s"
  fi
  mkdir -p "$BIN"
  local f
  for f in "$final"/*; do ln -sf "$f" "$BIN/$(basename "$f")"; done
}

# kube_build OUT CMD...: builds k8s.io/kubernetes/cmd/CMD... into OUT.
kube_build() {
  local out="$1" minor staging
  shift
  minor="$(cut -d. -f2 <<<"$KUBE_VERSION")"
  staging="v0.${KUBE_VERSION#v1.}"
  go mod download "k8s.io/kubernetes@$KUBE_VERSION"
  local kmod
  kmod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod"
  [[ -s "$kmod" ]] || return 1
  # A wrapper module: same go/godebug lines as upstream, every staging module pinned to its
  # published v0.x version (k8s.io/kubernetes itself replaces them with ./staging paths).
  {
    echo "module kubebins.invalid"
    grep -E '^go [0-9]' "$kmod"
    awk '/^godebug \(/{b=1} b{print} /^\)/{if(b){b=0}} /^godebug [^(]/{print}' "$kmod"
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo "replace ("
    grep -E '^\s*k8s\.io/[A-Za-z0-9._-]+ => \./staging/' "$kmod" | awk '{print $1}' | sort -u |
      while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging"; done
    echo ")"
  } > go.mod
  local pkgs=() c
  for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  go get "${pkgs[@]/%/@$KUBE_VERSION}"
  local ld="-s -w" p date
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  go build -mod=mod -trimpath -ldflags "$ld" -o "$out/" "${pkgs[@]}"
}

kube() { kube_build "$1" kube-apiserver kube-controller-manager kube-scheduler kubectl; }

# The real node's kubelet: the same wrapper module, so a warm Go build cache (from kube) makes it
# a few minutes' work.
kubelet() { kube_build "$1" kubelet; }

# containerd v2, its CLI and the runc shim: plain `go install`s (no replace directives upstream).
containerd() {
  local out="$1" m=github.com/containerd/containerd/v2
  GOBIN="$out" go install -trimpath -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X $m/version.Version=$CONTAINERD_VERSION -X $m/version.Revision=gomod" \
    "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/ctr@$CONTAINERD_VERSION" \
    "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
}

# runc needs cgo (its nsenter is C) and, with the `seccomp` tag, libseccomp's headers: the kubelet
# gives every pod sandbox the RuntimeDefault seccomp profile, which a runc built without seccomp
# refuses ("config provided but seccomp not supported"). Debian's libseccomp-dev is installed when
# missing (root, like hack/ensure-chromium.sh); runc links the libseccomp2 the machine already has.
runc() {
  local out="$1"
  if ! pkg-config --exists libseccomp 2>/dev/null; then
    [[ "$(id -u)" == 0 ]] || die "runc needs libseccomp-dev (apt-get install libseccomp-dev) and this is not root"
    log "installing Debian's libseccomp-dev (runc's seccomp support) ..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libseccomp-dev >&2 ||
      { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libseccomp-dev >&2; } ||
      die "cannot install libseccomp-dev"
  fi
  CGO_ENABLED=1 GOBIN="$out" go install -trimpath -tags "seccomp" \
    -ldflags "-s -w -X main.version=${RUNC_VERSION#v} -X main.gitCommit=gomod" \
    "github.com/opencontainers/runc@$RUNC_VERSION"
}

cni() {
  local out="$1" m=github.com/containernetworking/plugins
  GOBIN="$out" go install -trimpath \
    -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
    "$m/plugins/main/bridge@$CNI_PLUGINS_VERSION" "$m/plugins/main/loopback@$CNI_PLUGINS_VERSION" \
    "$m/plugins/ipam/host-local@$CNI_PLUGINS_VERSION" "$m/plugins/meta/portmap@$CNI_PLUGINS_VERSION"
}

etcd() {
  local out="$1"
  printf 'module etcdbin.invalid\n\ngo 1.24\n' > go.mod
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -mod=mod -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
}

kwok() {
  local out="$1"
  GOBIN="$out" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
}

helm() {
  local out="$1" minor h=helm.sh/helm/v3
  minor="$(cut -d. -f2 <<<"$KUBE_VERSION")"
  GOBIN="$out" go install -trimpath -ldflags "-s -w \
    -X $h/internal/version.version=$HELM_VERSION \
    -X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=$minor \
    -X $h/pkg/lint/rules.k8sVersionMajor=1 -X $h/pkg/lint/rules.k8sVersionMinor=$minor" \
    "$h/cmd/helm@$HELM_VERSION"
}

# versitygw: a plain `go install` (its go.mod has no replace directives). ~45 MB, ~2 min cold.
versitygw() {
  local out="$1"
  GOBIN="$out" go install -trimpath -ldflags "-s -w -X main.Version=$VERSITYGW_VERSION" \
    "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
}

if [[ "$only" == node ]]; then
  build_component "cni-$CNI_PLUGINS_VERSION-$GO_VERSION" cni
  build_component "runc-$RUNC_VERSION-seccomp-$GO_VERSION" runc
  build_component "containerd-$CONTAINERD_VERSION-$GO_VERSION" containerd
  build_component "kubelet-$KUBE_VERSION-$GO_VERSION" kubelet
  echo "$BIN"
  exit 0
fi
for c in etcd kwok kube helm versitygw; do
  case "$only" in all|"$c") ;; *) continue ;; esac
  case "$c" in
    kube) build_component "kube-$KUBE_VERSION-$GO_VERSION" kube ;;
    etcd) build_component "etcd-$ETCD_VERSION-$GO_VERSION" etcd ;;
    kwok) build_component "kwok-$KWOK_VERSION-$GO_VERSION" kwok ;;
    helm) build_component "helm-$HELM_VERSION-$KUBE_VERSION-$GO_VERSION" helm ;;
    versitygw) build_component "versitygw-$VERSITYGW_VERSION-$GO_VERSION" versitygw ;;
  esac
done
echo "$BIN"
