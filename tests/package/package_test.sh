#!/usr/bin/env bash
# The Debian package end to end (ctest label "package", needs root and dpkg):
# build the .deb (scripts/package BUILD_DIR), dpkg -i, check the installed files and
# configuration, verify the unit with systemd-analyze, run the installed binary as the
# unit would (root, foreground, NOTIFY_SOCKET, the unit's bounding set and no_new_privs),
# check it runs as "fulcrum" with CAP_NET_BIND_SERVICE alone, stop it, dpkg --purge, and
# check that nothing is left. The machine is left as found, also on failure.
# Usage: tests/package/package_test.sh SOURCE_DIR BUILD_DIR. Exit 77: skipped.
set -uo pipefail
src=$1
build=$2
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (dpkg -i)"
command -v dpkg >/dev/null && command -v cpack >/dev/null || skip "needs dpkg and cpack"
if dpkg-query -W -f='${Status}' fulcrum 2>/dev/null | grep -q 'installed'; then
  skip "a fulcrum package is installed already: not touching it"
fi
getent passwd fulcrum >/dev/null && skip "a user 'fulcrum' exists already: not touching it"
[ -e /etc/fulcrum ] && skip "/etc/fulcrum exists already: not touching it"
[ -e /run/fulcrum ] && skip "/run/fulcrum exists already: not touching it"
if ss -ltn 2>/dev/null | grep -q '127.0.0.1:8080 '; then
  skip "127.0.0.1:8080 (the example configuration's port) is in use"
fi

work=$(mktemp -d)
chmod 0755 "$work"
pid=""
reader=""
installed=0
cleanup() {
  [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null
  [ -n "$reader" ] && kill "$reader" 2>/dev/null
  if [ "$installed" = 1 ] && dpkg-query -W fulcrum >/dev/null 2>&1; then
    dpkg --purge fulcrum >/dev/null 2>&1
  fi
  rm -rf /run/fulcrum "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP # the EXIT trap cleans up after a signal too

echo "== build the package"
deb=$("$src/scripts/package" "$build" 2>"$work/package.log") || {
  cat "$work/package.log" >&2
  fail "scripts/package"
}
echo "$deb"
dpkg-deb --info "$deb" | sed 's/^/  /'
dpkg-deb --contents "$deb" | awk '{print "  " $NF}'

echo "== dpkg -i"
installed=1
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" || fail "dpkg -i"
for f in /usr/sbin/fulcrum /usr/bin/fulcrumctl /etc/fulcrum/fulcrum.cfg \
  /usr/lib/systemd/system/fulcrum.service /usr/share/man/man8/fulcrum.8 \
  /usr/share/man/man8/fulcrumctl.8 /usr/share/man/man5/fulcrum.cfg.5; do
  [ -e "$f" ] || fail "$f not installed"
done
dpkg-query -W -f='${Conffiles}\n' fulcrum | grep -q '/etc/fulcrum/fulcrum.cfg' ||
  fail "/etc/fulcrum/fulcrum.cfg is not a conffile"
getent passwd fulcrum >/dev/null || fail "postinst did not create the user fulcrum"
uid=$(id -u fulcrum)

echo "== fulcrum -c"
/usr/sbin/fulcrum -c -f /etc/fulcrum/fulcrum.cfg || fail "the installed configuration is invalid"

echo "== systemd-analyze verify"
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify /usr/lib/systemd/system/fulcrum.service 2>&1)
  rc=$?
  echo "$out"
  [ $rc = 0 ] || fail "systemd-analyze verify"
  echo "$out" | grep -i 'fulcrum.service' && fail "systemd-analyze verify complains about the unit"
fi

echo "== run as the unit would"
mkdir -m 0755 /run/fulcrum # RuntimeDirectory=fulcrum
notify=$work/notify.sock
/usr/bin/python3 - "$notify" >"$work/notify.log" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)  # as systemd's: fulcrum notifies after dropping to its user
while True:
    msg = s.recv(4096).decode()
    print(msg.replace("\n", " "), flush=True)
PY
reader=$!
for _ in $(seq 50); do [ -S "$notify" ] && break; sleep 0.1; done
# The unit's CapabilityBoundingSet and NoNewPrivileges=yes.
bounding=$(sed -n 's/^CapabilityBoundingSet=//p' /usr/lib/systemd/system/fulcrum.service |
  tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
NOTIFY_SOCKET=$notify setpriv --no-new-privs --bounding-set "-all,$bounding" \
  /usr/sbin/fulcrum -f /etc/fulcrum/fulcrum.cfg 2>"$work/fulcrum.log" &
pid=$!
waitfor() { # PATTERN: a notification
  for _ in $(seq 100); do grep -q "$1" "$work/notify.log" && return 0; sleep 0.1; done
  return 1
}
waitfor '^READY=1' || { cat "$work/fulcrum.log" >&2; fail "no READY=1"; }
echo "notified: $(tr '\n' '|' <"$work/notify.log")"
for st in /proc/$pid/status /proc/$pid/task/*/status; do
  grep -q "^Uid:[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid$" "$st" ||
    fail "$st: not running as fulcrum ($(grep ^Uid "$st"))"
  for c in CapEff CapPrm CapBnd; do
    v=$(sed -n "s/^$c:[[:space:]]*//p" "$st")
    [ "$v" = 0000000000000400 ] || fail "$st: $c $v, not CAP_NET_BIND_SERVICE alone"
  done
done
echo "runs as fulcrum ($uid), CapEff=CapPrm=CapBnd=0000000000000400 in every thread"
/usr/bin/fulcrumctl --socket /run/fulcrum/admin.sock info >/dev/null || fail "fulcrumctl info"
kill -HUP "$pid"
waitfor '^RELOADING=1' || fail "no RELOADING=1 after SIGHUP"
kill -TERM "$pid"
waitfor '^STOPPING=1' || fail "no STOPPING=1 after SIGTERM"
wait "$pid" || fail "fulcrum exited $?: $(cat "$work/fulcrum.log")"
pid=""

echo "== dpkg --purge"
dpkg --purge fulcrum || fail "dpkg --purge"
installed=0
for f in /usr/sbin/fulcrum /usr/bin/fulcrumctl /etc/fulcrum /usr/lib/systemd/system/fulcrum.service \
  /usr/share/man/man8/fulcrum.8 /usr/share/doc/fulcrum; do
  [ -e "$f" ] && fail "$f left after purge"
done
getent passwd fulcrum >/dev/null && fail "user fulcrum left after purge"
getent group fulcrum >/dev/null && fail "group fulcrum left after purge"
echo "PASS"
