#!/usr/bin/env bash
# Build (cached like the cluster's own binaries) and install optional add-ons on the
# running hermetic cluster. Each add-on is a file cluster/addon-NAME.sh that defines
# addon_build and addon_install; both are idempotent, so a warm run only checks.
#   bash cluster/addons.sh NAME...          (npm run cluster:addons -- NAME...)
#   bash cluster/addons.sh --build NAME...  only build them (no cluster needed), as .ci/run
#                                           does while the cluster is still being built
#   bash cluster/addons.sh --list
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

available() {
  local f
  for f in "$CLUSTER_DIR"/addon-*.sh; do
    [[ -f $f ]] || continue
    f=${f##*/addon-}
    printf '%s\n' "${f%.sh}"
  done
}

usage() {
  printf 'usage: bash cluster/addons.sh [--build] NAME...\nadd-ons: %s\n' "$(available | paste -sd' ')" >&2
  exit 2
}

main() {
  [[ $# -gt 0 ]] || usage
  [[ $1 == --list ]] && { available; return 0; }
  local name started build_only=0
  [[ $1 == --build ]] && { build_only=1; shift; [[ $# -gt 0 ]] || usage; }
  for name in "$@"; do
    [[ -f $CLUSTER_DIR/addon-$name.sh ]] || { printf '✗ no add-on named %s\n' "$name" >&2; usage; }
  done
  require_root
  if ((build_only == 0)) && { [[ ! -f $KUBECONFIG_PATH ]] || ! kubectl_ get --raw /readyz >/dev/null 2>&1; }; then
    fail "the hermetic cluster is not up; run npm run cluster:up first"
  fi
  for name in "$@"; do
    started=$(now_s)
    # Each add-on runs in a subshell of its own, so its functions and variables stay its own.
    # Not as `( … ) || fail`: bash ignores `set -e` inside a command whose status is tested.
    set +e
    (
      set -e
      # shellcheck source=/dev/null
      source "$CLUSTER_DIR/addon-$name.sh"
      addon_build
      ((build_only == 1)) || addon_install
    )
    local status=$?
    set -e
    ((status == 0)) || fail "add-on $name failed (see above)"
    ok "add-on $name: $( ((build_only == 1)) && echo built || echo ready) in $(($(now_s) - started))s"
  done
}

main "$@"
