#!/usr/bin/env bash
# Provision the native otel-contracts stack: Debian packages, the ocb-built collector, and
# VictoriaMetrics and vmagent for the scaled topology.
#
# Usage: otel-config/provision.sh [all|packages|collector|victoriametrics|compose|check-compose]   (default: all)
#   all            packages + collector + victoriametrics (what `otel-contracts stack up [--topology scaled]` needs)
#   victoriametrics  VictoriaMetrics single-node and vmagent, `go install` of their release tag (cached)
#   check-compose  validate docker-compose.yml with `docker compose config` (no engine needed);
#                  without a compose plugin, builds the Compose CLI from its Go module (cached)
#
# Idempotent and cached:
#   - apt-get runs only when one of the needed commands is missing;
#   - the collector is built with ocb (pinned in builder-config.yaml) into a persistent cache
#     outside the clone, keyed by a hash of builder-config.yaml, and copied to
#     <repo>/.cache/otelcol/otelcol-contracts (an installed package: <cache>/otelcol/). A build is skipped when the binary for the
#     current hash exists. GOMODCACHE and GOCACHE live in the same persistent cache, so a fresh
#     clone on the same machine reuses them.
#   - VictoriaMetrics and vmagent are installed with `go install <module>/app/<app>@<release tag>`
#     into <cache>/bin/victoriametrics-<version>/ and copied to <repo>/.cache/victoriametrics/
#     (an installed package: <cache>/victoriametrics/); skipped when both binaries for the version run.
#
# Environment:
#   OTEL_CONTRACTS_CACHE   persistent cache dir (default: $HOME/.cache/otel-contracts)
#   OTELCOL_BUILD_LOG      build log path (default: <cache>/otelcol/build-<hash>.log)
#   PROVISION_TICK         seconds between progress lines during the builds (default: 30)
#
# Non-interactive: works with CI=true and no stdin. Exits non-zero with a message naming the
# part that failed.
set -euo pipefail

OCB_VERSION="v0.159.0"
SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SELF_DIR/.." && pwd)"
MANIFEST="$SELF_DIR/builder-config.yaml"
CACHE="${OTEL_CONTRACTS_CACHE:-${HOME:-/root}/.cache/otel-contracts}"
TICK="${PROVISION_TICK:-30}"
# A clone keeps the collector in <repo>/.cache; an installed package (under node_modules/, which the next
# `npm ci` replaces) keeps it in the persistent cache, where `otel-contracts stack up` looks for it.
case "$REPO_DIR" in
  */node_modules/*) REPO_BIN_DIR="$CACHE/otelcol" ;;
  *) REPO_BIN_DIR="$REPO_DIR/.cache/otelcol" ;;
esac
REPO_BIN="$REPO_BIN_DIR/otelcol-contracts"
VM_VERSION="v1.151.0"
VM_MODULE="github.com/VictoriaMetrics/VictoriaMetrics"
VM_APPS=(victoria-metrics vmagent)
case "$REPO_DIR" in
  */node_modules/*) VM_REPO_DIR="$CACHE/victoriametrics" ;;
  *) VM_REPO_DIR="$REPO_DIR/.cache/victoriametrics" ;;
esac

export DEBIAN_FRONTEND=noninteractive
export GOMODCACHE="$CACHE/gomod"
export GOCACHE="$CACHE/gocache"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:-} -modcacherw"

START_ALL=$(date +%s)
log() { printf '[provision %4ss] %s\n' "$(( $(date +%s) - START_ALL ))" "$*"; }
die() { # die PART MESSAGE
  printf '[provision] FAILED in part "%s": %s\n' "$1" "$2" >&2
  exit 1
}

# ---------------------------------------------------------------- packages
# command -> Debian package
PKG_CMDS=(
  "prometheus:prometheus"
  "promtool:prometheus"
  "prometheus-pushgateway:prometheus-pushgateway"
  "dnsmasq:dnsmasq"
  "nft:nftables"
  "ip:iproute2"
  "dig:dnsutils"
  "bpftrace:bpftrace"
  "ping:iputils-ping"
  "openssl:openssl"
  "haproxy:haproxy"
  "valgrind:valgrind"         # npm run bench:instructions (callgrind)
  "wg:wireguard-tools" "wireguard-go:wireguard-go"
  "pg_ctlcluster:postgresql"   # the server binaries live in /usr/lib/postgresql/N/bin, off PATH
)

provision_packages() {
  local missing=() entry cmd pkg
  for entry in "${PKG_CMDS[@]}"; do
    cmd="${entry%%:*}"; pkg="${entry#*:}"
    if ! command -v "$cmd" >/dev/null 2>&1; then
      [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "packages: all present (prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}'), ${PKG_CMDS[*]%%:*})"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die packages "missing ${missing[*]} and no apt-get; install them with your package manager"
  local SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die packages "missing ${missing[*]}; run as root or install sudo"
    SUDO="sudo -n"
  fi
  log "packages: installing ${missing[*]} with apt-get"
  mkdir -p "$CACHE"
  local aptlog="$CACHE/apt.log"
  $SUDO apt-get update -qq </dev/null >"$aptlog" 2>&1 \
    || { tail -20 "$aptlog" >&2; die packages "apt-get update failed; see $aptlog"; }
  # The native stack starts its own processes on loopback; the packages' system services are not
  # used (containers block their start with policy-rc.d anyway).
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >>"$aptlog" 2>&1 \
    || { tail -20 "$aptlog" >&2; die packages "apt-get install ${missing[*]} failed; see $aptlog"; }
  for entry in "${PKG_CMDS[@]}"; do
    cmd="${entry%%:*}"
    command -v "$cmd" >/dev/null 2>&1 || die packages "'$cmd' still missing after apt-get install"
  done
  prometheus --help 2>&1 | grep -q -- '--web.enable-remote-write-receiver' \
    || die packages "this prometheus has no --web.enable-remote-write-receiver (need >= 2.33)"
  log "packages: installed"
}

# Progress of a background build: one line every $TICK seconds with the elapsed time and what the
# build did last (from its log), until PID exits. Usage: watch_build PART PID LOG T0
watch_build() {
  local part="$1" pid="$2" logf="$3" t0="$4"
  while kill -0 "$pid" 2>/dev/null; do
    local waited=0
    while (( waited < TICK )) && kill -0 "$pid" 2>/dev/null; do sleep 1; waited=$((waited + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
      local last phase
      last="$(grep -v '^\s*$' "$logf" | tail -1 || true)"
      case "$last" in
        *'"build"'*) phase="compiling (go build; GOCACHE $(du -sm "$GOCACHE" 2>/dev/null | cut -f1) MB)" ;;
        *'"mod"'*|*'"get"'*|*downloading*) phase="fetching modules (GOMODCACHE $(du -sm "$GOMODCACHE" 2>/dev/null | cut -f1) MB)" ;;
        *) phase="$(printf '%s' "$last" | cut -c1-120)" ;;
      esac
      log "$part: still building, $(( $(date +%s) - t0 ))s elapsed: ${phase:-starting}"
    fi
  done
}

# ---------------------------------------------------------------- collector
manifest_hash() {
  { printf 'ocb %s\n' "$OCB_VERSION"; cat "$MANIFEST"; } | sha256sum | cut -c1-16
}

install_repo_copy() { # install_repo_copy BUILT_BINARY HASH
  mkdir -p "$REPO_BIN_DIR"
  if [[ -x "$REPO_BIN" && -f "$REPO_BIN.hash" && "$(cat "$REPO_BIN.hash")" == "$2" ]]; then
    return 0
  fi
  cp -f "$1" "$REPO_BIN.tmp" && mv -f "$REPO_BIN.tmp" "$REPO_BIN"
  printf '%s\n' "$2" > "$REPO_BIN.hash"
}

provision_collector() {
  [[ -f "$MANIFEST" ]] || die collector "manifest $MANIFEST not found"
  local hash build_dir bin logf
  hash="$(manifest_hash)"
  build_dir="$CACHE/otelcol/$hash"
  bin="$build_dir/build/otelcol-contracts"
  logf="${OTELCOL_BUILD_LOG:-$CACHE/otelcol/build-$hash.log}"

  if [[ -x "$bin" ]] && "$bin" --version >/dev/null 2>&1; then
    install_repo_copy "$bin" "$hash"
    log "collector: cached build $hash ($("$bin" --version 2>&1 | head -1)) -> ${REPO_BIN#"$REPO_DIR"/}"
    return 0
  fi

  command -v go >/dev/null 2>&1 || die collector "go not found; install Go >= 1.25 (https://go.dev/dl/)"
  local gov
  gov="$(go env GOVERSION)"; gov="${gov#go}"
  local major="${gov%%.*}" minor="${gov#*.}"; minor="${minor%%.*}"
  if (( major < 1 || (major == 1 && minor < 25) )); then
    die collector "Go $gov is too old; the collector $OCB_VERSION needs Go >= 1.25"
  fi

  mkdir -p "$GOMODCACHE" "$GOCACHE" "$build_dir" "$(dirname "$logf")"
  local ocb="$CACHE/bin/builder-$OCB_VERSION/builder"
  if [[ ! -x "$ocb" ]]; then
    log "collector: installing ocb $OCB_VERSION"
    GOBIN="$(dirname "$ocb")" go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION" </dev/null >>"$logf" 2>&1 \
      || die collector "go install builder@$OCB_VERSION failed; see $logf"
  fi

  log "collector: building $hash with ocb $OCB_VERSION on $(nproc) cores (cold: 5-15 min; log: $logf)"
  cp -f "$MANIFEST" "$build_dir/builder-config.yaml"
  local t0 pid rc=0
  t0=$(date +%s)
  ( cd "$build_dir" && exec "$ocb" --verbose --config builder-config.yaml ) </dev/null >>"$logf" 2>&1 &
  pid=$!
  # An interrupted provision (Ctrl-C, a cancelled CI job) must not leave go build running on both cores.
  trap 'pkill -P "$pid" 2>/dev/null; kill "$pid" 2>/dev/null' INT TERM
  trap 'kill "$pid" 2>/dev/null' EXIT
  # Progress: one line every $TICK seconds with elapsed time and the last thing ocb/go did.
  watch_build collector "$pid" "$logf" "$t0"
  wait "$pid" || rc=$?
  trap - INT TERM EXIT
  if [[ $rc -ne 0 || ! -x "$bin" ]]; then
    echo "----- last 30 lines of $logf -----" >&2
    tail -30 "$logf" >&2 || true
    die collector "ocb build failed (exit $rc); see $logf. Delete $build_dir and rerun otel-config/provision.sh collector"
  fi
  "$bin" --version >/dev/null 2>&1 || die collector "built binary $bin does not run"
  install_repo_copy "$bin" "$hash"
  log "collector: built in $(( $(date +%s) - t0 ))s -> ${REPO_BIN#"$REPO_DIR"/}"
}

# ---------------------------------------------------------------- VictoriaMetrics
# VictoriaMetrics single-node (the scaled topology's shards) and vmagent (sharding in front of them),
# `go install` of the release tag: no source checkout, nothing built from a branch. Pure Go
# (CGO_ENABLED=0, as VictoriaMetrics' own -pure builds), so no C compiler is needed.
go_version_ok() { # go_version_ok PART
  command -v go >/dev/null 2>&1 || die "$1" "go not found; install Go >= 1.25 (https://go.dev/dl/)"
  local gov major minor
  gov="$(go env GOVERSION)"; gov="${gov#go}"
  major="${gov%%.*}"; minor="${gov#*.}"; minor="${minor%%.*}"
  if (( major < 1 || (major == 1 && minor < 25) )); then
    die "$1" "Go $gov is too old; need Go >= 1.25"
  fi
}

install_vm_copies() { # install_vm_copies DIR
  mkdir -p "$VM_REPO_DIR"
  local app
  for app in "${VM_APPS[@]}"; do
    if ! cmp -s "$1/$app" "$VM_REPO_DIR/$app"; then
      cp -f "$1/$app" "$VM_REPO_DIR/$app.tmp" && mv -f "$VM_REPO_DIR/$app.tmp" "$VM_REPO_DIR/$app"
    fi
  done
}

provision_victoriametrics() {
  local dir="$CACHE/bin/victoriametrics-$VM_VERSION" logf="$CACHE/victoriametrics-build-$VM_VERSION.log" app missing=()
  for app in "${VM_APPS[@]}"; do
    [[ -x "$dir/$app" ]] && "$dir/$app" -version >/dev/null 2>&1 || missing+=("$app")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    install_vm_copies "$dir"
    log "victoriametrics: cached $("$dir/victoria-metrics" -version 2>&1 | head -1), $("$dir/vmagent" -version 2>&1 | head -1) -> ${VM_REPO_DIR#"$REPO_DIR"/}"
    return 0
  fi
  go_version_ok victoriametrics
  mkdir -p "$GOMODCACHE" "$GOCACHE" "$dir"
  log "victoriametrics: go install ${missing[*]} $VM_VERSION on $(nproc) cores (cold: about 3 min; log: $logf)"
  local t0 pid rc=0
  t0=$(date +%s)
  : >"$logf"
  for app in "${missing[@]}"; do
    GOBIN="$dir" CGO_ENABLED=0 go install -v -trimpath \
      -ldflags "-X $VM_MODULE/lib/buildinfo.Version=$app-$VM_VERSION" "$VM_MODULE/app/$app@$VM_VERSION" </dev/null >>"$logf" 2>&1 &
    pid=$!
    trap 'pkill -P "$pid" 2>/dev/null; kill "$pid" 2>/dev/null' INT TERM
    trap 'kill "$pid" 2>/dev/null' EXIT
    watch_build victoriametrics "$pid" "$logf" "$t0"
    wait "$pid" || rc=$?
    trap - INT TERM EXIT
    if [[ $rc -ne 0 ]] || ! "$dir/$app" -version >/dev/null 2>&1; then
      echo "----- last 30 lines of $logf -----" >&2
      tail -30 "$logf" >&2 || true
      die victoriametrics "go install $VM_MODULE/app/$app@$VM_VERSION failed (exit $rc); see $logf"
    fi
  done
  install_vm_copies "$dir"
  log "victoriametrics: installed in $(( $(date +%s) - t0 ))s -> ${VM_REPO_DIR#"$REPO_DIR"/}"
}

# ---------------------------------------------------------------- compose
# No Docker engine is needed to validate docker-compose.yml: `docker compose config` only loads
# and checks the project. When the docker CLI has no compose plugin, build the Compose CLI
# (a Go module) once into the cache and use it standalone.
COMPOSE_VERSION="v5.5.1"

compose_cli() { # prints the command to run compose with
  if docker compose version >/dev/null 2>&1; then echo "docker compose"; return 0; fi
  if command -v docker-compose >/dev/null 2>&1 && docker-compose version 2>/dev/null | grep -q 'version v[2-9]'; then
    echo "docker-compose"; return 0
  fi
  local bin="$CACHE/bin/compose-$COMPOSE_VERSION/docker-compose"
  if [[ ! -x "$bin" ]]; then
    command -v go >/dev/null 2>&1 || die compose "no docker compose plugin and no go to build one; install docker-compose-plugin"
    local t0 src logf="$CACHE/compose-build.log"
    t0=$(date +%s)
    mkdir -p "$GOMODCACHE" "$GOCACHE"
    log "compose: building the Compose CLI $COMPOSE_VERSION (cached; log: $logf)" >&2
    ( cd "$CACHE" && go mod download "github.com/docker/compose/v5@$COMPOSE_VERSION" ) </dev/null >"$logf" 2>&1 \
      || { tail -20 "$logf" >&2; die compose "go mod download github.com/docker/compose/v5@$COMPOSE_VERSION failed; see $logf"; }
    src="$GOMODCACHE/github.com/docker/compose/v5@$COMPOSE_VERSION"
    # Built inside its own module (go install pkg@version refuses modules with exclude directives).
    ( cd "$src" && go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" \
        -o "$bin.tmp" ./cmd ) </dev/null >>"$logf" 2>&1 \
      || { tail -20 "$logf" >&2; die compose "building the Compose CLI failed; see $logf"; }
    mv -f "$bin.tmp" "$bin"
    log "compose: built in $(( $(date +%s) - t0 ))s" >&2
  fi
  echo "$bin"
}

check_compose() {
  local cli
  cli="$(compose_cli)"
  log "compose: $cli config --quiet ($($cli version 2>/dev/null | head -1))"
  # shellcheck disable=SC2086
  ( cd "$REPO_DIR" && $cli -f docker-compose.yml config --quiet ) </dev/null \
    || die compose "docker-compose.yml is not a valid compose project (see the message above)"
  # The cluster profile (the scaled topology on the VictoriaMetrics cluster) is only loaded when named.
  # shellcheck disable=SC2086
  ( cd "$REPO_DIR" && $cli -f docker-compose.yml --profile cluster config --quiet ) </dev/null \
    || die compose "docker-compose.yml's cluster profile is not valid (see the message above)"
  log "compose: docker-compose.yml is valid (default services and the cluster profile)"
}

# ---------------------------------------------------------------- main
case "${1:-all}" in
  all) provision_packages; provision_collector; provision_victoriametrics ;;
  packages) provision_packages ;;
  collector) provision_collector ;;
  victoriametrics) provision_victoriametrics ;;
  compose) compose_cli >/dev/null ;;
  check-compose) check_compose ;;
  hash) manifest_hash ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die args "unknown part '$1' (use all, packages, collector, victoriametrics, compose or check-compose)" ;;
esac
log "done"
