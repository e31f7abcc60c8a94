#!/usr/bin/env bash
# Install the CI tools Castle's workflow and supply-chain checks use, pinned, into a cache
# outside the repository: ${CASTLE_TOOLS_DIR:-${CASTLE_CACHE_DIR:-/var/cache/castle}/tools}/bin.
#
#   actionlint  github.com/rhysd/actionlint        workflow lint (and shellcheck of run: steps when present)
#   zizmor      PyPI zizmor, in a venv             workflow security audit
#   syft        github.com/anchore/syft            SBOM of an image
#   cosign      github.com/sigstore/cosign/v2      image signing and verification
#   registry    github.com/google/go-containerregistry  OCI registry on loopback for the signing test
#   gitleaks    github.com/zricethezav/gitleaks/v8 secret scan of the repository and of CI's output
#
# Go tools are built from their Go modules through the module proxy (go install), CGO off,
# without symbol tables or debug information (-s -w: shorter links, smaller binaries);
# zizmor comes from PyPI. Idempotent: a tool whose version stamp matches is left alone, so a
# warm run takes a second; a cold one several minutes on two cores (cluster/README.md).
#
# Usage: bash scripts/ensure-tools.sh [TOOL...]   (default: all of them)
set -euo pipefail

log() { printf 'ensure-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

dir=${CASTLE_TOOLS_DIR:-${CASTLE_CACHE_DIR:-/var/cache/castle}/tools}
bin=$dir/bin

# name|go package to install|version (the module's tag)
go_tools=(
  "actionlint|github.com/rhysd/actionlint/cmd/actionlint|v1.7.12"
  "syft|github.com/anchore/syft/cmd/syft|v1.57.1"
  "cosign|github.com/sigstore/cosign/v2/cmd/cosign|v2.6.5"
  "registry|github.com/google/go-containerregistry/cmd/registry|v0.22.1"
  "gitleaks|github.com/zricethezav/gitleaks/v8|v8.30.0"
)
zizmor_version=1.32.0

wanted=("$@")
((${#wanted[@]} > 0)) || wanted=(actionlint zizmor syft cosign registry gitleaks)
for w in "${wanted[@]}"; do
  case $w in actionlint | zizmor | syft | cosign | registry | gitleaks) ;; *) die "unknown tool '$w' (known: actionlint zizmor syft cosign registry gitleaks)" ;; esac
done
want() { local w; for w in "${wanted[@]}"; do [[ $w == "$1" ]] && return 0; done; return 1; }

mkdir -p "$bin" || die "cannot create $bin: run as root or set CASTLE_TOOLS_DIR"
exec 9>"$dir/.lock"
flock 9 # one installer at a time; a second waits and then finds the tools in place

for spec in "${go_tools[@]}"; do
  IFS='|' read -r name pkg version <<<"$spec"
  want "$name" || continue
  stamp=$bin/.$name.version
  if [[ -x $bin/$name && -f $stamp && $(<"$stamp") == "$pkg@$version" ]]; then
    log "✓ $name $version"
    continue
  fi
  command -v go >/dev/null || die "$name: Go is not installed (need Go 1.26 to build $pkg@$version)"
  log "• building $name from $pkg@$version (cold: minutes)"
  started=$SECONDS
  # The build runs outside the repository so that no go.work or go.mod here applies.
  if ! (cd "$dir" && GOBIN=$bin CGO_ENABLED=0 GOFLAGS=-mod=mod go install -trimpath -ldflags='-s -w' "$pkg@$version") >"$dir/$name.build.log" 2>&1; then
    tail -n 30 "$dir/$name.build.log" | sed 's/^/    /' >&2
    die "$name: go install $pkg@$version failed (full log: $dir/$name.build.log)"
  fi
  printf '%s\n' "$pkg@$version" >"$stamp"
  log "✓ $name $version built in $((SECONDS - started))s"
done

if want zizmor; then
  venv=$dir/venv
  if [[ -x $venv/bin/zizmor && $("$venv/bin/zizmor" --version 2>/dev/null) == "zizmor $zizmor_version" ]]; then
    log "✓ zizmor $zizmor_version"
  else
    command -v python3 >/dev/null || die "zizmor: python3 is not installed (apt-get install python3 python3-venv)"
    [[ -x $venv/bin/pip ]] || python3 -m venv "$venv" || die "zizmor: cannot create a venv in $venv (apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "zizmor==$zizmor_version" || die "zizmor: pip install zizmor==$zizmor_version failed"
    log "✓ zizmor $zizmor_version installed"
  fi
  ln -sf "$venv/bin/zizmor" "$bin/zizmor"
fi
