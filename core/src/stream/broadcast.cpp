#include "broadcast.hpp"

#include "../common/log.hpp"

#include <algorithm>

namespace alluvium::detail {

Broadcast::Broadcast(Milliseconds keep, Milliseconds max_lag) : keep_(keep), max_lag_(max_lag) {}

void Broadcast::set_format(StreamFormat format) {
    std::lock_guard lock(mutex_);
    format_ = format;
}

StreamFormat Broadcast::format() const {
    std::lock_guard lock(mutex_);
    return format_;
}

void Broadcast::append(Chunk chunk, TimePoint now) {
    if (chunk.bytes.empty()) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        chunk.position = head_;
        head_ += chunk.bytes.size();
        chunks_.push_back(std::move(chunk));
        // Keep `keep_` of play time behind the head, and always the chunk playing now.
        while (chunks_.size() > 2 && chunks_[1].play_at + keep_ < now) {
            chunks_.pop_front();
        }
    }
    wake_and_check(now);
}

void Broadcast::wake_and_check(TimePoint now) {
    std::vector<std::shared_ptr<HttpStream>> wake;
    std::vector<std::shared_ptr<HttpStream>> drop;
    {
        std::lock_guard lock(mutex_);
        for (auto it = slots_.begin(); it != slots_.end();) {
            auto stream = (*it)->stream.lock();
            if (!stream) {
                it = slots_.erase(it);
                continue;
            }
            // A listener that reads slower than the station plays falls behind; once its
            // position plays more than max_lag before now it is dropped, whatever the
            // kernel still buffers for it.
            if (!(*it)->joined) {
                wake.push_back(std::move(stream));
                ++it;
                continue;
            }
            const std::uint64_t position = (*it)->position;
            const bool gone = chunks_.empty() || position < chunks_.front().position;
            if (gone || time_at(position) + max_lag_ < now) {
                log().info(
                    "stream: dropping listener {}: {} s behind", (*it)->peer,
                    gone ? -1
                         : std::chrono::duration_cast<std::chrono::seconds>(now - time_at(position))
                               .count());
                drop.push_back(std::move(stream));
                it = slots_.erase(it);
                ++dropped_;
                continue;
            }
            wake.push_back(std::move(stream));
            ++it;
        }
    }
    for (auto& s : drop)
        s->abort();
    for (auto& s : wake)
        s->resume();
}

TimePoint Broadcast::head_time() const {
    std::lock_guard lock(mutex_);
    return chunks_.empty() ? TimePoint{} : chunks_.back().play_at + chunks_.back().length;
}

std::uint64_t Broadcast::head() const {
    std::lock_guard lock(mutex_);
    return head_;
}

std::deque<Chunk>::const_iterator Broadcast::chunk_at(std::uint64_t position) const {
    auto it = std::upper_bound(chunks_.begin(), chunks_.end(), position,
                               [](std::uint64_t p, const Chunk& c) { return p < c.position; });
    if (it == chunks_.begin()) {
        return chunks_.end();
    }
    --it;
    return position < it->position + it->bytes.size() ? it : chunks_.end();
}

TimePoint Broadcast::time_at(std::uint64_t position) const {
    const auto it = chunk_at(position);
    if (it == chunks_.end()) {
        return chunks_.empty() ? TimePoint{} : chunks_.back().play_at + chunks_.back().length;
    }
    const auto into = position - it->position;
    return it->play_at + it->length * static_cast<std::int64_t>(into) /
                             static_cast<std::int64_t>(it->bytes.size());
}

Broadcast::Join Broadcast::join(TimePoint now) const {
    std::lock_guard lock(mutex_);
    Join j;
    // The chunk playing now (or the oldest if the buffer starts later), then the first one
    // from there with a frame start.
    auto it = std::upper_bound(chunks_.begin(), chunks_.end(), now,
                               [](TimePoint t, const Chunk& c) { return t < c.play_at; });
    if (it != chunks_.begin())
        --it;
    // A chunk may hold seconds (the preroll, or a piece that came after a wait): audio
    // joins at the frame playing now, not at the chunk's first, or the listener would
    // start behind the schedule by up to that much. A keyframe-synced MPEG-TS chunk is
    // joined at its start.
    if (it != chunks_.end() && it->sync != std::string::npos && now > it->play_at &&
        it->length > Milliseconds{0} && format_ != StreamFormat::ts &&
        format_ != StreamFormat::none) {
        const auto& c = *it;
        auto into =
            static_cast<std::size_t>(static_cast<double>(c.bytes.size()) *
                                     std::chrono::duration<double>(now - c.play_at).count() /
                                     std::chrono::duration<double>(c.length).count());
        // Ogg header pages at a chunk's start are sent from `headers`, never joined into.
        if (c.starts_item && c.headers)
            into = std::max(into, c.headers->size());
        if (into > c.sync && into < c.bytes.size()) {
            if (const auto frame = find_frame(format_, c.bytes, into)) {
                j.position = c.position + *frame;
                j.headers = c.headers;
                j.ok = true;
                return j;
            }
        }
    }
    for (; it != chunks_.end(); ++it) {
        if (it->sync != std::string::npos) {
            j.position = it->position + it->sync;
            j.ok = true;
            if (!(it->starts_item && it->sync == 0)) {
                j.headers = it->headers;
            }
            return j;
        }
    }
    return j;
}

Broadcast::Read Broadcast::read(std::uint64_t& position, std::size_t max, std::string& out,
                                std::string& title) const {
    std::lock_guard lock(mutex_);
    if (chunks_.empty() || position >= head_) {
        return chunks_.empty() || position >= chunks_.front().position ? Read::wait : Read::gone;
    }
    const auto it = chunk_at(position);
    if (it == chunks_.end()) {
        return Read::gone;
    }
    const std::size_t into = static_cast<std::size_t>(position - it->position);
    const std::size_t n = std::min(max, it->bytes.size() - into);
    out.append(it->bytes, into, n);
    title = it->title;
    position += n;
    return Read::data;
}

void Broadcast::add_listener(const std::shared_ptr<ListenerSlot>& slot) {
    std::lock_guard lock(mutex_);
    slots_.push_back(slot);
}

std::size_t Broadcast::listeners() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& s : slots_)
        n += s->stream.expired() ? 0u : 1u;
    return n;
}

}  // namespace alluvium::detail
