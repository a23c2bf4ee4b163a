#!/usr/bin/env bash
# benches/compare.sh: the crate against gevent (micro benchmarks) and against
# libev, tokio and gevent (TCP echo), interleaved, on 127.0.0.1 only.
# See benches/echo/README.md. Run from the repository root.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benches/compare.sh [options]

Builds what the chosen suites need, then runs them interleaved and prints
medians over the rounds with their min-max spread.

  micro   every [[bench]] of Cargo.toml (cargo bench --bench NAME), then
          benches/py/gevent_micro.py in the gevent venv, once per round;
          table: name | gevent | crate | gevent/crate
  echo    servers crate, libev, tokio, gevent (2core adds crate --hubs 2,
          tokio --flavor multi, libev with 2 SO_REUSEPORT loops); cases c1,
          c50, c500 (one loadgen thread per connection) and c50_ls, c500_ls
          (lock-step: 1 loadgen thread in 1core, 2 in 2core), 64-byte
          messages. Within a round every case runs every server in turn, each
          on a fresh port, started fresh and killed afterwards.
          mode 1core: server and loadgen pinned with taskset -c 0;
          mode 2core: nothing pinned.

options
  --rounds R     rounds (default 3)
  --only SUITE   micro or echo (default both)
  --quick        1 round and short echo runs (a smoke test, not a measurement)
  --big          add c10000_ls (10,000 connections, lock-step) for crate and libev
  --out FILE.md  also write the tables as markdown to FILE.md
  --modes LIST   echo modes, default 1core,2core
  --servers LIST echo servers to run (default: all of the mode's)
  --cases LIST   echo cases to run (default: all)
  --no-build     use what is built already
  -h, --help     this text

environment
  CRATE_ECHO_CMD     the crate's server, {port} replaced
                     (default: target/release/examples/echoserver_bench {port})
  CRATE_ECHO_H2_CMD  its 2-hub variant (default: CRATE_ECHO_CMD --hubs 2)
  GEVENT_MICRO       gevent's micro benchmarks (default: benches/py/gevent_micro.py)
  CARGO_BUILD_JOBS   cargo's -j, e.g. 1 on a shared machine

A server whose program is missing is skipped with a note. Raw results and
server logs go to target/bench-compare/<timestamp>/.
EOF
}

ROUNDS=3
ONLY=all
QUICK=0
BIG=0
OUT=
MODES=1core,2core
SERVERS=
CASES=
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=${2:?--rounds needs a number}; shift 2 ;;
        --only) ONLY=${2:?--only needs micro or echo}; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --big) BIG=1; shift ;;
        --out) OUT=${2:?--out needs a file}; shift 2 ;;
        --modes) MODES=${2:?}; shift 2 ;;
        --servers) SERVERS=${2:?}; shift 2 ;;
        --cases) CASES=${2:?}; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$ONLY" in all|micro|echo) ;; *) echo "compare.sh: --only micro|echo" >&2; exit 2 ;; esac
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --rounds must be >= 1" >&2; exit 2; }
[ "$QUICK" = 1 ] && ROUNDS=1

if [ ! -f Cargo.toml ] || [ ! -f benches/echo/Cargo.toml ]; then
    echo "compare.sh: run it from the repository root" >&2
    exit 2
fi
ROOT=$PWD
if [ -n "$OUT" ]; then
    case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
    : >"$OUT"
fi

ECHO_DIR=benches/echo
LOADGEN=$ECHO_DIR/target/release/loadgen
TOKIO_ECHO=$ECHO_DIR/target/release/tokio_echo
EV_ECHO=target/bench-echo/ev_echo
VENV=target/bench-venv
VENV_PY=$VENV/bin/python
GEVENT_MICRO=${GEVENT_MICRO:-benches/py/gevent_micro.py}
TABLES="python3 $ECHO_DIR/tables.py"
CRATE_ECHO_DEFAULT='target/release/examples/echoserver_bench {port}'
CRATE_ECHO_CMD=${CRATE_ECHO_CMD:-$CRATE_ECHO_DEFAULT}
CRATE_ECHO_H2_CMD=${CRATE_ECHO_H2_CMD:-$CRATE_ECHO_CMD --hubs 2}

RUN_DIR=target/bench-compare/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN_DIR"
FAILED=0

note() { echo "note: $*" >&2; }

# ------------------------------------------------------------------ header

header() {
    local cpu kernel
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
    kernel=$(uname -sr)
    cat <<EOF
# compare.sh $(date -u '+%Y-%m-%d %H:%M:%S UTC')
nproc:   $(nproc)
cpu:     ${cpu:-unknown}
kernel:  $kernel
rustc:   $(rustc --version 2>/dev/null || echo none)
commit:  $(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')
load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min; anything else running skews the figures)
options: rounds=$ROUNDS only=$ONLY quick=$QUICK big=$BIG modes=$MODES
EOF
    if [ "$CRATE_ECHO_CMD" != "$CRATE_ECHO_DEFAULT" ]; then
        echo "crate:   CRATE_ECHO_CMD='$CRATE_ECHO_CMD' (set in the environment)"
        echo "crate_h2: CRATE_ECHO_H2_CMD='$CRATE_ECHO_H2_CMD'"
    fi
}
HEADER=$(header)
echo "$HEADER"
echo
if [ -n "$OUT" ]; then
    { echo '```'; echo "$HEADER"; echo '```'; echo; } >>"$OUT"
fi

# ------------------------------------------------------------------ build

crate_example_exists() {
    [ -f examples/echoserver_bench.rs ] || [ -f examples/echoserver_bench/main.rs ] ||
        grep -q 'name *= *"echoserver_bench"' Cargo.toml
}

bench_names() {
    # The name of every [[bench]] table in Cargo.toml, in order.
    awk '/^\[\[bench\]\]/ { inb = 1; next }
         /^\[/ { inb = 0 }
         inb && /^name *=/ { gsub(/.*= *"|".*/, ""); print }' Cargo.toml
}

build_ev_echo() {
    mkdir -p target/bench-echo
    if [ "$EV_ECHO" -nt $ECHO_DIR/ev_echo.c ] && [ "$EV_ECHO" -nt libev/ev.c ] &&
        [ "$EV_ECHO" -nt include/gevent_ev_config.h ]; then
        return
    fi
    echo "build: ev_echo (cc, the crate's libev/ and include/gevent_ev_config.h)"
    # libev exactly as build.rs compiles it (same configuration header, and -O3
    # as cargo's release profile has cc-rs use); its own warnings are not ours.
    cc -O3 -fno-fast-math -w -Iinclude -Ilibev -include gevent_ev_config.h \
        -c libev/ev.c -o target/bench-echo/ev.o
    cc -O3 -fno-strict-aliasing -Wall -Wextra -Iinclude -Ilibev \
        -c $ECHO_DIR/ev_echo.c -o target/bench-echo/ev_echo.o
    cc -pthread target/bench-echo/ev_echo.o target/bench-echo/ev.o -lm -o "$EV_ECHO"
}

build_venv() {
    if [ -x "$VENV_PY" ] && "$VENV_PY" -c 'import gevent' 2>/dev/null; then
        return
    fi
    echo "build: $VENV with gevent 26.9.0 (pip)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --only-binary=:all: gevent==26.9.0
}

build() {
    if [ "$ONLY" != micro ]; then
        if [ "$CRATE_ECHO_CMD" = "$CRATE_ECHO_DEFAULT" ]; then
            if crate_example_exists; then
                echo "build: cargo build --release --example echoserver_bench"
                cargo build --release --example echoserver_bench
            else
                note "examples/echoserver_bench does not exist here: the crate's echo server is skipped"
            fi
        fi
        echo "build: cargo build --release --manifest-path $ECHO_DIR/Cargo.toml"
        cargo build --release --manifest-path $ECHO_DIR/Cargo.toml
        build_ev_echo
    fi
    if [ "$ONLY" != micro ] || [ -f "$GEVENT_MICRO" ]; then
        build_venv
    fi
    if [ "$ONLY" != echo ]; then
        echo "build: cargo bench --no-run"
        cargo bench --no-run
    fi
    echo
}

[ "$BUILD" = 1 ] && build

# ------------------------------------------------------------------ micro

run_micro() {
    local tsv=$RUN_DIR/micro.tsv r b
    local benches
    benches=$(bench_names)
    : >"$tsv"
    if [ ! -f "$GEVENT_MICRO" ]; then
        note "$GEVENT_MICRO is missing: the gevent column stays empty"
    fi
    for r in $(seq 1 "$ROUNDS"); do
        for b in $benches; do
            echo "micro round $r/$ROUNDS: cargo bench --bench $b" >&2
            if ! cargo bench -q --bench "$b" 2>>"$RUN_DIR/micro-crate.err" \
                    | tee -a "$RUN_DIR/micro-crate.out" | $TABLES micro-parse crate "$r" >>"$tsv"; then
                note "cargo bench --bench $b failed (see $RUN_DIR/micro-crate.err)"
                FAILED=$((FAILED + 1))
            fi
        done
        if [ -f "$GEVENT_MICRO" ]; then
            echo "micro round $r/$ROUNDS: $GEVENT_MICRO" >&2
            if ! "$VENV_PY" "$GEVENT_MICRO" 2>>"$RUN_DIR/micro-gevent.err" \
                    | tee -a "$RUN_DIR/micro-gevent.out" | $TABLES micro-parse gevent "$r" >>"$tsv"; then
                note "$GEVENT_MICRO failed (see $RUN_DIR/micro-gevent.err)"
                FAILED=$((FAILED + 1))
            fi
        fi
    done
    echo
    $TABLES micro "$tsv" ${OUT:+--md "$OUT"}
}

# ------------------------------------------------------------------ echo

# case name -> "conns msgs lockstep"; --quick shortens the runs.
case_spec() {
    local q=$QUICK
    case "$1" in
        c1)        [ "$q" = 1 ] && echo "1 2000 0"     || echo "1 20000 0" ;;
        c50)       [ "$q" = 1 ] && echo "50 100 0"     || echo "50 500 0" ;;
        c500)      [ "$q" = 1 ] && echo "500 20 0"     || echo "500 100 0" ;;
        c50_ls)    [ "$q" = 1 ] && echo "50 100 1"     || echo "50 500 1" ;;
        c500_ls)   [ "$q" = 1 ] && echo "500 20 1"     || echo "500 100 1" ;;
        c10000_ls) [ "$q" = 1 ] && echo "10000 3 1"    || echo "10000 10 1" ;;
        *) return 1 ;;
    esac
}

mode_servers() {
    case "$1" in
        1core) echo "crate libev tokio gevent" ;;
        2core) echo "crate crate_h2 libev libev_t2 tokio tokio_mt gevent" ;;
    esac
}

# The command line of a server, with its port.
server_cmd() {
    local name=$1 port=$2 tmpl
    case "$name" in
        crate) tmpl=$CRATE_ECHO_CMD ;;
        crate_h2) tmpl=$CRATE_ECHO_H2_CMD ;;
        libev) tmpl="$EV_ECHO {port}" ;;
        libev_t2) tmpl="$EV_ECHO {port} --threads 2" ;;
        tokio) tmpl="$TOKIO_ECHO {port} --flavor current" ;;
        tokio_mt) tmpl="$TOKIO_ECHO {port} --flavor multi" ;;
        gevent) tmpl="$VENV_PY $ECHO_DIR/gevent_echo.py {port}" ;;
        *) return 1 ;;
    esac
    echo "${tmpl//\{port\}/$port}"
}

# Sets PORT to a free port of our own, outside the ephemeral range
# (32768-60999), that nothing holds: a fresh one for every server start.
NEXT_PORT=$((20000 + ($$ % 400) * 20))
PORT=
free_port() {
    while :; do
        NEXT_PORT=$((NEXT_PORT + 1))
        [ "$NEXT_PORT" -lt 32000 ] || NEXT_PORT=20001
        if python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$NEXT_PORT" 2>/dev/null; then
            PORT=$NEXT_PORT
            return
        fi
    done
}

SRV_PID=
stop_server() {
    [ -n "$SRV_PID" ] || return 0
    kill -TERM "$SRV_PID" 2>/dev/null || true
    local i
    for i in $(seq 50); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=
}
trap 'stop_server' EXIT
trap 'stop_server; exit 130' INT TERM

# Waits until the server prints "listening" or its port accepts.
wait_listening() {
    local out=$1 port=$2 i
    for i in $(seq 150); do
        kill -0 "$SRV_PID" 2>/dev/null || return 1
        grep -q '^listening' "$out" 2>/dev/null && return 0
        if [ $((i % 10)) = 0 ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# run_echo MODE SERVER CASE ROUND: one server start, warm-up, one measurement.
run_echo() {
    local mode=$1 server=$2 case=$3 round=$4
    local conns msgs ls threads port cmd log pin=()
    read -r conns msgs ls <<<"$(case_spec "$case")"
    [ "$mode" = 1core ] && pin=(taskset -c 0)
    threads=$conns
    if [ "$ls" = 1 ]; then
        if [ "$mode" = 1core ]; then threads=1; else threads=2; fi
    fi
    free_port
    port=$PORT
    cmd=$(server_cmd "$server" "$port")
    local argv
    read -ra argv <<<"$cmd"
    log=$RUN_DIR/$mode-$server-$case-r$round
    "${pin[@]}" "${argv[@]}" >"$log.srv.out" 2>"$log.srv.err" &
    SRV_PID=$!
    if ! wait_listening "$log.srv.out" "$port"; then
        note "$mode $server $case: the server did not come up (see $log.srv.err)"
        stop_server
        FAILED=$((FAILED + 1))
        return
    fi
    local addr=127.0.0.1:$port warm_conns=$((conns < 50 ? conns : 50))
    local warm_msgs=100
    [ "$QUICK" = 1 ] && warm_msgs=20
    # Warm-up (not recorded): the server's first connections and allocations.
    if ! "${pin[@]}" "$LOADGEN" --addr "$addr" --conns "$warm_conns" --msgs "$warm_msgs" \
            --size 64 >/dev/null 2>"$log.warm.err"; then
        note "$mode $server $case: warm-up failed: $(tail -1 "$log.warm.err")"
        stop_server
        FAILED=$((FAILED + 1))
        return
    fi
    if timeout 600 "${pin[@]}" "$LOADGEN" --addr "$addr" --conns "$conns" --msgs "$msgs" \
            --size 64 --threads "$threads" --server-pid "$SRV_PID" \
            >"$log.lg.out" 2>"$log.lg.err"; then
        awk -v p="$mode	$server	$case	$round" 'NF >= 2 { print p "\t" $1 "\t" $2 }' \
            "$log.lg.out" >>"$RUN_DIR/echo.tsv"
        printf '  %-6s %-9s %-9s r%s  %s\n' "$mode" "$server" "$case" "$round" \
            "$(awk '{ printf "%s=%s ", $1, $2 }' "$log.lg.out")" >&2
    else
        note "$mode $server $case: loadgen failed: $(tail -1 "$log.lg.err")"
        FAILED=$((FAILED + 1))
    fi
    stop_server
}

in_list() { # in_list ITEM "a,b,c" (an empty list holds everything)
    [ -z "$2" ] && return 0
    case ",$2," in *",$1,"*) return 0 ;; esac
    return 1
}

run_echo_suite() {
    : >"$RUN_DIR/echo.tsv"
    : >"$RUN_DIR/servers.tsv"
    local cases="c1 c50 c500 c50_ls c500_ls" mode r c s
    [ "$BIG" = 1 ] && cases="$cases c10000_ls"
    [ -x "$LOADGEN" ] || { echo "compare.sh: $LOADGEN is not built" >&2; exit 1; }
    # Servers whose program is missing are skipped, once, with a note.
    local available=""
    for s in crate crate_h2 libev libev_t2 tokio tokio_mt gevent; do
        local prog
        prog=$(server_cmd "$s" 0 | cut -d' ' -f1)
        if [ -x "$prog" ]; then
            available="$available $s"
            printf '%s\t%s\n' "$s" "$(server_cmd "$s" PORT)" >>"$RUN_DIR/servers.tsv"
        else
            note "echo server $s skipped: $prog is missing"
        fi
    done
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    for mode in ${MODES//,/ }; do
        for r in $(seq 1 "$ROUNDS"); do
            echo "echo $mode round $r/$ROUNDS" >&2
            for c in $cases; do
                in_list "$c" "$CASES" || continue
                for s in $(mode_servers "$mode"); do
                    case " $available " in *" $s "*) ;; *) continue ;; esac
                    in_list "$s" "$SERVERS" || continue
                    if [ "$c" = c10000_ls ] && [ "$s" != crate ] && [ "$s" != libev ]; then
                        continue
                    fi
                    run_echo "$mode" "$s" "$c" "$r"
                done
            done
        done
    done
    echo
    $TABLES echo "$RUN_DIR/echo.tsv" ${OUT:+--md "$OUT"}
}

# ------------------------------------------------------------------ main

[ "$ONLY" != echo ] && run_micro
[ "$ONLY" != micro ] && run_echo_suite
echo "raw results: $RUN_DIR"
if [ "$FAILED" != 0 ]; then
    echo "compare.sh: $FAILED run(s) failed, see the notes above" >&2
    exit 1
fi
