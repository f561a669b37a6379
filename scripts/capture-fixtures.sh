#!/usr/bin/env bash
# Regenerates fixtures/kernel/*.pcap: small captures of real Linux-kernel
# MPTCP v1 connections, one scenario per file, plus fixtures/kernel/manifest.json.
#
# usage: sudo scripts/capture-fixtures.sh [SCENARIO...]
#   default: all scenarios (see SCENARIOS below); ~40 s for all.
#   VERBOSE=1 prints the client/server helper logs.
#
# Each capture is checked against its EXPECT[...] feature list (re-captured up
# to MAX_ATTEMPTS times if the kernel scheduler did not produce them) and for
# malformed packets; then manifest.json and the generated section of
# fixtures/kernel/README.md are rebuilt from all pcaps present.
#
# Requirements: root, Linux with net.mptcp (>= 6.x recommended), iproute2 with
# `ip mptcp`, tcpdump, tshark + mergecap (wireshark-common), python3.
#
# Network hygiene: everything happens inside two network namespaces created
# here (mpfx-<pid>-cli / mpfx-<pid>-srv) joined by two veth pairs, addressed
# only from 198.18.0.0/15 and 2001:2::/48.  The namespaces (and with them the
# veths) are removed on exit, including on failure or interrupt.
#
# Topology (same for every scenario; each scenario gets fresh namespaces):
#
#     client ns                          server ns
#   c1 02:00:00:00:01:02  <-- veth -->  s1 02:00:00:00:01:01
#      198.18.1.2/24  2001:2:0:1::2/64       198.18.1.1/24  2001:2:0:1::1/64
#   c2 02:00:00:00:02:02  <-- veth -->  s2 02:00:00:00:02:01
#      198.18.2.2/24  2001:2:0:2::2/64       198.18.2.1/24  2001:2:0:2::1/64
#
# Policy routing: the client sends through the interface owning the source
# address, the server answers via the client address' link; each subflow
# therefore stays on one veth pair (c1<->s1 or c2<->s2).  tcpdump captures
# "tcp" on c1 and c2 (in the client namespace) separately; the two Ethernet
# captures are merged by timestamp into one LINKTYPE_ETHERNET pcap
# (microsecond timestamps).
# Checksum/segmentation offloads are switched off on all veths so the
# captured frames carry correct TCP checksums and are <= MTU (1500).

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="$ROOT/fixtures/kernel"
PEER="$HERE/fixtures/mptcp_peer.py"
OFFLOAD="$HERE/fixtures/offload.py"
MANIFEST="$HERE/fixtures/manifest.py"

TAG="mpfx-$$"
CLI="$TAG-cli"
SRV="$TAG-srv"
WORK="$(mktemp -d /tmp/mpfx.XXXXXX)"
CAP_PIDS=()
BG_PIDS=()

SCENARIOS=(join add_addr add_addr_port rm_addr mp_prio fastclose tcprst ipv6 checksum mixed fullmesh)

log() { printf '\033[1m[capture]\033[0m %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cleanup() {
  local rc=$?
  set +e
  for p in "${CAP_PIDS[@]}" "${BG_PIDS[@]}"; do
    kill "$p" 2>/dev/null
  done
  for ns in "$CLI" "$SRV"; do
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $EUID -eq 0 ]] || die "must run as root"
for t in ip tcpdump tshark mergecap python3 timeout; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done
[[ "$(sysctl -n net.mptcp.enabled 2>/dev/null)" == 1 ]] || die "net.mptcp.enabled is not 1"

nsc() { ip netns exec "$CLI" "$@"; }
nss() { ip netns exec "$SRV" "$@"; }

# wait_for TIMEOUT_S CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
  local limit=$(( $1 * 20 )); shift
  local i
  for (( i = 0; i < limit; i++ )); do
    "$@" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# wait_pid TIMEOUT_S PID: wait for a background job; kill it on timeout.
wait_pid() {
  local limit=$(( $1 * 20 )) pid=$2 i
  for (( i = 0; i < limit; i++ )); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid"; return $?; }
    sleep 0.05
  done
  log "pid $pid did not finish in $1 s, killing"
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 124
}

setup_topology() {
  teardown_topology
  ip netns add "$CLI"
  ip netns add "$SRV"
  local ns
  for ns in "$CLI" "$SRV"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1
    ip -n "$ns" link set lo up
  done
  local k
  for k in 1 2; do
    ip link add "c$k" netns "$CLI" address "02:00:00:00:0$k:02" type veth \
      peer name "s$k" netns "$SRV" address "02:00:00:00:0$k:01"
    nsc python3 "$OFFLOAD" "c$k" 2>/dev/null
    nss python3 "$OFFLOAD" "s$k" 2>/dev/null
    ip -n "$CLI" addr add "198.18.$k.2/24" dev "c$k"
    ip -n "$SRV" addr add "198.18.$k.1/24" dev "s$k"
    ip -n "$CLI" addr add "2001:2:0:$k::2/64" dev "c$k" nodad
    ip -n "$SRV" addr add "2001:2:0:$k::1/64" dev "s$k" nodad
    ip -n "$CLI" link set "c$k" up
    ip -n "$SRV" link set "s$k" up
    # Client: source-based routing, traffic from the address on cK leaves via
    # cK (so a subflow bound to cK never gets its replies on the other link).
    ip -n "$CLI" rule add from "198.18.$k.2" lookup "10$k" pref "10$k"
    ip -n "$CLI" route add default dev "c$k" table "10$k"
    ip -n "$CLI" -6 rule add from "2001:2:0:$k::2" lookup "10$k" pref "10$k"
    ip -n "$CLI" -6 route add default dev "c$k" table "10$k"
  done
  # Server: plain destination routing (connected routes), so it always answers
  # on the link the client used: each subflow stays on one veth pair.
  # Both kernels: start from an empty MPTCP path-manager configuration.
  nsc ip mptcp endpoint flush
  nss ip mptcp endpoint flush
  # Static neighbour entries: no ARP/ND needed (nor captured).  Every address
  # of the other side is reachable on-link through either interface.
  local a
  for k in 1 2; do
    for a in 198.18.1.1 198.18.2.1 2001:2:0:1::1 2001:2:0:2::1; do
      ip -n "$CLI" neigh replace "$a" lladdr "02:00:00:00:0$k:01" dev "c$k" nud permanent
    done
    for a in 198.18.1.2 198.18.2.2 2001:2:0:1::2 2001:2:0:2::2; do
      ip -n "$SRV" neigh replace "$a" lladdr "02:00:00:00:0$k:02" dev "s$k" nud permanent
    done
  done
}

teardown_topology() {
  ip netns del "$CLI" 2>/dev/null || true
  ip netns del "$SRV" 2>/dev/null || true
}

start_capture() {
  local name=$1 k
  CAP_PIDS=()
  for k in 1 2; do
    # (not via the nsc function: a backgrounded function would be a subshell)
    ip netns exec "$CLI" tcpdump -Z root -i "c$k" --immediate-mode -U -n -s 0 -w "$WORK/$name-c$k.pcap" tcp \
      2>"$WORK/$name-c$k.log" &
    CAP_PIDS+=($!)
  done
  for k in 1 2; do
    wait_for 5 grep -q "listening on" "$WORK/$name-c$k.log" \
      || die "tcpdump on c$k did not start: $(cat "$WORK/$name-c$k.log")"
  done
}

stop_capture() {
  local name=$1 p
  sleep 0.3 # let trailing ACKs/RSTs hit the wire
  for p in "${CAP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${CAP_PIDS[@]}"; do wait_pid 5 "$p" || true; done
  CAP_PIDS=()
  mergecap -F pcap -w "$OUT/$name.pcap" "$WORK/$name-c1.pcap" "$WORK/$name-c2.pcap"
  log "$name.pcap: $(stat -c %s "$OUT/$name.pcap") bytes, $(tshark -r "$OUT/$name.pcap" 2>/dev/null | wc -l) frames"
}

# run_conn NAME SERVER_ADDR PORT CLIENT_STEP...: one echo server, one scripted client.
# The server listens on the wildcard address (0.0.0.0, or :: if SERVER_ADDR is
# IPv6) so that MP_JOINs towards its other addresses find the listener too.
run_conn() {
  local name=$1 addr=$2 port=$3; shift 3
  local ready="$WORK/$name.ready" any=0.0.0.0
  [[ $addr == *:* ]] && any=::
  rm -f "$ready"
  ip netns exec "$SRV" timeout 30 python3 "$PEER" server --bind "$any" --port "$port" --ready "$ready" --timeout 20 \
    2>"$WORK/$name-server.log" &
  local spid=$!
  BG_PIDS=("$spid")
  wait_for 5 test -e "$ready" || die "server did not start: $(cat "$WORK/$name-server.log")"
  if ! nsc timeout 30 python3 "$PEER" client --connect "$addr" --port "$port" --timeout 10 "$@" \
    2>"$WORK/$name-client.log"; then
    cat "$WORK/$name-client.log" "$WORK/$name-server.log" >&2
    die "$name: client failed"
  fi
  if ! wait_pid 15 "$spid"; then
    cat "$WORK/$name-client.log" "$WORK/$name-server.log" >&2
    die "$name: server failed"
  fi
  BG_PIDS=()
  if [[ -n "${VERBOSE:-}" ]]; then cat "$WORK/$name-client.log" "$WORK/$name-server.log" >&2; fi
}

limits() { # limits NS SUBFLOWS ADD_ADDR_ACCEPTED
  ip netns exec "$1" ip mptcp limits set subflows "$2" add_addr_accepted "$3"
}

# ---------------------------------------------------------------- scenarios
# Each scenario_X configures fresh namespaces, then captures one connection into
# fixtures/kernel/X.pcap.  EXPECT[X] lists manifest features (see
# scripts/fixtures/manifest.py; "feature>=N" checks a count) that the capture
# must contain; the kernel's packet scheduler is not fully deterministic, so a
# scenario is re-captured (up to MAX_ATTEMPTS times) until they are all there.
#
# Data sizes are small on purpose: every pcap should stay well below 200 KB.
# "chunks:20x500" (20 back-to-back 500-byte writes, echoed back) is what makes
# the scheduler put data on the joined subflows too: while one subflow has
# unacknowledged data queued, the next write goes to the idle one.
MAX_ATTEMPTS=4
SPREAD="chunks:20x500 chunks:20x500"
declare -A EXPECT

EXPECT[join]="mp_capable_syn mp_capable_synack mp_capable_ack mp_capable_ack_data mp_join_syn mp_join_synack mp_join_ack dss_mapping dss_data_ack data_fin tcp_fin data_on_join_subflow_c2s data_on_join_subflow_s2c"
scenario_join() {
  limits "$CLI" 2 2; limits "$SRV" 2 2
  nsc ip mptcp endpoint add 198.18.2.2 dev c2 id 2 subflow
  start_capture join
  run_conn join 198.18.1.1 10001 send:1200 subflows:1 $SPREAD sleep:0.1 close
  stop_capture join
}

EXPECT[add_addr]="mp_capable_c_flag add_addr_v4 add_addr_hmac add_addr_echo mp_join_syn mp_join_synack mp_join_ack data_fin"
scenario_add_addr() {
  # allow_join_initial_addr_port=0: the server's MP_CAPABLE SYN/ACK carries
  # flag C ("do not join my initial address/port"), the client only joins the
  # announced address.
  nss sysctl -qw net.mptcp.allow_join_initial_addr_port=0
  limits "$CLI" 2 2; limits "$SRV" 2 2
  nss ip mptcp endpoint add 198.18.2.1 dev s2 id 2 signal
  start_capture add_addr
  run_conn add_addr 198.18.1.1 10002 send:1200 subflows:1 $SPREAD sleep:0.1 close
  stop_capture add_addr
}

EXPECT[add_addr_port]="add_addr_v4 add_addr_port add_addr_hmac add_addr_echo mp_join_ack data_fin"
scenario_add_addr_port() {
  limits "$CLI" 2 2; limits "$SRV" 2 2
  # An endpoint with a port makes the kernel open an extra MPTCP listener
  # there; the client joins 198.18.2.1:10100 (not the connection's port 10003).
  nss ip mptcp endpoint add 198.18.2.1 dev s2 id 2 port 10100 signal
  start_capture add_addr_port
  run_conn add_addr_port 198.18.1.1 10003 send:1200 subflows:1 $SPREAD sleep:0.1 close
  stop_capture add_addr_port
}

EXPECT[rm_addr]="add_addr_v4 rm_addr>=2 mp_join_ack>=2 data_fin"
scenario_rm_addr() {
  # Client: subflow endpoint id 2 (198.18.2.2). Server: announces 198.18.2.1
  # as id 5.  Three subflows, then: the server deletes id 5 -> RM_ADDR(5)
  # server->client; later the client deletes id 2 -> RM_ADDR(2)
  # client->server.  The transfer then finishes on the initial subflow.
  limits "$CLI" 2 1; limits "$SRV" 2 1
  nsc ip mptcp endpoint add 198.18.2.2 dev c2 id 2 subflow
  nss ip mptcp endpoint add 198.18.2.1 dev s2 id 5 signal
  start_capture rm_addr
  run_conn rm_addr 198.18.1.1 10004 send:1200 subflows:2 chunks:20x500 \
    "run:ip netns exec $SRV ip mptcp endpoint delete id 5" sleep:0.2 chunks:10x500 \
    "run:ip mptcp endpoint delete id 2" sleep:0.2 chunks:10x500 close
  stop_capture rm_addr
}

EXPECT[mp_prio]="mp_prio_backup mp_prio_nobackup mp_join_ack data_fin"
scenario_mp_prio() {
  limits "$CLI" 2 2; limits "$SRV" 2 2
  nsc ip mptcp endpoint add 198.18.2.2 dev c2 id 2 subflow
  start_capture mp_prio
  run_conn mp_prio 198.18.1.1 10005 send:1200 subflows:1 chunks:20x500 \
    "run:ip mptcp endpoint change id 2 backup" sleep:0.2 chunks:10x500 \
    "run:ip mptcp endpoint change id 2 nobackup" sleep:0.2 chunks:10x500 close
  stop_capture mp_prio
}

EXPECT[fastclose]="mp_fastclose>=2 mp_tcprst tcp_rst>=2 mp_join_ack"
scenario_fastclose() {
  limits "$CLI" 2 2; limits "$SRV" 2 2
  nsc ip mptcp endpoint add 198.18.2.2 dev c2 id 2 subflow
  start_capture fastclose
  # abort = SO_LINGER {1,0} + close(): the client kernel sends MP_FASTCLOSE.
  run_conn fastclose 198.18.1.1 10006 send:1200 subflows:1 chunks:20x500 abort
  stop_capture fastclose
}

EXPECT[tcprst]="mp_tcprst>=2 join_rejected dss_reinjection mp_join_ack data_fin"
scenario_tcprst() {
  # The server accepts no additional subflows (limit 0): it completes the
  # MP_JOIN handshake, then resets the subflow with MP_TCPRST reason 3
  # (administratively prohibited).
  limits "$CLI" 2 2; limits "$SRV" 0 0
  nsc ip mptcp endpoint add 198.18.2.2 dev c2 id 2 subflow
  start_capture tcprst
  run_conn tcprst 198.18.1.1 10007 send:1200 sleep:0.3 chunks:20x500 close
  stop_capture tcprst
}

EXPECT[ipv6]="subflow_ipv6 add_addr_v6 add_addr_echo mp_join_ack>=2 data_fin data_on_join_subflow_c2s"
scenario_ipv6() {
  # Join from the client's second address + ADD_ADDR of the server's second
  # address (IPv6 ADD_ADDR) and a join towards it.
  limits "$CLI" 2 2; limits "$SRV" 2 2
  nsc ip mptcp endpoint add 2001:2:0:2::2 dev c2 id 2 subflow
  nss ip mptcp endpoint add 2001:2:0:2::1 dev s2 id 2 signal
  start_capture ipv6
  run_conn ipv6 2001:2:0:1::1 10008 send:1200 subflows:2 $SPREAD sleep:0.1 close
  stop_capture ipv6
}

EXPECT[checksum]="mp_capable_checksum_flag mp_capable_ack_data dss_checksum mp_join_ack data_fin data_on_join_subflow_c2s"
scenario_checksum() {
  nsc sysctl -qw net.mptcp.checksum_enabled=1
  nss sysctl -qw net.mptcp.checksum_enabled=1
  limits "$CLI" 2 2; limits "$SRV" 2 2
  nsc ip mptcp endpoint add 198.18.2.2 dev c2 id 2 subflow
  start_capture checksum
  run_conn checksum 198.18.1.1 10009 send:1200 subflows:1 $SPREAD sleep:0.1 close
  stop_capture checksum
}

EXPECT[mixed]="subflow_ipv4 subflow_ipv6 add_addr_v6 mp_join_ack data_fin"
scenario_mixed() {
  # IPv4 initial subflow on a dual-stack (AF_INET6, v4-mapped) socket; the
  # server announces an IPv6 address, the client joins it over IPv6.
  limits "$CLI" 2 2; limits "$SRV" 2 2
  nss ip mptcp endpoint add 2001:2:0:2::1 dev s2 id 2 signal
  start_capture mixed
  run_conn mixed "::ffff:198.18.1.1" 10010 send:1200 subflows:1 $SPREAD sleep:0.1 close
  stop_capture mixed
}

EXPECT[fullmesh]="add_addr_v4 mp_join_ack>=3 mp_join_backup_flag data_fin"
scenario_fullmesh() {
  # Client: two fullmesh endpoints, the second one "backup"; server announces
  # its second address: 2 local x 2 remote addresses = 4 subflows, the two
  # from 198.18.2.2 are backup subflows (MP_JOIN with B=1).
  limits "$CLI" 8 2; limits "$SRV" 8 2
  nsc ip mptcp endpoint add 198.18.1.2 dev c1 id 1 subflow fullmesh
  nsc ip mptcp endpoint add 198.18.2.2 dev c2 id 2 subflow fullmesh backup
  nss ip mptcp endpoint add 198.18.2.1 dev s2 id 2 signal
  start_capture fullmesh
  run_conn fullmesh 198.18.1.1 10011 send:1200 subflows:3 $SPREAD sleep:0.1 close
  stop_capture fullmesh
}

# ---------------------------------------------------------------- main

main() {
  local want=("$@")
  [[ ${#want[@]} -gt 0 ]] || want=("${SCENARIOS[@]}")
  mkdir -p "$OUT"
  local s attempt
  for s in "${want[@]}"; do
    declare -F "scenario_$s" >/dev/null || die "unknown scenario: $s"
  done
  log "kernel $(uname -r), $(ip -V)"
  for s in "${want[@]}"; do
    for (( attempt = 1; ; attempt++ )); do
      log "scenario $s (attempt $attempt)"
      setup_topology
      "scenario_$s"
      teardown_topology
      # shellcheck disable=SC2086
      python3 "$MANIFEST" --check "$OUT/$s.pcap" ${EXPECT[$s]} && break
      (( attempt < MAX_ATTEMPTS )) || die "$s: expected features still missing after $attempt attempts"
    done
  done
  python3 "$MANIFEST" "$OUT" "$(uname -r)" >"$WORK/manifest.json"
  mv "$WORK/manifest.json" "$OUT/manifest.json"
  log "wrote $OUT/manifest.json"
  update_readme
}

# Replace the generated section of fixtures/kernel/README.md (between the
# BEGIN/END GENERATED markers) with a per-file summary of manifest.json.
update_readme() {
  local readme="$OUT/README.md"
  if [[ ! -f $readme ]] || ! grep -q '^<!-- BEGIN GENERATED' "$readme"; then
    log "README.md has no generated-section markers; not updated"
    return 0
  fi
  python3 "$MANIFEST" --markdown "$OUT/manifest.json" >"$WORK/generated.md"
  python3 - "$readme" "$WORK/generated.md" <<'PY'
import re, sys
readme, gen = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
begin = re.search(r"^<!-- BEGIN GENERATED.*-->\n", text, re.M)
end = re.search(r"^<!-- END GENERATED -->", text, re.M)
open(readme, "w").write(text[: begin.end()] + "\n" + gen.rstrip() + "\n\n" + text[end.start():])
PY
  log "updated $readme"
}

main "$@"
