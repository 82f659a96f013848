#!/usr/bin/env bash
# Makes and publishes a sample station with the built tools (see scripts/demo.sh).
# Options come from the environment: PORT (8080), DIR (./station), PLAYER (0: do not open
# the desktop player even when a display is there), GATEWAY (0: no gateway at all: the
# station is published with `python3 -m http.server`, listeners join from the swarm
# metadata in the playlist and find each other through opentracker on 127.0.0.1:6969).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/dev/server/broadcaster
port=${PORT:-8080}
dir=$(realpath -m "${DIR:-station}")
base="http://127.0.0.1:$port"
mkdir -p "$dir/www" "$dir/run"

# Six short programmes: tones and chords, each titled, made once.
titles=("Morning Tone" "Fifth Above" "Low Drone" "Bright Chord" "Slow Beat" "Station Ident")
exprs=("sin(2*PI*440*t)" "0.5*sin(2*PI*440*t)+0.5*sin(2*PI*660*t)" "sin(2*PI*110*t)"
       "0.33*(sin(2*PI*523*t)+sin(2*PI*659*t)+sin(2*PI*784*t))"
       "sin(2*PI*330*t)*(0.5+0.5*sin(2*PI*2*t))" "sin(2*PI*880*t)*lt(mod(t\\,1)\\,0.2)")
lengths=(40 35 45 30 50 15)
for i in "${!titles[@]}"; do
    f="$dir/www/$(printf '%02d' $((i + 1)))-$(echo "${titles[$i]}" | tr 'A-Z ' 'a-z-').mp3"
    [ -s "$f" ] && continue
    echo "station: making $(basename "$f")"
    ffmpeg -nostdin -v error -y -f lavfi -i "aevalsrc=${exprs[$i]}:s=44100:d=${lengths[$i]}" \
        -ac 2 -c:a libmp3lame -b:a 128k -metadata title="${titles[$i]}" \
        -metadata artist="Alluvium Demo" "$f"
done

# A looping station anchored now: every listener computes the same programme. Each file is
# hashed: a .torrent beside it, its info-hash in the playlist.
with_gateway=${GATEWAY:-1}
tracker_port=${TRACKER_PORT:-6969}
tracker_args=()
[ "$with_gateway" = 0 ] && tracker_args=(--tracker "http://127.0.0.1:$tracker_port/announce")
"$bin/alluvium-broadcaster" generate --loop --title "Alluvium Demo Radio" \
    --description "Tones and chords, looping" --base-url "$base/" "${tracker_args[@]}" \
    -o "$dir/www/station.rss" "$dir/www"
"$bin/alluvium-broadcaster" validate "$dir/www/station.rss"

gateway_pid=""
tracker_pid=""
tune_pids=()
cleanup() {
    for p in "${tune_pids[@]}"; do kill "$p" 2>/dev/null; done
    wait "${tune_pids[@]}" 2>/dev/null
    [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null
    [ -n "$tracker_pid" ] && kill "$tracker_pid" 2>/dev/null && wait "$tracker_pid" 2>/dev/null
    kill $web 2>/dev/null; wait $web 2>/dev/null || true
}
trap cleanup EXIT
serve_static() {
    # Nothing but a static web server (Python's, which does not even answer Range requests)
    # and a BitTorrent tracker, as a broadcaster on shared hosting would have.
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir/www" \
        >"$dir/run/http-server.log" 2>&1 &
    web=$!
    mkdir -p "$dir/run/tracker"
    grep -o '<torrent:infoHash>[0-9a-f]*' "$dir/www/station.rss" | cut -d'>' -f2 \
        >"$dir/run/tracker/whitelist"
    # opentracker chroots into -d when run as root; the whitelist is named inside it.
    whitelist="$dir/run/tracker/whitelist"; [ "$(id -u)" -eq 0 ] && whitelist=whitelist
    opentracker -i 127.0.0.1 -p "$tracker_port" -P "$tracker_port" -d "$dir/run/tracker" \
        -w "$whitelist" >"$dir/run/tracker.log" 2>&1 &
    tracker_pid=$!
}
serve_nginx() {
    # Publish it on nginx with the configuration `webconfig` prints.
    "$bin/alluvium-broadcaster" webconfig --server nginx > "$dir/run/alluvium.conf"
    user=""; [ "$(id -u)" -eq 0 ] && user="user root;"
    cat > "$dir/run/nginx.conf" <<CONF
pid $dir/run/nginx.pid;
error_log $dir/run/nginx-error.log;
$user
events {}
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path $dir/run;
    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        include $dir/run/alluvium.conf;
    }
}
CONF
    nginx -p "$dir/run" -c "$dir/run/nginx.conf" -g 'daemon off;' &
    web=$!
}
if [ "$with_gateway" = 0 ]; then serve_static; else serve_nginx; fi
for _ in $(seq 50); do "$bin/alluvium-broadcaster" check "$base/station.rss" >/dev/null 2>&1 && break; sleep 0.1; done
if [ "$with_gateway" = 0 ]; then
    # Python's server cannot be told that .rss is application/x-alluvium: `check` says so,
    # and listeners play the station all the same.
    "$bin/alluvium-broadcaster" check "$base/station.rss" || true
else
    "$bin/alluvium-broadcaster" check "$base/station.rss"
fi
echo
"$bin/alluvium-broadcaster" now "$base/station.rss" --next 5
echo

# The gateway: told about the playlist, it fetches each item once, hashes it, tracks and
# seeds it. `prime` does that ahead of the schedule.
gateway_args=(--no-gateway)
if [ "$with_gateway" != 0 ]; then
    gw_port=${GATEWAY_PORT:-8767}
    gateway="http://127.0.0.1:$gw_port"
    gateway_args=(--gateway "$gateway")
    build/dev/server/gateway/alluvium-gateway --listen "127.0.0.1:$gw_port" \
        --bt-listen "127.0.0.1:${BT_PORT:-6881}" --data-dir "$dir/gateway" \
        --playlist "$base/station.rss" 2>"$dir/run/gateway.log" &
    gateway_pid=$!
    for _ in $(seq 100); do curl -sf "$gateway/v1/status" >/dev/null 2>&1 && break; sleep 0.1; done
    build/dev/server/gateway/alluvium-gateway prime "$base/station.rss" --gateway "$gateway"
    echo
    build/dev/server/gateway/alluvium-gateway status --gateway "$gateway"
    echo
fi

# Three listeners: each tunes to the station, swarms the items (from the gateway's seed and
# from each other) and serves its own local Icecast-compatible stream.
mkdir -p "$dir/listeners"
for n in 0 1 2; do
    build/dev/player/tune/alluvium-tune "$base/station.rss" "${gateway_args[@]}" \
        --port $((${STREAM_PORT:-8000} + n)) --bt-listen 127.0.0.1:0 --dht-bootstrap none \
        --cache-dir "$dir/listeners/$n" >"$dir/listeners/$n.log" 2>&1 &
    tune_pids+=($!)
done
# With a display, the desktop player tunes in as a fourth listener (PLAYER=0: not).
if [ "${PLAYER:-1}" != 0 ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/dev/player/desktop/alluvium-player ]; then
    build/dev/player/desktop/alluvium-player "$base/station.rss" "${gateway_args[@]}" \
        --bt-listen 127.0.0.1:0 --dht-bootstrap none --cache-dir "$dir/listeners/player" \
        >"$dir/listeners/player.log" 2>&1 &
    tune_pids+=($!)
    echo "The desktop player is open on the station (its log: $dir/listeners/player.log)."
fi
sleep 2
echo "The station plays. Listen with any player, for example:"
for n in 0 1 2; do echo "    mpv http://127.0.0.1:$((${STREAM_PORT:-8000} + n))/stream"; done
if [ "$with_gateway" != 0 ]; then
    echo "Playlist: $base/station.rss   gateway: $gateway/   (Ctrl-C stops everything)"
else
    echo "Playlist: $base/station.rss   no gateway; tracker: 127.0.0.1:$tracker_port   (Ctrl-C stops everything)"
fi
echo
# What plays and where the bytes come from, every 10 seconds.
while true; do
    sleep 10
    date +%T
    for n in 0 1 2; do
        line=$(grep -v '^stream:\|^now_playing\|^ *$' "$dir/listeners/$n.log" | grep '|' | tail -n 1 || true)
        kill -0 "${tune_pids[$n]}" 2>/dev/null || line="stopped; see $dir/listeners/$n.log"
        echo "  listener $n: ${line:-starting}"
    done
done
