#!/usr/bin/env bash
# scripts/systemd-check.sh [tsd_VERSION_ARCH.deb]: the .deb under a real systemd (not part of
# npm test; needs root, and a kernel that lets root make PID, mount and cgroup namespaces).
#
# Boots /lib/systemd/systemd as PID 1 of a new PID+mount+cgroup namespace, over an overlay of
# this machine's root (changes go to a tmpfs and vanish at the end), installs the .deb there
# (built by `npm run deb` when none is given) and checks, printing one line per check:
# `systemctl start` returns once the daemon serves; STATUS= follows the users online; reload;
# the operator group; stop leaves no process; kill -9 of the main PID restarts it; a start that
# can never succeed ends `failed` by the start limit; purge removes the state and the user.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root_of_repo=$(dirname "$here")

if [ "${1:-}" = "--boot" ]; then
  # Stage 2, PID 1 of the new namespaces: lay out the root and become systemd.
  work=$2
  exec sh "$here/throwaway-root.sh" --sys "$work" "$work/tsd.deb" /usr/bin/env -i container=other TERM=dumb \
    /lib/systemd/systemd --unit=multi-user.target </dev/null >"$work/systemd.out" 2>&1
fi

if [ "$(id -u)" != 0 ]; then
  echo "systemd-check: needs root (namespaces, mounts, dpkg)" >&2
  exit 2
fi

deb=${1:-}
work=$(mktemp -d /tmp/tsd-systemd.XXXXXX)
mkdir -p "$work/layer" "$work/root"
if [ -z "$deb" ]; then
  (cd "$root_of_repo" && npm run --silent deb -- --out "$work" --compress gzip >/dev/null)
  deb=$(ls "$work"/tsd_*.deb)
fi
cp "$deb" "$work/tsd.deb"

unshare --pid --fork --mount --cgroup "$0" --boot "$work" 2>"$work/unshare.err" &
outer=$!
cleanup() {
  if [ -n "${pid1:-}" ]; then kill -9 "$pid1" 2>/dev/null || true; fi
  wait "$outer" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The host's PID of the namespace's PID 1 (unshare's child, which became systemd).
pid1=""
for _ in $(seq 100); do
  pid1=$(pgrep -P "$outer" | head -1 || true)
  if [ -n "$pid1" ] && [ "$(readlink "/proc/$pid1/exe" 2>/dev/null)" = /usr/lib/systemd/systemd ]; then break; fi
  sleep 0.1
done
inside() { nsenter --target "$pid1" --mount --pid --cgroup --root --wd -- "$@"; }

failed=0
ok() { printf 'ok    %s\n' "$*"; }
bad() { printf 'FAIL  %s\n' "$*"; failed=$((failed + 1)); }
check() { # check "what" command...: ok when the command succeeds
  local what=$1
  shift
  if out=$("$@" 2>&1); then ok "$what${out:+: $out}"; else bad "$what: $out"; fi
}
prop() { inside systemctl show -P "$2" "$1"; }

for _ in $(seq 600); do
  if inside systemctl is-active -q basic.target 2>/dev/null; then break; fi
  sleep 0.1
done
state=$(inside systemctl is-system-running 2>/dev/null || true)
# A machine image's "start no service" policy (docker images carry one) is not a real machine's.
inside rm -f /usr/sbin/policy-rc.d
if [ -z "$pid1" ] || ! inside systemctl is-active -q basic.target; then
  echo "systemd-check: systemd did not come up" >&2
  cat "$work/unshare.err" "$work/systemd.out" >&2 || true
  exit 1
fi
echo "systemd $(inside systemctl --version | head -1 | cut -d' ' -f2) is PID 1 (system $state); tsd from $(basename "$deb")"

check "dpkg -i: installed, enabled and started by its postinst" \
  inside sh -c 'dpkg -i /root/tsd.deb >/dev/null 2>&1 && echo "$(systemctl is-enabled tsd), $(systemctl is-active tsd)"'
check "tsd user and tsd-operators group made by postinst" inside sh -c 'echo "$(id tsd); $(getent group tsd-operators)"'
check "the service runs on the Node it brings" inside sh -c \
  'readlink /proc/$(systemctl show -P MainPID tsd)/exe | sed "s#.*/usr/lib/tsd/#/usr/lib/tsd/#"'

inside systemctl stop tsd
start_ms=$(date +%s%3N)
# Type=notify: start returns once the daemon serves, so tsctl right after must reach it.
check "systemctl start returns once ready; tsctl at once" inside sh -c \
  'systemctl start tsd && tsctl status | head -1'
echo "      (systemctl start took $(($(date +%s%3N) - start_ms)) ms)"
check "StatusText" prop tsd StatusText
check "systemd-analyze security" inside sh -c 'systemd-analyze security tsd --no-pager | tail -1'

# A user signs in: the status follows within a second or two.
inside sh -c '(printf "ada\ncorrect horse\ncorrect horse\n"; sleep 4) | tschat >/dev/null 2>&1 &'
users_seen=""
for _ in $(seq 50); do
  text=$(prop tsd StatusText)
  case "$text" in *"1 user online"*) users_seen=$text && break ;; esac
  sleep 0.1
done
if [ -n "$users_seen" ]; then ok "StatusText with a user signed in: $users_seen"; else bad "StatusText never said 1 user online: $text"; fi

main=$(prop tsd MainPID)
check "systemctl reload: SIGHUP reopens the log, same main PID" inside sh -c \
  "systemctl reload tsd && sleep 0.5 && journalctl -u tsd --no-pager -o cat | grep -c 'log file reopened' && test \$(systemctl show -P MainPID tsd) = $main"

inside sh -c 'useradd --create-home --groups tsd-operators alice && useradd --create-home bob'
check "an operator in tsd-operators (after the reload): tsctl --verbose status" inside sh -c \
  'runuser -u alice -- tsctl --verbose status 2>&1 | head -3 | tr "\n" " "'
bob=$(inside runuser -u bob -- tsctl status 2>&1; echo "exit $?")
case "$bob" in *"exit 4"*) ok "a user outside the group: $(echo "$bob" | tr '\n' ' ')" ;; *) bad "a user outside the group: $bob" ;; esac

check "kill -9 of the main PID: systemd starts it again" inside sh -c "
  old=\$(systemctl show -P MainPID tsd); kill -9 \$old
  for i in \$(seq 100); do
    new=\$(systemctl show -P MainPID tsd)
    if [ \"\$new\" != 0 ] && [ \"\$new\" != \$old ] && systemctl is-active -q tsd; then
      echo \"main PID \$old -> \$new, NRestarts=\$(systemctl show -P NRestarts tsd)\"; exit 0
    fi
    sleep 0.1
  done; exit 1"

stop_ms=$(date +%s%3N)
check "systemctl stop leaves no process" inside sh -c \
  'systemctl stop tsd && test "$(systemctl show -P MainPID tsd)" = 0 && ! pgrep -u tsd && echo "ActiveState=$(systemctl show -P ActiveState tsd)"'
echo "      (systemctl stop took $(($(date +%s%3N) - stop_ms)) ms)"

check "a start that can never succeed ends failed (start limit)" inside sh -c '
  mkdir -p /etc/systemd/system/tsd.service.d
  printf "[Service]\nEnvironment=TSD_CHAT_PORT=not-a-port\n" > /etc/systemd/system/tsd.service.d/broken.conf
  systemctl daemon-reload; systemctl start tsd 2>/dev/null
  for i in $(seq 300); do
    if [ "$(systemctl show -P ActiveState tsd)" = failed ] && journalctl -u tsd -o cat | grep -q "Start request repeated too quickly"; then
      echo "ActiveState=failed after NRestarts=$(systemctl show -P NRestarts tsd) in $((i / 10)) s: $(journalctl -u tsd -o cat | grep "repeated too quickly" | tail -1)"; exit 0
    fi
    sleep 0.1
  done; systemctl show tsd -p NRestarts -p Result; journalctl -u tsd -o cat | grep -v "^ \| node\[\|^20" | tail -8; exit 1'
check "the drop-in removed, reset-failed and start: it serves again" inside sh -c '
  rm -r /etc/systemd/system/tsd.service.d; systemctl daemon-reload; systemctl reset-failed tsd
  systemctl start tsd && tsctl status | head -1'

check "dpkg --purge: no process, no state, no user" inside sh -c \
  'dpkg --purge tsd >/dev/null && ! pgrep -f "^/usr/lib/tsd/" && test ! -e /var/lib/tsd && ! id tsd 2>/dev/null && echo "no process, no /var/lib/tsd, no user tsd"'

inside systemctl poweroff --no-block >/dev/null 2>&1 || true
echo "$failed failed"
[ "$failed" = 0 ]
