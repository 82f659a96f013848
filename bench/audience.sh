#!/usr/bin/env bash
# The simulated audience (docs/SCALING.md): network namespaces on one machine, each node
# behind a veth pair on a private bridge, N listeners (one alluvium-tune process each, in a
# namespace of its own) on one 128 kbit/s station of three 60 s items, looping.
#
#   sudo bench/audience.sh [--listeners 50] [--seconds 240] [--discovery tracker|opentracker-dht]
#                          [--gateways 1|2 | --no-gateway [--web-seed]] [--build build/dev]
#                          [--label NAME] [--keep]
#                          [--realistic] [--rtt MIN-MAX|none] [--jitter F] [--loss F]
#                          [--nat PERCENT] [--uplinks flat|mixed] [--churn MEAN_S|none]
#                          [--seed N] [--lan]
#
# Profiles. The default is the flat network: no delay, no loss, every listener reachable,
# every uplink 1 Mbit/s (10 down), the whole audience tuning in at once. --realistic is the
# Internet as listeners meet it, each part switchable by the options after it:
#   --rtt 20-200     round trip to the bridge drawn once per listener, uniformly (ms)
#   --jitter 0.1     each packet's delay varies by up to +-10 % (never reordered)
#   --loss 0.01      1 % of packets lost in each direction
#   --nat 70         70 % of listeners behind a NAT router of their own (nftables masquerade,
#                    nothing forwarded in, unsolicited packets dropped): they connect out
#                    but cannot be reached
#   --uplinks mixed  25 % at 0.5 Mbit/s, 50 % at 1, 20 % at 4, 5 % at 20; downlinks 10x
#   --churn 300      half the audience tunes in at once, then listeners arrive as a Poisson
#                    process and stay for exponentially distributed times (mean 300 s)
#                    around the target size (--listeners)
# --no-gateway: no gateway at all. The playlist carries the swarm metadata (generate
# --tracker), opentracker (in a namespace of its own) is the tracker, and listeners run with
# --no-gateway: what no peer has comes from the origin (the origin share, docs/ARCHITECTURE.md).
# --web-seed adds WebTorrent's way for comparison: each .torrent names the origin as a web
# seed (url-list, generate --web-seed), which libtorrent then reads from at every listener.
# The gateway always has 2 Mbit/s up and no added delay. Delay and loss come from
# alluvium-bench-delayline (netfilter queues; this kernel has no netem); the RTT and loss it
# gives are measured with ping before the run, which stops if a listener's mean RTT is more
# than 10 % (or 5 ms, whichever is larger) off what was drawn for it.
#
# Prints the figures (origin bytes / item size, gateway upload / item size per item; join
# times, stalls, bytes from peers for listeners behind NAT, waste, memory and CPU per
# listener; stalls and sources by kind of listener) and writes them with SVG plots to
# <build>/bench-results/audience-<label>.*
# (listener_log=debug and gateway_log=debug in the environment set the log levels,
# gateway_flags adds flags to every gateway's command line; --keep keeps the logs).
# Addresses are in 198.18.0.0/15 (RFC 2544's benchmarking range, which
# libtorrent, like the Internet, does not treat as a local network; --lan puts them in
# 10.76.0.0/15, a local network to libtorrent, as the bench did before 2026-12-04) and
# 192.168.1.0/24 behind each NAT router; traffic goes only to addresses this script
# creates. Every namespace and process it made is removed on exit, even after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

listeners=50
seconds=240
discovery=tracker
gateways=1
build=build/dev
keep=""
label=""
rtt=none
jitter=0
loss=0
nat=0
uplinks=flat
churn=none
seed=1
web_seed=""
net=198.18
while [ $# -gt 0 ]; do
    case "$1" in
        --listeners) listeners=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --discovery) discovery=$2; shift 2 ;;
        --gateways) gateways=$2; shift 2 ;;
        --no-gateway) gateways=0; shift ;;
        --web-seed) web_seed=1; shift ;;
        --build) build=$2; shift 2 ;;
        --label) label=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --realistic) rtt=20-200; jitter=0.1; loss=0.01; nat=70; uplinks=mixed; churn=300; shift ;;
        --rtt) rtt=$2; shift 2 ;;
        --jitter) jitter=$2; shift 2 ;;
        --loss) loss=$2; shift 2 ;;
        --nat) nat=$2; shift 2 ;;
        --uplinks) uplinks=$2; shift 2 ;;
        --churn) churn=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --lan) net=10.76; shift ;;
        *) echo "audience: unknown option $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "audience: network namespaces need root" >&2; exit 1; }
case "$discovery" in tracker | opentracker-dht) ;; *) echo "audience: --discovery tracker|opentracker-dht" >&2; exit 2 ;; esac
case "$gateways" in 0 | 1 | 2) ;; *) echo "audience: --gateways 1|2 (or --no-gateway)" >&2; exit 2 ;; esac
[ -z "$web_seed" ] || [ "$gateways" = 0 ] || { echo "audience: --web-seed goes with --no-gateway" >&2; exit 2; }
case "$uplinks" in flat | mixed) ;; *) echo "audience: --uplinks flat|mixed" >&2; exit 2 ;; esac
[[ "$rtt" == none || "$rtt" =~ ^[0-9]+-[0-9]+$ ]] || { echo "audience: --rtt MIN-MAX (ms) or none" >&2; exit 2; }
[[ "$churn" == none || "$churn" =~ ^[0-9]+$ ]] || { echo "audience: --churn MEAN_SECONDS or none" >&2; exit 2; }
[[ "$nat" =~ ^[0-9]+$ ]] && [ "$nat" -le 100 ] || { echo "audience: --nat PERCENT" >&2; exit 2; }
bin=$(realpath "$build")
for b in server/gateway/alluvium-gateway server/broadcaster/alluvium-broadcaster player/tune/alluvium-tune; do
    [ -x "$bin/$b" ] || { echo "audience: build first ($bin/$b is missing)" >&2; exit 1; }
done
delayed=""
if [ "$rtt" != none ] || [ "$loss" != 0 ]; then
    delayed=1
    [ -x "$bin/bench/alluvium-bench-delayline" ] ||
        { echo "audience: delay or loss needs $bin/bench/alluvium-bench-delayline (libnetfilter-queue-dev)" >&2; exit 1; }
    command -v iptables >/dev/null || { echo "audience: delay or loss needs iptables" >&2; exit 1; }
fi
[ "$nat" = 0 ] || command -v nft >/dev/null || { echo "audience: --nat needs nftables" >&2; exit 1; }
[ -n "$label" ] || label="$([ "$gateways" = 0 ] && echo "no-gateway${web_seed:+-web-seed}" || echo "$discovery-${gateways}gw")$([ "$rtt$loss$nat$uplinks$churn" = "none00flatnone" ] || echo "-custom")"
[ -z "$delayed" ] || command -v ping >/dev/null || { echo "audience: needs ping (iputils-ping)" >&2; exit 1; }

prefix=alvb
work=$(mktemp -d -t alluvium-audience.XXXX)
chmod 755 "$work"
pids=()
delayline_pid=""
# Every namespace this script makes is named $prefix-*: removing them removes their links.
remove_namespaces() {
    for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do ip netns del "$ns"; done
}
cleanup() {
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -z "$delayline_pid" ] || exec 5>&-  # end of input: the delay line lets everything go
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
# Every listener talks to many others: the kernel's neighbour table (1024 entries by default,
# for all namespaces together) overflows at about 40 listeners ("neighbor table overflow",
# and new listeners cannot reach anyone). Raised for the run, restored after.
neigh=/proc/sys/net/ipv4/neigh/default
saved_gc=("$(cat $neigh/gc_thresh1)" "$(cat $neigh/gc_thresh2)" "$(cat $neigh/gc_thresh3)")
restore_gc() {
    echo "${saved_gc[0]}" >$neigh/gc_thresh1
    echo "${saved_gc[1]}" >$neigh/gc_thresh2
    echo "${saved_gc[2]}" >$neigh/gc_thresh3
}
echo 16384 >$neigh/gc_thresh1
echo 65536 >$neigh/gc_thresh2
echo 131072 >$neigh/gc_thresh3

# The audience's plan, drawn from --seed: who arrives when, stays how long, behind NAT or
# not, with which uplink and round trip. One line per listener:
#   id arrive_s leave_s nat up_kbit rtt_ms
python3 - "$listeners" "$seconds" "$churn" "$nat" "$uplinks" "$rtt" "$seed" >"$work/plan" <<'PY'
import random, sys
n, seconds, churn, nat, uplinks, rtt, seed = sys.argv[1:]
n, seconds, nat = int(n), float(seconds), int(nat)
rng = random.Random(int(seed))
def draw():
    up = 1000
    if uplinks == "mixed":
        r = rng.random()
        up = 500 if r < 0.25 else 1000 if r < 0.75 else 4000 if r < 0.95 else 20000
    lo_hi = None if rtt == "none" else [float(x) for x in rtt.split("-")]
    ms = 0 if lo_hi is None else rng.uniform(*lo_hi)
    return int(rng.random() * 100 < nat), up, round(ms, 1)
people = []
if churn == "none":
    people = [(0.0, seconds + 1) for _ in range(n)]
else:
    stay = float(churn)
    people = [(0.0, rng.expovariate(1 / stay)) for _ in range(n // 2)]
    t = 0.0
    while True:  # arrivals at the rate that holds n on average (Little's law)
        t += rng.expovariate(n / stay)
        if t >= seconds:
            break
        people.append((t, t + rng.expovariate(1 / stay)))
for i, (a, b) in enumerate(people, 1):
    nat_flag, up, ms = draw()
    print(i, f"{a:.2f}", f"{min(b, seconds + 1):.2f}", nat_flag, up, ms)
PY

# The hub: a bridge in a namespace of its own (the host's network is not touched).
ip netns add "$prefix-hub"
ip -n "$prefix-hub" link add br0 type bridge
ip -n "$prefix-hub" link set br0 up
ip -n "$prefix-hub" link set lo up

address() { echo "$net.$(($1 / 250)).$(($1 % 250 + 2))"; }
# tbf for `rate` kbit/s on `dev` in namespace `ns` (none: no cap); 500 ms of queue.
shape() {
    local ns=$1 dev=$2 rate=$3
    [ "$rate" = none ] && return
    local burst=$((rate / 8 / 50 > 32 ? rate / 8 / 50 : 32))  # 20 ms of traffic, 32 kB at least
    tc -n "$ns" qdisc add dev "$dev" root tbf rate "${rate}kbit" burst "${burst}kb" latency 500ms
}

# node NAME INDEX UP DOWN (kbit/s or none): a namespace with its address on a veth to the bridge.
node() {
    local name=$1 index=$2 up=$3 down=$4
    local ns="$prefix-$name" addr
    addr=$(address "$index")
    ip netns add "$ns"
    ip link add "h$index" netns "$prefix-hub" type veth peer name eth0 netns "$ns"
    ip -n "$prefix-hub" link set "h$index" master br0 up
    ip -n "$ns" addr add "$addr/15" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    shape "$ns" eth0 "$up"               # what leaves the node
    shape "$prefix-hub" "h$index" "$down" # what the bridge sends it
    echo "$addr"
}

# A listener's network, for plan line `id arrive leave nat up rtt`: its namespace l<id>
# (with a NAT router r<id> in front when nat is 1), its links, and its delay and loss.
listener_net() {
    local id=$1 natted=$2 up=$3 ms=$4
    local index=$((20 + id)) ns="$prefix-l$id"
    if [ "$natted" = 1 ]; then
        local router="$prefix-r$id" wan
        wan=$(address "$index")
        ip netns add "$router"
        ip link add "h$index" netns "$prefix-hub" type veth peer name wan0 netns "$router"
        ip -n "$prefix-hub" link set "h$index" master br0 up
        ip -n "$router" addr add "$wan/15" dev wan0
        ip -n "$router" link set wan0 up
        ip -n "$router" link set lo up
        ip netns add "$ns"
        ip link add lan0 netns "$router" type veth peer name eth0 netns "$ns"
        ip -n "$router" addr add 192.168.1.1/24 dev lan0
        ip -n "$router" link set lan0 up
        ip -n "$ns" addr add 192.168.1.2/24 dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" route add default via 192.168.1.1
        ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
        # A home router without port forwarding or UPnP: out is masqueraded, in is what
        # answers a connection from inside; anything else is dropped without a reply.
        ip netns exec "$router" nft -f - <<'NFT'
table ip nat {
    chain post {
        type nat hook postrouting priority 100;
        oifname "wan0" masquerade
    }
}
table inet filter {
    chain input {
        type filter hook input priority 0;
        iifname "wan0" ct state new drop
    }
    chain forward {
        type filter hook forward priority 0;
        iifname "wan0" ct state new drop
    }
}
NFT
        shape "$ns" eth0 "$up"
        shape "$router" lan0 $((up * 10))
        echo "$wan" >"$work/l$id.wan"
    else
        node "l$id" "$index" "$up" $((up * 10)) >"$work/l$id.wan"
    fi
    if [ -n "$delayed" ]; then
        ip netns exec "$ns" iptables -A OUTPUT -o eth0 -j NFQUEUE --queue-num 0 --queue-bypass
        ip netns exec "$ns" iptables -A INPUT -i eth0 -j NFQUEUE --queue-num 1 --queue-bypass
        echo "add $ns $ms $jitter $loss" >&5
        local reply=""
        read -r -t 10 -u 6 reply || true
        [ "$reply" = "ready $ns" ] || { echo "audience: delay line: ${reply:-no answer} for $ns" >&2; exit 1; }
    fi
}

describe="links: listeners $([ "$uplinks" = mixed ] && echo "25 % 0.5, 50 % 1, 20 % 4, 5 % 20 Mbit/s up" || echo "1 Mbit/s up"), downlinks 10x; gateways 2 Mbit/s up, 10 down (tc tbf)"
describe+="; RTT $([ "$rtt" = none ] && echo "none added" || echo "$rtt ms per listener, jitter +-$(awk -v j="$jitter" 'BEGIN{print j*100}') %"); loss $(awk -v l="$loss" 'BEGIN{print l*100}') % per direction"
describe+="; behind NAT $nat %; churn $([ "$churn" = none ] && echo "none (all tune in at once)" || echo "half at once, then Poisson arrivals, mean stay $churn s")"
echo "audience: $listeners listeners, ${seconds}s, discovery $discovery, $gateways gateway(s)" >&2
echo "audience: $describe" >&2

if [ -n "$delayed" ]; then
    mkfifo "$work/delay.in" "$work/delay.out"
    "$bin/bench/alluvium-bench-delayline" <"$work/delay.in" >"$work/delay.out" 2>"$work/delay.log" &
    delayline_pid=$!
    pids+=("$delayline_pid")
    exec 5>"$work/delay.in" 6<"$work/delay.out"
fi

origin_ip=$(node origin 1 none none)
gw_ips=()
for g in $(seq "$gateways"); do gw_ips+=("$(node "gw$g" $((1 + g)) 2000 10000)"); done
tracker_ip=""
if [ "$discovery" = opentracker-dht ] || [ "$gateways" = 0 ]; then
    tracker_ip=$(node tracker 9 none none)
fi
# Without a gateway the playlist names the tracker in each item's .torrent.
generate_args=()
[ "$gateways" != 0 ] || generate_args=(--tracker "http://$tracker_ip:6969/announce")
[ -z "$web_seed" ] || generate_args+=(--web-seed)

# The station: three 60 s items at 128 kbit/s, looping, published by nginx.
www="$work/www"
mkdir -p "$www" "$work/run"
chmod 755 "$www"
for hz in 330 550 770; do
    ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=$hz:duration=60" -ac 2 -c:a libmp3lame -b:a 128k \
        -metadata title="Tone $hz" "$www/tone$hz.mp3"
done
"$bin/server/broadcaster/alluvium-broadcaster" generate -q --loop --title "Audience" \
    "${generate_args[@]}" --base-url "http://$origin_ip:8080/" -o "$www/station.rss" "$www"
cat >"$work/run/nginx.conf" <<CONF
pid $work/run/nginx.pid;
error_log $work/run/nginx-error.log;
user root;
events {}
http {
    include /etc/nginx/mime.types;
    # The figures read the first three fields and the time; the rest tell who (--keep).
    log_format bytes '\$request_uri \$status \$body_bytes_sent \$msec \$remote_addr \$http_range';
    access_log $work/run/access.log bytes;
    client_body_temp_path $work/run;
    server { listen $origin_ip:8080; root $www; }
}
CONF
ip netns exec "$prefix-origin" nginx -p "$work/run" -c "$work/run/nginx.conf" -g 'daemon off;' &
pids+=($!)

gw_args=()
if [ -n "$tracker_ip" ]; then
    mkdir -p "$work/tracker"
    chmod 755 "$work/tracker"
    # Without a gateway nobody registers the items: the playlist's info-hashes are the list.
    [ "$gateways" != 0 ] || grep -o '<torrent:infoHash>[0-9a-f]*' "$www/station.rss" |
        cut -d'>' -f2 >"$work/tracker/whitelist"
fi
if [ "$discovery" = opentracker-dht ]; then
    gw_args=(--no-builtin-tracker --tracker "http://$tracker_ip:6969/announce"
        --tracker-whitelist "$work/tracker/whitelist" --dht --dht-bootstrap none)
fi
# More gateway flags from the environment, for comparisons (e.g. gateway_flags=--no-nat-check).
read -r -a more_gw_args <<<"${gateway_flags:-}"
gw_args+=("${more_gw_args[@]}")
# The seed's upload stays at 72 % of the 2 Mbit/s uplink (250,000 B/s), as an operator would
# set it: answers, announces and headers took a quarter of what the gateway sent, and with
# 220000 they queued behind seed traffic (gw_upload_limit in the environment overrides).
gw_upload_limit=${gw_upload_limit:-180000}
# Listeners upload without a cap unless listener_upload_limit (bytes/s, alluvium-tune
# --upload-limit) is in the environment.
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
if [ -n "$tracker_ip" ]; then
    ip netns exec "$prefix-tracker" opentracker -i "$tracker_ip" -p 6969 -P 6969 -d "$work/tracker" \
        -w whitelist >"$work/tracker.log" 2>&1 &
    pids+=($!)
fi

# The listeners that tune in at the start get their networks now, before the clock starts.
initial=()
while read -r id arrive leave natted up ms; do
    [ "$arrive" = 0.00 ] || continue
    listener_net "$id" "$natted" "$up" "$ms"
    initial+=("$id")
done <"$work/plan"

# What the links give, measured before the run: each starting listener pings the origin
# (ping -U: from sending to reading, so the delay of both directions counts). The origin's
# link adds nothing and is not shaped; the gateway's 2 Mbit/s uplink is, and 100 listeners
# pinging it 50 times a second filled it with replies (RTT +75 ms, 30 % lost). 20 a
# second from each listener is 4,000 packets a second through the delay line at 200.
if [ -n "$delayed" ]; then
    pings=()
    for id in "${initial[@]}"; do
        ip netns exec "$prefix-l$id" ping -U -n -q -c 60 -i 0.05 -W 3 "$origin_ip" >"$work/l$id.ping" 2>&1 &
        pings+=($!)
    done
    for p in "${pings[@]}"; do wait "$p" || true; done
    python3 - "$work" "$rtt" "$loss" "${initial[@]}" >"$work/links.txt" <<'PY' || { cat "$work/links.txt" >&2; exit 1; }
import re, sys
work, rtt, loss, ids = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
plan = {l.split()[0]: l.split() for l in open(f"{work}/plan")}
sent = got = 0
worst, bad, rows = (0, None), [], []
for i in ids:
    text = open(f"{work}/l{i}.ping").read()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    a = re.search(r"= [\d.]+/([\d.]+)/", text)
    if not m or not a:
        bad.append(f"listener {i}: no ping answer"); continue
    sent += int(m[1]); got += int(m[2])
    want, have = float(plan[i][5]), float(a[1])
    off = abs(have - want)
    rows.append((want, have))
    if off > max(0.1 * want, 5.0):
        bad.append(f"listener {i}: RTT {have:.1f} ms, drawn {want:.1f} ms")
    if off > worst[0]:
        worst = (off, i)
print(f"links measured before the run ({len(rows)} listeners, ping to the origin):")
if rows:
    import statistics
    print(f"  RTT drawn {min(r[0] for r in rows):.1f}-{max(r[0] for r in rows):.1f} ms, mean {statistics.mean(r[0] for r in rows):.1f}; "
          f"measured mean {statistics.mean(r[1] for r in rows):.1f}; largest difference {worst[0]:.1f} ms (listener {worst[1]})")
expected = 1 - (1 - loss) ** 2
print(f"  loss: {100 * (sent - got) / max(sent, 1):.2f} % of {sent} pings (both directions; {100 * expected:.2f} % expected)")
for b in bad:
    print("  OUT OF BOUNDS: " + b)
sys.exit(1 if bad else 0)
PY
    cat "$work/links.txt" >&2
fi

# A reader per listener, in the listener's namespace: time to the first byte of /stream, the
# longest gap between reads, and the listener's /status every 5 s (and when told to stop).
cat >"$work/reader.py" <<'PY'
# Light imports only before the first byte: this starts beside the listener on a loaded
# machine, and urllib's imports (ssl, email, http.client) took long enough to be counted
# as join time. urllib is imported for the first status sample.
import json, signal, socket, sys, time
ready, out = sys.argv[1], sys.argv[2]
with open(ready, "w") as f:  # running: the bench starts the listener now
    f.write("go\n")
start = None
stopping = False
def stop(*_):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, stop)
samples = open(out + "l", "a")
def sample():
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:8000/status", timeout=2) as r:
            j = json.load(r)
        samples.write(json.dumps({"t": time.time(), "status": j}) + "\n"); samples.flush()
    except Exception:
        pass
first, gap, total, s, last, buf = None, 0.0, 0, None, None, b""
while s is None and not stopping:  # the listener may not be up yet
    try:
        s = socket.create_connection(("127.0.0.1", 8000), timeout=1)
        s.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        s.settimeout(0.5)
    except OSError:
        s = None
        time.sleep(0.05)
next_sample = time.time() + 5
while s is not None and not stopping:
    if time.time() >= next_sample:
        sample(); next_sample += 5
    try:
        d = s.recv(65536)
    except (socket.timeout, InterruptedError):
        continue
    except OSError:
        break
    if not d:
        break
    now = time.time()
    if first is None:
        buf += d
        if b"\r\n\r\n" not in buf or buf.endswith(b"\r\n\r\n"):
            continue
        if start is None:
            with open(out.replace(".json", ".start")) as f:
                start = float(f.read())
        first = now - start
    elif last is not None:
        gap = max(gap, now - last)
    last = now
    total += len(d)
sample()
json.dump({"join_s": first, "longest_gap_s": gap, "bytes": total}, open(out, "w"))
PY

declare -A tune_pid reader_pid ready
# A listener's reader first (it connects to /stream as soon as the listener's port is open),
# then, once the reader has said it is running, the listener: its join time counts from the
# listener's start, and a reader slow to start on a loaded machine is not counted in it.
start_reader() {
    local id=$1
    mkfifo "$work/l$id.ready"
    exec {ready_fd}<>"$work/l$id.ready"
    ready[$id]=$ready_fd
    ip netns exec "$prefix-l$id" python3 "$work/reader.py" "$work/l$id.ready" "$work/l$id.json" &
    reader_pid[$id]=$!
    pids+=($!)
}
start_tune() {
    local id=$1 now
    read -r -t 10 -u "${ready[$id]}" _ || { echo "audience: reader $id did not start" >&2; exit 1; }
    local fd=${ready[$id]}
    exec {fd}>&-
    now=$(date +%s.%N)
    local gw_flags=(--no-gateway)
    [ "$gateways" = 0 ] || gw_flags=()
    for u in "${gateway_urls[@]}"; do gw_flags+=(--gateway "$u"); done
    # Several gateways: each listener asks them in its own order (one per listener first).
    if [ "$gateways" -gt 1 ] && [ $((id % 2)) -eq 0 ]; then
        gw_flags=(--gateway "${gateway_urls[1]}" --gateway "${gateway_urls[0]}")
    fi
    echo "$now" >"$work/l$id.start"
    local bind="0.0.0.0:6881"
    ip netns exec "$prefix-l$id" "$bin/player/tune/alluvium-tune" "http://$origin_ip:8080/station.rss" \
        "${gw_flags[@]}" --port 8000 --bt-listen "$bind" --cache-dir "$work/l$id" \
        --upload-limit "$listener_upload_limit" --dht-bootstrap none \
        --log-level "${listener_log:-warn}" >"$work/l$id.log" 2>&1 &
    tune_pid[$id]=$!
    pids+=($!)
    echo "$id $now" >>"$work/starts"
}
start_listener() {
    start_reader "$1"
    start_tune "$1"
}
# What the kernel counted for a listener's process: CPU ticks and peak RSS.
measure_listener() {
    local id=$1 t=${tune_pid[$1]}
    if [ -r "/proc/$t/stat" ]; then
        local ticks hwm
        ticks=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$t/stat")
        hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$t/status")
        echo "$id $(date +%s.%N) $ticks $hwm" >>"$work/ends"
    fi
}
# Readers first (their last /status sample), then the listeners, measured before they go.
stop_listeners() {
    local id
    for id in "$@"; do kill -TERM "${reader_pid[$id]}" 2>/dev/null || true; done
    for id in "$@"; do
        for _ in $(seq 50); do kill -0 "${reader_pid[$id]}" 2>/dev/null || break; sleep 0.1; done
    done
    for id in "$@"; do
        measure_listener "$id"
        kill -TERM "${tune_pid[$id]}" 2>/dev/null || true
    done
}
remove_listener_net() {
    local id=$1
    [ -z "$delayed" ] || { echo "del $prefix-l$id" >&5; read -r -t 10 -u 6 _ || true; }
    ip netns del "$prefix-l$id" 2>/dev/null || true
    ip netns del "$prefix-r$id" 2>/dev/null || true
    ip -n "$prefix-hub" link del "h$((20 + id))" 2>/dev/null || true
}

# The gateway's figures over the run, every 5 s: /v1/status and what left its uplink.
(
    while true; do
        for g in $(seq "$gateways"); do
            st=$(ip netns exec "$prefix-gw$g" curl -s -m 2 "${gateway_urls[$((g - 1))]}/v1/status" || echo null)
            tx=$(ip netns exec "$prefix-gw$g" cat /sys/class/net/eth0/statistics/tx_bytes)
            echo "{\"t\": $(date +%s.%N), \"gateway\": $g, \"tx\": $tx, \"status\": ${st:-null}}"
        done
        sleep 5
    done
) >"$work/gateway-samples.jsonl" &
pids+=($!)

# Now is the start of the first item: the starting listeners tune in at once.
"$bin/server/broadcaster/alluvium-broadcaster" generate -q --loop --title "Audience" \
    "${generate_args[@]}" --base-url "http://$origin_ip:8080/" --start now -o "$www/station.rss" "$www"
t0=$(date +%s.%N)
echo "$t0" >"$work/t0"
for id in "${initial[@]}"; do start_reader "$id"; done
for id in "${initial[@]}"; do start_tune "$id"; done
echo "audience: ${#initial[@]} listeners tuned in; playing for ${seconds}s" >&2

# Then the plan's arrivals and departures, in time order.
{
    while read -r id arrive leave natted up ms; do
        if [ "$arrive" != 0.00 ]; then echo "$arrive start $id $natted $up $ms"; fi
        if awk -v l="$leave" -v s="$seconds" 'BEGIN { exit !(l < s) }'; then echo "$leave stop $id"; fi
    done <"$work/plan"
} | sort -g >"$work/events"
while read -r at what id natted up ms; do
    wait_s=$(awk -v a="$at" -v t0="$t0" -v now="$(date +%s.%N)" 'BEGIN { w = t0 + a - now; print (w > 0 ? w : 0) }')
    sleep "$wait_s"
    if [ "$what" = start ]; then
        listener_net "$id" "$natted" "$up" "$ms"
        start_listener "$id"
    else
        stop_listeners "$id"
        remove_listener_net "$id"
    fi
done <"$work/events"
sleep "$(awk -v t0="$t0" -v s="$seconds" -v now="$(date +%s.%N)" 'BEGIN { w = t0 + s - now; print (w > 0 ? w : 0) }')"
load=$(cut -d' ' -f1-3 /proc/loadavg)
remaining=()
for id in "${!tune_pid[@]}"; do
    if kill -0 "${tune_pid[$id]}" 2>/dev/null && ! grep -q "^$id " "$work/ends" 2>/dev/null; then
        remaining+=("$id")
    fi
done
stop_listeners "${remaining[@]}"
echo "$load" >"$work/load"
[ -z "$delayed" ] || { echo stats >&5; while read -r -t 5 -u 6 line && [ "$line" != . ]; do echo "$line"; done >"$work/delay-stats"; }

out="$bin/bench-results/audience-$label"
mkdir -p "$bin/bench-results"
{
    echo "audience: $listeners listeners (one alluvium-tune process each, a namespace each), ${seconds}s"
    echo "$describe"
    echo "station: 3 x 60 s MP3 at 128 kbit/s, looping; discovery: $([ "$gateways" = 0 ] && echo "opentracker, named in the playlist's .torrent files${web_seed:+, the origin as their web seed}" || echo "$discovery"); gateways: $gateways"
    [ -z "$delayed" ] || cat "$work/links.txt"
    echo
    python3 bench/audience_figures.py "$work" "$out" "$(nproc)"
} | tee "$out.txt"
echo "audience: figures written to $out.txt (plots: $out-*.svg)" >&2
