#!/usr/bin/env python3
"""The simulated audience's figures (bench/audience.sh): text, a JSON summary and SVG plots.

    audience_figures.py WORK OUT_PREFIX CORES

WORK is the run's folder (its plan, the readers' samples, nginx's log, the gateway's
samples); OUT_PREFIX.json gets the summary and OUT_PREFIX-*.svg the plots (gnuplot). The text
goes to standard output.
"""
import glob
import json
import os
import statistics
import subprocess
import sys

BIN_S = 5.0


def read_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    except OSError:
        return []


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def samples_of(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def main():
    work, out, cores = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t0 = float(open(f"{work}/t0").read())
    plan = {r[0]: r for r in read_lines(f"{work}/plan")}
    starts = {r[0]: float(r[1]) for r in read_lines(f"{work}/starts")}
    ends = {r[0]: (float(r[1]), int(r[2]), int(r[3])) for r in read_lines(f"{work}/ends")}
    tick = os.sysconf("SC_CLK_TCK")
    sizes = {os.path.basename(f): os.path.getsize(f) for f in sorted(glob.glob(f"{work}/www/*.mp3"))}
    summary = {"items": {}}

    # Origin: nginx's log (uri status bytes msec addr range).
    origin = {name: 0 for name in sizes}
    origin_t = []
    for r in read_lines(f"{work}/run/access.log"):
        name = r[0].lstrip("/")
        if name in sizes and r[1] in ("200", "206"):
            origin[name] += int(r[2])
            origin_t.append((float(r[3]) - t0, name, int(r[2])))

    # The gateways: their last /v1/status per gateway, and the series.
    gw_samples = samples_of(f"{work}/gateway-samples.jsonl")
    last = {}
    for s in gw_samples:
        if s.get("status"):
            last[s["gateway"]] = s["status"]

    def gateway_bytes(status, name):
        up = rescued = 0
        for item in status.get("items", []):
            if item["url"].endswith("/" + name):
                up += item.get("uploaded", 0) + item.get("rescued", 0)
                rescued += item.get("rescued", 0)
        return up, rescued

    print("per item (over the whole run):")
    for name, size in sizes.items():
        up = rescued = 0
        for status in last.values():
            u, r = gateway_bytes(status, name)
            up += u
            rescued += r
        o = origin[name] / size
        g = up / size
        summary["items"][name] = {"size": size, "origin": o, "gateway": g, "gateway_http": rescued / size}
        print(f"  {name:<14} {size:8d} bytes  origin/size {o:.2f}  gateway upload/size {g:.2f} "
              f"(of which over HTTP {rescued / size:.2f})")
    print()

    # Listeners: join, stalls, bytes by source, waste, memory, CPU.
    joins, gaps, hwm, cpu = [], [], [], []
    hours = 0.0
    stalls = 0
    total = {"peers": 0, "gateway": 0, "origin": 0, "redundant": 0}
    natted = {"peers": 0, "gateway": 0, "origin": 0}
    started = 0
    per_item_peers = {name: [] for name in sizes}  # (t, bytes) deltas
    lives = []  # (id, start, listener-hours, status samples): the breakdown by kind
    for lid, start in starts.items():
        started += 1
        try:
            r = json.load(open(f"{work}/l{lid}.json"))
        except (OSError, ValueError):
            r = {"join_s": None, "longest_gap_s": None}
        if r.get("join_s") is not None:
            joins.append(r["join_s"])
        if r.get("longest_gap_s") is not None:
            gaps.append(r["longest_gap_s"])
        end = ends.get(lid)
        stop = end[0] if end else start
        hours += max(0.0, stop - start) / 3600
        if end:
            hwm.append(end[2] / 1024)
            if stop - start > 10:
                cpu.append(100.0 * end[1] / tick / (stop - start))
        samples = [s for s in samples_of(f"{work}/l{lid}.jsonl") if "status" in s]
        lives.append((lid, start, max(0.0, stop - start) / 3600, samples))
        if samples:
            st = samples[-1]["status"]
            b = st.get("bytes", {})
            stalls += st.get("stalls", 0)
            for k in total:
                total[k] += b.get(k, 0)
            if plan.get(lid, ["", "", "", "0"])[3] == "1":
                for k in natted:
                    natted[k] += b.get(k, 0)
        before = {}
        for s in samples:
            for item in s["status"].get("items", []):
                name = item["url"].rsplit("/", 1)[-1]
                if name in per_item_peers:
                    delta = item.get("peers", 0) - before.get(name, 0)
                    before[name] = item.get("peers", 0)
                    if delta > 0:
                        per_item_peers[name].append((s["t"] - t0, delta))

    summary["by_kind"] = stall_breakdown(plan, lives)
    playing = len(joins)
    print(f"listeners: {started} tuned in over the run, {playing} played "
          f"({hours:.1f} listener-hours)")
    summary["listeners"] = started
    summary["playing"] = playing
    if joins:
        med, p95 = statistics.median(joins), percentile(joins, 95)
        summary["join_median"], summary["join_p95"] = med, p95
        print(f"join (start to first byte of /stream): median {med:.2f} s, p95 {p95:.2f} s, "
              f"max {max(joins):.2f} s")
    if gaps:
        print(f"longest gap between reads: median {statistics.median(gaps):.2f} s, max {max(gaps):.2f} s")
    per10 = stalls / hours * 10 if hours > 0 else 0
    summary["stalls"], summary["stalls_per_10h"] = stalls, per10
    print(f"stalls (the stream fell behind the schedule): {stalls}, {per10:.2f} per 10 listener-hours")
    received = total["peers"] + total["gateway"] + total["origin"]
    if received:
        share = 100.0 * total["peers"] / received
        summary["peer_share"] = share
        print(f"bytes listeners received: from peers {total['peers']}, from gateways {total['gateway']}, "
              f"from the origin (rescue) {total['origin']}; {share:.1f} % from peers")
        waste = 100.0 * total["redundant"] / received
        summary["waste"] = waste
        print(f"received twice (libtorrent's redundant bytes): {total['redundant']}, {waste:.1f} % of received")
    nat_received = natted["peers"] + natted["gateway"] + natted["origin"]
    if nat_received:
        share = 100.0 * natted["peers"] / nat_received
        summary["nat_peer_share"] = share
        print(f"listeners behind NAT: {share:.1f} % of their bytes from peers "
              f"(gateway {natted['gateway']}, origin {natted['origin']})")
    if hwm:
        summary["rss_median"] = statistics.median(hwm)
        print(f"memory per listener (peak RSS): median {statistics.median(hwm):.0f} MiB, max {max(hwm):.0f} MiB")
    if cpu:
        summary["cpu_median"] = statistics.median(cpu)
        print(f"CPU per listener (% of one core over its life, from /proc): median "
              f"{statistics.median(cpu):.2f}, p90 {percentile(cpu, 90):.2f}, max {max(cpu):.2f}")
    try:
        load = open(f"{work}/load").read().strip()
        print(f"machine: {cores} cores, load average at the end {load}")
    except OSError:
        pass
    stats = read_lines(f"{work}/delay-stats")
    if stats:
        packets = sum(int(r[2].split("=")[1]) for r in stats)
        dropped = sum(int(r[3].split("=")[1]) for r in stats)
        overflows = sum(int(r[4].split("=")[1]) for r in stats)
        print(f"delay line (listeners still on at the end): {packets} packets, {dropped} dropped "
              f"({100.0 * dropped / max(packets, 1):.2f} %), {overflows} queue overflows")
    json.dump(summary, open(out + ".json", "w"), indent=1)
    plots(work, out, t0, sizes, origin_t, gw_samples, per_item_peers, joins, starts, ends)


def stall_breakdown(plan, lives):
    """Where the stalls fall: by NAT, uplink and arrival, and by time since the listener began.

    A stall is placed in the 5 s status sample whose count first shows it. Prints the table
    and returns it for the JSON summary."""
    by = {}  # (dimension, class) -> [stalls, listener-hours, peer, gateway, origin bytes]
    since = {"0-15 s": 0, "15-60 s": 0, "60 s on": 0}

    def add(dim, cls, stalls, hours, got):
        cell = by.setdefault((dim, cls), [0, 0.0, 0, 0, 0])
        cell[0] += stalls
        cell[1] += hours
        for i, k in enumerate(("peers", "gateway", "origin")):
            cell[2 + i] += got.get(k, 0)

    for lid, start, hours, samples in lives:
        row = plan.get(lid)
        if row is None:
            continue
        before, got = 0, {}
        for s in samples:
            now = s["status"].get("stalls", 0)
            got = s["status"].get("bytes", got)
            if now > before:
                age = s["t"] - start
                since["0-15 s" if age < 15 else "15-60 s" if age < 60 else "60 s on"] += now - before
                before = now
        add("NAT", "behind NAT" if row[3] == "1" else "reachable", before, hours, got)
        add("uplink", f"{int(row[4]) / 1000:g} Mbit/s", before, hours, got)
        add("arrival", "at the start" if float(row[1]) == 0 else "later (churn)", before, hours, got)
    out = {}
    if not by:
        return out
    print("by kind of listener: stalls (per 10 listener-hours), bytes received by source:")
    for (dim, cls), (stalls, hours, peers, gw, org) in sorted(by.items()):
        rate = stalls / hours * 10 if hours > 0 else 0
        got = max(peers + gw + org, 1)
        out[f"{dim}: {cls}"] = {"hours": hours, "stalls": stalls, "stalls_per_10h": rate,
                                "peers": peers, "gateway": gw, "origin": org}
        print(f"  {dim:<8} {cls:<15} {hours:6.1f} h  {stalls:5d} stalls ({rate:7.2f})  "
              f"peers {100.0 * peers / got:5.1f} %  gateway {100.0 * gw / got:5.1f} %  "
              f"origin {100.0 * org / got:5.1f} %")
    total = sum(since.values())
    if total:
        print("stalls by the listener's age when they came: " +
              ", ".join(f"{k} {v} ({100.0 * v / total:.0f} %)" for k, v in since.items()))
    out["stalls_by_age"] = since
    return out


def plots(work, out, t0, sizes, origin_t, gw_samples, per_item_peers, joins, starts, ends):
    """SVGs with gnuplot: the join CDF, bytes by source per item over time, the gateway's uplink."""
    data = f"{work}/plot"
    os.makedirs(data, exist_ok=True)
    with open(f"{data}/join.dat", "w") as f:
        for i, j in enumerate(sorted(joins), 1):
            f.write(f"{j:.3f} {i / len(joins):.4f}\n")
    horizon = max([t for t, _, _ in origin_t] + [s["t"] - t0 for s in gw_samples] + [BIN_S])
    bins = int(horizon // BIN_S) + 1

    def binned(events):
        v = [0.0] * bins
        for t, n in events:
            if 0 <= t < bins * BIN_S:
                v[int(t // BIN_S)] += n
        return v

    gw_by_item = {name: [] for name in sizes}
    uplink = []
    prev = {}
    for s in gw_samples:
        t = s["t"] - t0
        key = s["gateway"]
        if s.get("status"):
            for item in s["status"].get("items", []):
                name = item["url"].rsplit("/", 1)[-1]
                if name in gw_by_item:
                    now = item.get("uploaded", 0) + item.get("rescued", 0)
                    k = (key, name)
                    if k in prev and now > prev[k]:
                        gw_by_item[name].append((t, now - prev[k]))
                    prev[k] = now
        if (key, "tx") in prev:
            dt = t - prev[(key, "t")]
            if dt > 0:
                uplink.append((t, (s["tx"] - prev[(key, "tx")]) / dt))
        prev[(key, "tx")], prev[(key, "t")] = s["tx"], t
    names = list(sizes)
    with open(f"{data}/bytes.dat", "w") as f:
        series = []
        for name in names:
            series.append(binned([(t, n) for t, nm, n in origin_t if nm == name]))
            series.append(binned(gw_by_item[name]))
            series.append(binned(per_item_peers[name]))
        for b in range(bins):
            f.write(f"{b * BIN_S:.0f} " + " ".join(f"{s[b] / BIN_S / 1000:.2f}" for s in series) + "\n")
    with open(f"{data}/uplink.dat", "w") as f:
        for t, rate in uplink:
            f.write(f"{t:.1f} {rate / 1000:.2f}\n")
    alive = []
    for b in range(bins):
        t = t0 + b * BIN_S
        alive.append(sum(1 for lid, s in starts.items() if s <= t and (lid not in ends or ends[lid][0] > t)))
    with open(f"{data}/alive.dat", "w") as f:
        for b, n in enumerate(alive):
            f.write(f"{b * BIN_S:.0f} {n}\n")
    rows = len(names)
    script = f"""
set terminal svg size 900,{260 * rows + 60} dynamic font "DejaVu Sans,11" background "#ffffff"
set output "{out}-bytes.svg"
set multiplot layout {rows},1 title "Where each item's bytes came from (kB/s, {BIN_S:.0f} s bins)"
set key outside right
set xlabel "seconds into the run"
set ylabel "kB/s"
set grid
"""
    for i, name in enumerate(names):
        c = 2 + 3 * i
        script += (f'set title "{name}"\n'
                   f'plot "{data}/bytes.dat" using 1:{c + 2} with steps lw 2 lc rgb "#2a9d8f" title "from peers", '
                   f'"" using 1:{c + 1} with steps lw 2 lc rgb "#e9c46a" title "from the gateway", '
                   f'"" using 1:{c} with steps lw 2 lc rgb "#e76f51" title "from the origin"\n')
    script += f"""unset multiplot
set terminal svg size 900,420 dynamic font "DejaVu Sans,11" background "#ffffff"
set output "{out}-join.svg"
set title "Join time: process start to the first byte of /stream (CDF, {len(joins)} listeners)"
set xlabel "seconds"
set ylabel "share of listeners"
set yrange [0:1]
set key off
plot "{data}/join.dat" using 1:2 with steps lw 2 lc rgb "#264653"
"""
    if uplink:  # no gateway, no uplink to draw
        script += f"""set output "{out}-gateway.svg"
set title "The gateway's uplink (all it sent) and the audience"
set xlabel "seconds into the run"
set ylabel "kB/s"
set yrange [0:*]
set y2label "listeners"
set y2tics
set ytics nomirror
set key outside right
plot "{data}/uplink.dat" using 1:2 with steps lw 2 lc rgb "#e76f51" title "uplink use", \\
     250 with lines dt 2 lc rgb "#888888" title "uplink (2 Mbit/s)", \\
     "{data}/alive.dat" using 1:2 axes x1y2 with steps lw 1 lc rgb "#264653" title "listeners"
"""
    with open(f"{data}/plot.gp", "w") as f:
        f.write(script)
    try:
        subprocess.run(["gnuplot", f"{data}/plot.gp"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"(plots not drawn: {e})")


if __name__ == "__main__":
    main()
