#!/usr/bin/env bash
# The simulated audience (docs/SCALING.md): network namespaces on
# one machine, each node behind a veth pair on a private bridge, uplinks capped with tc tbf
# (listeners 1 Mbit/s up and 10 Mbit/s down, each gateway 2 Mbit/s up), N listeners (one
# alluvium-tune process each, in a namespace of its own) on one 128 kbit/s station.
#
#   sudo bench/audience.sh [--listeners 50] [--seconds 240] [--discovery tracker|opentracker-dht]
#                          [--gateways 1|2] [--build build/dev]
#
# Prints per-item figures (origin bytes / item size, gateway upload / item size) and the
# audience's (bytes between peers, join time, stalls, memory per listener), and writes them
# to <build>/bench-results/audience-<discovery>-<gateways>gw.txt, like the other
# benchmarks (listener_log=debug and gateway_log=debug in the environment set the log levels; --keep
# keeps their logs). Traffic goes only to the 10.77.0.0/16 addresses it creates; every namespace
# and link it made is removed on exit, even after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

listeners=50
seconds=240
discovery=tracker
gateways=1
build=build/dev
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --listeners) listeners=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --discovery) discovery=$2; shift 2 ;;
        --gateways) gateways=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "audience: unknown option $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "audience: network namespaces need root" >&2; exit 1; }
case "$discovery" in tracker | opentracker-dht) ;; *) echo "audience: --discovery tracker|opentracker-dht" >&2; exit 2 ;; esac
bin=$(realpath "$build")
for b in server/gateway/alluvium-gateway server/broadcaster/alluvium-broadcaster player/tune/alluvium-tune; do
    [ -x "$bin/$b" ] || { echo "audience: build first ($bin/$b is missing)" >&2; exit 1; }
done

prefix=alvb
work=$(mktemp -d -t alluvium-audience.XXXX)
pids=()
# Every namespace this script makes is named $prefix-*: removing them removes their links.
remove_namespaces() {
    for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do ip netns del "$ns"; done
}
cleanup() {
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    remove_namespaces
    restore_gc
    if [ -n "$keep" ]; then echo "audience: logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
remove_namespaces  # leftovers of a run that was killed
# Every listener talks to every other: n² neighbour entries, over the kernel's default
# limit (1024, for all namespaces together) at about 40 listeners ("neighbor table
# overflow", and new listeners cannot reach anyone). Raised for the run, restored after.
neigh=/proc/sys/net/ipv4/neigh/default
saved_gc=("$(cat $neigh/gc_thresh1)" "$(cat $neigh/gc_thresh2)" "$(cat $neigh/gc_thresh3)")
restore_gc() {
    echo "${saved_gc[0]}" >$neigh/gc_thresh1
    echo "${saved_gc[1]}" >$neigh/gc_thresh2
    echo "${saved_gc[2]}" >$neigh/gc_thresh3
}
echo 4096 >$neigh/gc_thresh1
echo 16384 >$neigh/gc_thresh2
echo 32768 >$neigh/gc_thresh3

# The hub: a bridge in a namespace of its own (the host's network is not touched).
ip netns add "$prefix-hub"
ip -n "$prefix-hub" link add br0 type bridge
ip -n "$prefix-hub" link set br0 up
ip -n "$prefix-hub" link set lo up

# node NAME INDEX UP_RATE DOWN_RATE: a namespace with 10.77.x.y on a veth to the bridge.
node() {
    local name=$1 index=$2 up=$3 down=$4
    local ns="$prefix-$name" addr="10.77.$((index / 250)).$((index % 250 + 2))"
    ip netns add "$ns"
    ip link add "h$index" netns "$prefix-hub" type veth peer name eth0 netns "$ns"
    ip -n "$prefix-hub" link set "h$index" master br0 up
    ip -n "$ns" addr add "$addr/16" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    # Uplink: what leaves the node. Downlink: what the bridge sends it.
    [ "$up" = none ] || tc -n "$ns" qdisc add dev eth0 root tbf rate "$up" burst 32kb latency 500ms
    [ "$down" = none ] || tc -n "$prefix-hub" qdisc add dev "h$index" root tbf rate "$down" burst 64kb latency 500ms
    echo "$addr"
}

echo "audience: $listeners listeners, ${seconds}s, discovery $discovery, $gateways gateway(s)" >&2
origin_ip=$(node origin 1 none none)
gw_ips=()
for g in $(seq "$gateways"); do gw_ips+=("$(node "gw$g" $((1 + g)) 2mbit 10mbit)"); done
tracker_ip=""
[ "$discovery" = opentracker-dht ] && tracker_ip=$(node tracker 9 none none)

# The station: three 60 s items at 128 kbit/s, looping, published by nginx.
www="$work/www"
mkdir -p "$www" "$work/run"
chmod 755 "$work" "$www"
for hz in 330 550 770; do
    ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=$hz:duration=60" -ac 2 -c:a libmp3lame -b:a 128k \
        -metadata title="Tone $hz" "$www/tone$hz.mp3"
done
"$bin/server/broadcaster/alluvium-broadcaster" generate -q --loop --title "Audience" \
    --base-url "http://$origin_ip:8080/" -o "$www/station.rss" "$www"
cat >"$work/run/nginx.conf" <<CONF
pid $work/run/nginx.pid;
error_log $work/run/nginx-error.log;
$([ "$(id -u)" -eq 0 ] && echo "user root;")
events {}
http {
    include /etc/nginx/mime.types;
    # The figures read the first three fields; the rest tell when and who (--keep).
    log_format bytes '\$request_uri \$status \$body_bytes_sent \$msec \$remote_addr \$http_range';
    access_log $work/run/access.log bytes;
    client_body_temp_path $work/run;
    server { listen $origin_ip:8080; root $www; }
}
CONF
ip netns exec "$prefix-origin" nginx -p "$work/run" -c "$work/run/nginx.conf" -g 'daemon off;' &
pids+=($!)

gw_args=()
if [ "$discovery" = opentracker-dht ]; then
    mkdir -p "$work/tracker"
    chmod 755 "$work/tracker"
    gw_args=(--no-builtin-tracker --tracker "http://$tracker_ip:6969/announce"
        --tracker-whitelist "$work/tracker/whitelist" --dht --dht-bootstrap none)
fi
# The seed's upload stays at 72 % of the 2 Mbit/s uplink (250,000 B/s), as an operator would
# set it: answers, announces and headers took a quarter of what the gateway sent, and with
# 220000 they queued behind seed traffic (gw_upload_limit in the environment overrides).
gw_upload_limit=${gw_upload_limit:-180000}
# Listeners upload without a cap unless listener_upload_limit (bytes/s, alluvium-tune
# --upload-limit) is in the environment. Capped at 100000, under their 1 Mbit/s uplink, the
# first item's origin bytes went up (2.17 copies against 1.6-1.7 uncapped, 90 s runs).
listener_upload_limit=${listener_upload_limit:-0}
gateway_urls=()
for g in $(seq "$gateways"); do
    ip=${gw_ips[$((g - 1))]}
    ip netns exec "$prefix-gw$g" "$bin/server/gateway/alluvium-gateway" --listen "$ip:8767" \
        --bt-listen "$ip:6881" --data-dir "$work/gw$g" --allow-origin "http://$origin_ip:8080" \
        --allow-private-addresses --remote-admin --upload-limit "$gw_upload_limit" --log-level "${gateway_log:-warn}" \
        "${gw_args[@]}" 2>"$work/gw$g.log" &
    pids+=($!)
    gateway_urls+=("http://$ip:8767")
done
for u in "${gateway_urls[@]}"; do
    for _ in $(seq 100); do ip netns exec "$prefix-gw1" curl -sf "$u/v1/status" >/dev/null && break; sleep 0.1; done
    ip netns exec "$prefix-gw1" "$bin/server/gateway/alluvium-gateway" prime \
        "http://$origin_ip:8080/station.rss" --gateway "$u" >/dev/null
done
if [ "$discovery" = opentracker-dht ]; then
    ip netns exec "$prefix-tracker" opentracker -i "$tracker_ip" -p 6969 -P 6969 -d "$work/tracker" \
        -w whitelist >"$work/tracker.log" 2>&1 &
    pids+=($!)
fi
# Now is the start of the first item: every listener joins within the first seconds.
"$bin/server/broadcaster/alluvium-broadcaster" generate -q --loop --title "Audience" \
    --base-url "http://$origin_ip:8080/" --start now \
    -o "$www/station.rss" "$www"

# A reader per listener: time to the first byte of /stream, longest gap between reads.
cat >"$work/reader.py" <<'PY'
import socket, sys, time, json
start, until, out = float(sys.argv[1]), float(sys.argv[1]) + float(sys.argv[2]), sys.argv[3]
first, gap, total, s = None, 0.0, 0, None
while s is None and time.time() < until:  # the listener may not be up yet
    try:
        s = socket.create_connection(("127.0.0.1", 8000), timeout=1)
        s.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
    except OSError:
        s = None
        time.sleep(0.05)
buf, last = b"", None
while s is not None and time.time() < until:
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    if not d:
        break
    now = time.time()
    if first is None:
        buf += d
        if b"\r\n\r\n" not in buf or buf.endswith(b"\r\n\r\n"):
            continue
        first = now - start
    elif last is not None:
        gap = max(gap, now - last)
    last = now
    total += len(d)
json.dump({"join_s": first, "longest_gap_s": gap, "bytes": total}, open(out, "w"))
PY

tune_pids=()
unreachable=0
for i in $(seq "$listeners"); do
    ip=$(node "l$i" $((20 + i)) 1mbit 10mbit)
    gw_flags=()
    for u in "${gateway_urls[@]}"; do gw_flags+=(--gateway "$u"); done
    # Several gateways: each listener asks them in its own order (one per listener first).
    if [ "$gateways" -gt 1 ] && [ $((i % 2)) -eq 0 ]; then
        gw_flags=(--gateway "${gateway_urls[1]}" --gateway "${gateway_urls[0]}")
    fi
    # A new node reaches the origin before its listener starts (on a loaded machine the
    # first SYNs can be lost).
    ip netns exec "$prefix-l$i" curl -s -o /dev/null --retry 10 --retry-connrefused --retry-delay 1 \
        -m 30 "http://$origin_ip:8080/station.rss" ||
        { echo "audience: listener $i cannot reach the origin" >&2; unreachable=$((unreachable + 1)); }
    now=$(date +%s.%N)
    echo "$i $ip $now" >>"$work/starts"
    ip netns exec "$prefix-l$i" "$bin/player/tune/alluvium-tune" "http://$origin_ip:8080/station.rss" \
        "${gw_flags[@]}" --port 8000 --bt-listen "$ip:6881" --cache-dir "$work/l$i" \
        --upload-limit "$listener_upload_limit" \
        --log-level "${listener_log:-warn}" >"$work/l$i.log" 2>&1 &
    tune_pids+=($!)
    pids+=($!)
    ip netns exec "$prefix-l$i" python3 "$work/reader.py" "$now" "$seconds" "$work/l$i.json" &
    pids+=($!)
done
echo "audience: all $listeners listeners started; playing for ${seconds}s" >&2
sleep "$seconds"
load=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 3  # the readers write their figures

# Figures.
out="$bin/bench-results/audience-$discovery-${gateways}gw.txt"
mkdir -p "$bin/bench-results"
{
    echo "audience: $listeners listeners (one alluvium-tune process each, a namespace each), ${seconds}s"
    echo "links: listeners 1 Mbit/s up, 10 Mbit/s down; gateways 2 Mbit/s up, 10 Mbit/s down (tc tbf)"
    echo "station: 3 x 60 s MP3 at 128 kbit/s, looping; discovery: $discovery; gateways: $gateways"
    echo
    echo "per item (over the whole run):"
    for f in "$www"/tone*.mp3; do
        name=$(basename "$f"); size=$(stat -c %s "$f")
        origin=$(awk -v p="/$name" '$1 == p && ($2 == 200 || $2 == 206) { s += $3 } END { print s + 0 }' "$work/run/access.log")
        # What the gateways sent: their seeds, and the byte ranges listeners the swarm left
        # short fetched from their copies (GET /v1/media) instead of the origin.
        up=0
        rescued=0
        for g in $(seq "$gateways"); do
            read -r u r < <(ip netns exec "$prefix-gw$g" curl -s "${gateway_urls[$((g - 1))]}/v1/status" |
                python3 -c "import json,sys; i=[i for i in json.load(sys.stdin)['items'] if i['url'].endswith('/$name')]; print(sum(x['uploaded'] for x in i), sum(x.get('rescued', 0) for x in i))")
            up=$((up + u + r))
            rescued=$((rescued + r))
        done
        awk -v n="$name" -v s="$size" -v o="$origin" -v u="$up" -v r="$rescued" \
            'BEGIN { printf "  %-14s %8d bytes  origin/size %.2f  gateway upload/size %.2f (of which over HTTP %.2f)\n", n, s, o / s, u / s, r / s }'
    done
    echo
    python3 - "$work" "$listeners" "${tune_pids[@]}" <<'PY'
import json, sys, statistics
work, n, pids = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
joins, gaps, mem = [], [], []
for i in range(1, n + 1):
    try:
        r = json.load(open(f"{work}/l{i}.json"))
    except Exception:
        r = {"join_s": None, "longest_gap_s": None}
    if r["join_s"] is not None: joins.append(r["join_s"])
    if r["longest_gap_s"] is not None: gaps.append(r["longest_gap_s"])
for p in pids:
    try:
        for line in open(f"/proc/{p}/status"):
            if line.startswith("VmHWM:"): mem.append(int(line.split()[1]) / 1024)
    except OSError:
        pass
print(f"listeners playing: {len(joins)} of {n}")
if joins:
    print(f"join (start to first byte of /stream): median {statistics.median(joins):.2f} s, max {max(joins):.2f} s")
if gaps:
    gaps.sort()
    print(f"longest gap between reads: median {statistics.median(gaps):.2f} s, max {gaps[-1]:.2f} s")
if mem:
    print(f"memory per listener (peak RSS): median {statistics.median(mem):.0f} MiB, max {max(mem):.0f} MiB")
PY
    peers=0; gw=0; origin=0; stalls=0; redundant=0
    for i in $(seq "$listeners"); do
        st=$(ip netns exec "$prefix-l$i" curl -s -m 2 http://127.0.0.1:8000/status || echo '{}')
        read -r p g o s r < <(echo "$st" | python3 -c "import json,sys
try:
    j=json.load(sys.stdin); b=j['bytes']; print(b['peers'], b['gateway'], b['origin'], j['stalls'], b.get('redundant', 0))
except Exception: print(0, 0, 0, 0, 0)")
        peers=$((peers + p)); gw=$((gw + g)); origin=$((origin + o)); stalls=$((stalls + s)); redundant=$((redundant + r))
    done
    echo "bytes listeners received: from peers $peers, from gateways $gw, from the origin (rescue) $origin"
    awk -v p="$peers" -v g="$gw" -v o="$origin" 'BEGIN { t = p + g + o; if (t > 0) printf "share from peers: %.1f%%\n", 100 * p / t }'
    echo "of those, received twice (libtorrent's redundant bytes): $redundant"
    echo "stalls (the stream fell behind the schedule), all listeners: $stalls"
    echo "listeners whose namespace could not reach the origin in 30 s: $unreachable"
    echo "machine: $(nproc) cores, load average at the end $load"
} | tee "$out"
echo "audience: figures written to $out" >&2
