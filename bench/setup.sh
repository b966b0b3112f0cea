#!/bin/sh
# Installs the chat peers the benchmark compares tsd with (Debian/Ubuntu):
#   ncat (ncat --chat), ngircd (IRC), redis-server (PUBLISH/SUBSCRIBE).
# Run by `npm run bench` when one is missing and apt-get is usable (root);
# run it by hand otherwise: `sudo sh bench/setup.sh`. A package that fails to
# install only makes that peer's rows say "skipped".
set -u
missing=""
command -v ncat >/dev/null 2>&1 || missing="$missing ncat"
command -v ngircd >/dev/null 2>&1 || [ -x /usr/sbin/ngircd ] || missing="$missing ngircd"
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing="$missing redis-server"
if [ -z "$missing" ]; then
  echo "bench/setup.sh: ncat, ngircd and redis-server are installed"
  exit 0
fi
echo "bench/setup.sh: installing$missing with apt-get (bounded to 240 s)"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench/setup.sh: apt-get not found; install$missing by hand" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
timeout 120 apt-get update -qq >/dev/null 2>&1 || echo "bench/setup.sh: apt-get update failed (continuing)" >&2
status=0
for pkg in $missing; do
  # --no-install-recommends; policy-rc.d-less containers may try to start the
  # services: ngircd/redis are stopped again below, the bench starts its own.
  if timeout 180 apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1; then
    echo "bench/setup.sh: installed $pkg"
  else
    echo "bench/setup.sh: could not install $pkg; its rows will be skipped" >&2
    status=1
  fi
done
# Debian starts the packaged daemons on install where it can; the benchmark
# runs its own instances on free ports, so stop the system ones if they run.
for svc in ngircd redis-server; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
exit $status
