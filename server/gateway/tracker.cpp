#include "tracker.hpp"

#include <alluvium/bencode.hpp>
#include <alluvium/url.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace alluvium::gateway {
namespace {

// A peer's key in a swarm and in the NAT check's verdicts.
std::string peer_key(const std::string& ip, std::uint16_t port) {
    return ip + "|" + std::to_string(port);
}

std::optional<std::uint64_t> number(const std::optional<std::string>& text) {
    if (!text || text->empty()) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc() || end != text->data() + text->size()) {
        return std::nullopt;
    }
    return v;
}

// "::ffff:1.2.3.4" (an IPv4 peer on a dual-stack socket) -> "1.2.3.4".
std::string plain_ip(const std::string& ip) {
    constexpr std::string_view mapped = "::ffff:";
    if (ip.rfind(mapped, 0) == 0 && ip.find('.') != std::string::npos) {
        return ip.substr(mapped.size());
    }
    return ip;
}

HttpServerResponse bencoded(int status, std::string body) {
    HttpServerResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "text/plain");
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.body = std::move(body);
    return r;
}

}  // namespace

std::variant<Announce, std::string> parse_announce(const HttpServerRequest& request) {
    Announce a;
    const auto raw_hash = request.raw_param("info_hash");
    if (!raw_hash) {
        return std::string("missing info_hash");
    }
    a.info_hash = percent_decode(*raw_hash);
    if (a.info_hash.size() != 20) {
        return "info_hash must be 20 bytes, got " + std::to_string(a.info_hash.size());
    }
    const auto raw_peer = request.raw_param("peer_id");
    if (!raw_peer) {
        return std::string("missing peer_id");
    }
    a.peer_id = percent_decode(*raw_peer);
    if (a.peer_id.size() != 20) {
        return "peer_id must be 20 bytes, got " + std::to_string(a.peer_id.size());
    }
    const auto port = number(request.param("port"));
    if (!port || *port == 0 || *port > 65535) {
        return std::string("port must be 1-65535");
    }
    a.port = static_cast<std::uint16_t>(*port);
    for (const auto& [name, field] :
         {std::pair{"uploaded", &a.uploaded}, std::pair{"downloaded", &a.downloaded},
          std::pair{"left", &a.left}}) {
        const auto text = request.param(name);
        if (!text) {
            continue;  // optional in practice; 0
        }
        const auto v = number(text);
        if (!v) {
            return std::string(name) + " must be a non-negative whole number";
        }
        *field = *v;
    }
    const std::string event = request.param("event").value_or("");
    if (event.empty())
        a.event = Announce::Event::none;
    else if (event == "started")
        a.event = Announce::Event::started;
    else if (event == "completed")
        a.event = Announce::Event::completed;
    else if (event == "stopped")
        a.event = Announce::Event::stopped;
    else if (event == "paused")
        a.event = Announce::Event::paused;
    else
        return "unknown event '" + event + "'";
    a.compact = request.param("compact").value_or("1") != "0";
    if (const auto want = request.param("numwant")) {
        const auto v = number(want);
        if (!v) {
            return std::string("numwant must be a whole number");
        }
        a.numwant = static_cast<unsigned>(std::min<std::uint64_t>(*v, 100000));
    }
    a.ip = plain_ip(request.remote_address);
    return a;
}

Tracker::Tracker(TrackerOptions options) : options_(options) {}

void Tracker::add_torrent(const std::string& info_hash,
                          const std::optional<std::pair<std::string, std::uint16_t>>& seed) {
    std::lock_guard lock(mutex_);
    Swarm& swarm = swarms_[info_hash];
    if (seed) {
        swarm[peer_key(seed->first, seed->second)] =
            Peer{seed->first, seed->second, std::string(), true, Clock::now(), true};
    }
}

void Tracker::remove_torrent(const std::string& info_hash) {
    std::lock_guard lock(mutex_);
    swarms_.erase(info_hash);
}

void Tracker::expire(Swarm& swarm, Clock::time_point now) const {
    // A peer that missed two announces and then some is gone.
    const auto ttl = options_.interval * 2 + std::chrono::seconds(15);
    for (auto it = swarm.begin(); it != swarm.end();) {
        it = !it->second.pinned && now - it->second.seen > ttl ? swarm.erase(it) : std::next(it);
    }
}

void Tracker::set_nat_check(CheckFn check) {
    std::lock_guard lock(mutex_);
    check_ = std::move(check);
}

bool Tracker::listed(const std::string& key) const {
    const auto found = reach_.find(key);
    return found == reach_.end() || found->second.reachable.value_or(true);
}

bool Tracker::needs_check(const std::string& key, Clock::time_point now) {
    // A check that never answered (the checker was busy, or stopped) is asked again after
    // this; a check itself gives up well before.
    constexpr auto unanswered = std::chrono::seconds(30);
    Verdict& v = reach_[key];
    if (v.pending && now - v.asked < unanswered)
        return false;
    if (v.reachable && now - v.since < options_.recheck)
        return false;
    v.pending = true;
    v.asked = now;
    return true;
}

void Tracker::forget_verdicts(Clock::time_point now) {
    for (auto it = reach_.begin(); it != reach_.end();) {
        const auto touched = std::max(it->second.since, it->second.asked);
        it = now - touched > options_.recheck * 2 ? reach_.erase(it) : std::next(it);
    }
}

void Tracker::reachable(const std::string& ip, std::uint16_t port, bool yes,
                        Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Verdict& v = reach_[peer_key(ip, port)];
    v.reachable = yes;
    v.since = now;
    v.pending = false;
}

ReachCounts Tracker::reach_counts() {
    std::lock_guard lock(mutex_);
    ReachCounts c;
    for (const auto& [key, v] : reach_) {
        if (v.reachable)
            ++(*v.reachable ? c.reachable : c.unreachable);
    }
    return c;
}

std::variant<std::string, std::string> Tracker::announce(const Announce& a, Clock::time_point now) {
    CheckFn check;
    auto result = answer(a, now, check);
    if (check)
        check(a.ip, a.port);  // outside the lock: the checker may answer at once
    return result;
}

std::variant<std::string, std::string> Tracker::answer(const Announce& a, Clock::time_point now,
                                                       CheckFn& check) {
    std::lock_guard lock(mutex_);
    // Now and then, forget the verdicts on addresses that stopped announcing.
    if (++announces_ % 256 == 0)
        forget_verdicts(now);
    const auto found = swarms_.find(a.info_hash);
    if (found == swarms_.end()) {
        return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                      "unknown torrent: this tracker only tracks "
                                                      "the gateway's own items");
    }
    Swarm& swarm = found->second;
    expire(swarm, now);
    const std::string key = peer_key(a.ip, a.port);
    if (a.event == Announce::Event::stopped) {
        if (const auto it = swarm.find(key); it != swarm.end() && !it->second.pinned) {
            swarm.erase(it);
        }
    } else {
        Peer& peer = swarm[key];
        peer = Peer{a.ip, a.port, a.peer_id, a.left == 0, now, peer.pinned};
        if (check_ && !peer.pinned && needs_check(key, now))
            check = check_;
    }
    std::vector<const Peer*> others;
    std::size_t seeds = 0;
    for (const auto& [k, peer] : swarm) {
        seeds += peer.seed ? 1 : 0;
        if (k != key && (peer.pinned || listed(k))) {
            others.push_back(&peer);
        }
    }
    const std::size_t want = std::min<std::size_t>(a.numwant, options_.max_numwant);
    if (others.size() > want) {
        // A random `want` of them: a partial Fisher-Yates shuffle, not one of the whole swarm.
        for (std::size_t i = 0; i < want; ++i) {
            std::uniform_int_distribution<std::size_t> pick(i, others.size() - 1);
            std::swap(others[i], others[pick(random_)]);
        }
        others.resize(want);
    }
    Bdict answer;
    answer.emplace("interval", static_cast<std::int64_t>(options_.interval.count()));
    answer.emplace("min interval", static_cast<std::int64_t>(options_.min_interval.count()));
    answer.emplace("complete", static_cast<std::int64_t>(seeds));
    answer.emplace("incomplete", static_cast<std::int64_t>(swarm.size() - seeds));
    if (a.compact) {
        std::string v4;
        std::string v6;
        for (const Peer* p : others) {
            unsigned char addr[16];
            const unsigned char port[2] = {static_cast<unsigned char>(p->port >> 8),
                                           static_cast<unsigned char>(p->port & 0xff)};
            if (inet_pton(AF_INET, p->ip.c_str(), addr) == 1) {
                v4.append(reinterpret_cast<const char*>(addr), 4)
                    .append(reinterpret_cast<const char*>(port), 2);
            } else if (inet_pton(AF_INET6, p->ip.c_str(), addr) == 1) {
                v6.append(reinterpret_cast<const char*>(addr), 16)
                    .append(reinterpret_cast<const char*>(port), 2);
            }
        }
        answer.emplace("peers", v4);
        if (!v6.empty()) {
            answer.emplace("peers6", v6);
        }
    } else {
        Blist list;
        for (const Peer* p : others) {
            Bdict entry;
            entry.emplace("ip", p->ip);
            entry.emplace("port", static_cast<std::int64_t>(p->port));
            entry.emplace("peer id", p->peer_id);
            list.emplace_back(std::move(entry));
        }
        answer.emplace("peers", std::move(list));
    }
    return std::variant<std::string, std::string>(std::in_place_index<0>, bencode(answer));
}

HttpServerResponse Tracker::handle(const HttpServerRequest& request) {
    const auto parsed = parse_announce(request);
    if (const auto* error = std::get_if<std::string>(&parsed)) {
        Bdict failure;
        failure.emplace("failure reason", *error);
        return bencoded(400, bencode(failure));
    }
    const auto answer = announce(std::get<Announce>(parsed), Clock::now());
    if (answer.index() == 1) {
        Bdict failure;
        failure.emplace("failure reason", std::get<1>(answer));
        return bencoded(404, bencode(failure));
    }
    return bencoded(200, std::get<0>(answer));
}

SwarmCounts Tracker::counts(const std::string& info_hash) {
    std::lock_guard lock(mutex_);
    SwarmCounts c;
    const auto found = swarms_.find(info_hash);
    if (found == swarms_.end()) {
        return c;
    }
    expire(found->second, Clock::now());
    for (const auto& [k, peer] : found->second) {
        ++(peer.seed ? c.seeds : c.leechers);
    }
    return c;
}

std::size_t Tracker::listeners() {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    std::set<std::string> seen;
    for (auto& [hash, swarm] : swarms_) {
        expire(swarm, now);
        for (const auto& [key, peer] : swarm) {
            if (!peer.pinned)
                seen.insert(key);
        }
    }
    return seen.size();
}

std::vector<std::string> Tracker::peers(const std::string& info_hash, std::size_t limit) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    const auto found = swarms_.find(info_hash);
    if (found == swarms_.end()) {
        return out;
    }
    expire(found->second, Clock::now());
    for (const auto& [k, peer] : found->second) {
        if (out.size() >= limit) {
            break;
        }
        if (!peer.pinned && !listed(k)) {
            continue;
        }
        const bool v6 = peer.ip.find(':') != std::string::npos;
        out.push_back((v6 ? "[" + peer.ip + "]" : peer.ip) + ":" + std::to_string(peer.port));
    }
    return out;
}

}  // namespace alluvium::gateway
