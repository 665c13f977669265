#!/usr/bin/env bash
# Builds what the end-to-end tests run, from Go modules, with pinned versions, and caches each binary outside the
# clone in ~/.cache/registry-access-e2e/<name>-<version>/bin (REGISTRY_ACCESS_E2E_CACHE moves it). Builds only what
# is missing; prints what it built and how long each build took, and while a build runs, every 30 s, its elapsed
# time against the usual, with the modules downloaded and packages compiled so far (progress.sh). A second run
# waits for the first, saying who holds the lock, building what, for how long. The last line of stdout is the PATH.
#
#   pulumi                      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi, in a wrapper module (pkg/go.mod has
#                               `replace sdk/v3 => ../sdk`, so `go install ...@v` is refused)
#   pulumi-language-nodejs      scripts/e2e/langhost: Pulumi's own host module is not served by the proxy here
#                               (see the comment at the top of langhost/main.go)
#   pulumi-resource-kubernetes  github.com/pulumi/pulumi-kubernetes/provider/v4, copied to a writable folder, its
#                               embedded schema generated, its `sdk/v4 => ../sdk` replace dropped
#   kube-apiserver, kube-controller-manager   k8s.io/kubernetes, with a replace per staging module
#   etcd                        go.etcd.io/etcd/server/v3 at the version k8s.io/kubernetes itself requires
#   external-secrets            github.com/external-secrets/external-secrets (the ESO controller), copied to a
#                               writable folder (its go.mod replaces Masterminds/sprig, so `go install ...@v` is
#                               refused); cold build about 330 s on 2 cores. Its CRDs (config/crds/bases, which
#                               declare no conversion webhook) go to crds/ next to bin/ (test/e2e/support/eso.ts)
#
# pulumi-resource-pulumi-nodejs (dynamic providers) is scripts/e2e/plugins/pulumi-resource-pulumi-nodejs; kubectl is
# Debian's (the machine image has it) or, when missing, built from k8s.io/kubernetes/cmd/kubectl here.
set -euo pipefail

# Versions. @pulumi/pulumi in package-lock.json is 3.248.0; the CLI is the same release.
PULUMI_VERSION=3.248.0
# @pulumi/kubernetes in the lockfile is 4.34.2, but the proxy serves one pseudo-version of the provider module:
# the v4.25.0 release commit. The SDK talks to any 4.x provider over gRPC.
K8S_PROVIDER_VERSION=4.25.0
K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
KUBE_VERSION=1.34.4
ESO_VERSION=0.16.2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${REGISTRY_ACCESS_E2E_CACHE:-$HOME/.cache/registry-access-e2e}"
mkdir -p "$cache"
export GOFLAGS="-mod=mod" GOTOOLCHAIN=local CGO_ENABLED=0
log() { echo "toolchain: $*" >&2; }
# shellcheck source=scripts/e2e/progress.sh
source "$here/progress.sh"

# One build at a time, across processes (two test runs on a cold cache would build twice). A run that waits says
# who holds the lock, building what, for how long (progress.sh).
exec 9>>"$cache/.lock"
hold_lock 9 "$cache/.lock"

# How long each cold build usually takes on a 2-core machine (docs/testing.md), for the progress lines.
declare -A USUAL=([pulumi]=384 [pulumi-language-nodejs]=72 [pulumi-resource-kubernetes]=1260 [kubernetes]=1020
  [external-secrets]=326)

# build NAME VERSION FUNCTION: runs FUNCTION with $out set to a fresh folder unless $cache/NAME-VERSION/bin exists.
build() {
  local name=$1 version=$2 fn=$3 dir="$cache/$1-$2"
  if [[ -d "$dir/bin" ]]; then
    echo "$dir/bin"
    return
  fi
  local start=$SECONDS work usual=${USUAL[$1]:-600}
  work="$(mktemp -d "$cache/.build-$name-XXXXXX")"
  log "building $name $version: usually about $(duration "$usual") cold (docs/testing.md); progress every $(duration "$PROGRESS_INTERVAL")"
  say_holding "$cache/.lock" "building $name $version (usually about $(duration "$usual"))"
  out="$work/out/bin"
  mkdir -p "$out"
  if ! (cd "$work" && with_progress "building $name $version" "$usual" "$work/build.log" "$fn"); then
    tail -n 40 "$work/build.log" >&2
    log "FAILED: $name $version; the whole log is $work/build.log"
    exit 1
  fi
  rm -rf "$dir"
  mv "$work/out" "$dir"
  chmod -R u+w "$work"
  rm -rf "$work"
  log "built $name $version in $(duration $((SECONDS - start)))"
  echo "$dir/bin"
}

build_pulumi() {
  mkdir w && cd w
  go mod init registry-access-e2e/pulumi >/dev/null 2>&1
  go mod edit -replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e
  go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
  go build -v -o "$out/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_langhost() {
  cp -r "$here/langhost" w && chmod -R u+w w && cd w
  go build -v -o "$out/pulumi-language-nodejs" -ldflags "-X main.Version=$PULUMI_VERSION" .
}

build_k8s_provider() {
  local mod=github.com/pulumi/pulumi-kubernetes/provider/v4 src
  src="$(go mod download -json "$mod@$K8S_PROVIDER_MODULE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  cp -r "$src" w && chmod -R u+w w && cd w
  go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4
  # main.go embeds schema-embed.json and terraform-mapping-embed.json; generate.go makes them from the committed
  # schema.json. They are gitignored upstream, so the module zip lacks them.
  (cd cmd/pulumi-resource-kubernetes && VERSION=$K8S_PROVIDER_VERSION go run generate.go)
  go build -v -o "$out/pulumi-resource-kubernetes" \
    -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
    ./cmd/pulumi-resource-kubernetes
}

build_kube() {
  mkdir w && cd w
  go mod init registry-access-e2e/kube >/dev/null 2>&1
  go mod edit -require="k8s.io/kubernetes@v$KUBE_VERSION"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 (they live in its own tree); point each at its
  # published release.
  local staging
  staging="$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p' |
    xargs sed -n 's/^\t\(k8s\.io\/[a-z0-9-]*\) v0\.0\.0$/\1/p' | sort -u)"
  for m in $staging; do go mod edit -replace="$m=$m@v0.${KUBE_VERSION#1.}"; done
  local cmds="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager"
  [[ -n "${BUILD_KUBECTL:-}" ]] && cmds="$cmds k8s.io/kubernetes/cmd/kubectl"
  # shellcheck disable=SC2086
  go get -tool $cmds go.etcd.io/etcd/server/v3
  local v="k8s.io/component-base/version" minor="${KUBE_VERSION#1.}"
  local ldflags="-X $v.gitVersion=v$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=${minor%%.*} -X $v.gitTreeState=clean"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=v$KUBE_VERSION"
  for c in $cmds; do go build -v -pgo=off -o "$out/$(basename "$c")" -ldflags "$ldflags" "$c"; done
  # etcd at the version k8s.io/kubernetes requires (v3.6.x for 1.34).
  go build -v -o "$out/etcd" go.etcd.io/etcd/server/v3
}

build_eso() {
  local mod=github.com/external-secrets/external-secrets src
  src="$(go mod download -json "$mod@v$ESO_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  cp -r "$src" w && chmod -R u+w w && cd w
  mkdir -p "$out/../crds"
  cp config/crds/bases/*.yaml "$out/../crds/"
  rm -f "$out/../crds/kustomization.yaml"
  go build -v -o "$out/external-secrets" .
}

langhost_version="$PULUMI_VERSION-$(cat "$here/langhost/main.go" "$here/langhost/go.mod" | sha256sum | cut -c1-12)"
# One assignment per build, so that `set -e` stops at the first that fails.
p_pulumi="$(build pulumi "v$PULUMI_VERSION" build_pulumi)"
p_langhost="$(build pulumi-language-nodejs "$langhost_version" build_langhost)"
p_provider="$(build pulumi-resource-kubernetes "v$K8S_PROVIDER_VERSION" build_k8s_provider)"
if command -v kubectl >/dev/null 2>&1; then
  p_kube="$(build kubernetes "v$KUBE_VERSION" build_kube)"
else
  p_kube="$(BUILD_KUBECTL=1 build kubernetes "v$KUBE_VERSION-kubectl" build_kube)"
fi
# The ESO controller goes on PATH last; test/e2e/support/eso.ts finds its CRDs in ../crds next to it.
p_eso="$(build external-secrets "v$ESO_VERSION" build_eso)"
# The engine takes the language host and the dynamic-provider plugin from the folder of the `pulumi` binary itself
# (sdk/go/common/workspace/plugins.go, bundled plugins); found only on PATH, it warns on every run. So the three go
# together in one folder, hard-linked from the cache.
bundle="$cache/pulumi-bundle-$(cat "$p_pulumi/pulumi" "$p_langhost/pulumi-language-nodejs" "$here/plugins/pulumi-resource-pulumi-nodejs" |
  sha256sum | cut -c1-12)/bin"
if [[ ! -x "$bundle/pulumi-resource-pulumi-nodejs" ]]; then
  mkdir -p "$bundle"
  ln -f "$p_pulumi/pulumi" "$bundle/pulumi"
  ln -f "$p_langhost/pulumi-language-nodejs" "$bundle/pulumi-language-nodejs"
  cp "$here/plugins/pulumi-resource-pulumi-nodejs" "$bundle/pulumi-resource-pulumi-nodejs.tmp"
  mv "$bundle/pulumi-resource-pulumi-nodejs.tmp" "$bundle/pulumi-resource-pulumi-nodejs"
fi
echo "$bundle:$p_provider:$p_kube:$p_eso"
