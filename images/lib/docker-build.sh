# shellcheck shell=bash
# docker_build ARGS...: `docker build` with BuildKit (the service Dockerfiles use
# RUN --mount for npm's cache and for build secrets, which only BuildKit has).
#   - buildx plugin present (Docker Desktop, docker-ce): docker buildx build --load
#   - otherwise a client with BuildKit built in: Debian's docker.io 20.10 client at
#     /usr/bin/docker. A client-only docker CLI >= 23 without buildx (as some machines
#     here ship at /usr/local/bin/docker) has only the legacy builder, so it is skipped.
docker_build() {
  if docker buildx version >/dev/null 2>&1; then
    docker buildx build --load "$@"
    return
  fi
  local client major
  for client in docker /usr/bin/docker; do
    command -v "$client" >/dev/null 2>&1 || continue
    major=$("$client" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
    if [[ $major =~ ^[0-9]+$ ]] && (( major < 23 )); then
      DOCKER_BUILDKIT=1 "$client" build "$@"
      return
    fi
  done
  printf 'docker_build: no BuildKit-capable docker client: install the buildx plugin, or Debian'\''s docker.io (scripts/ensure-docker.sh)\n' >&2
  return 1
}
