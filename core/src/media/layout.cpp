// Media layouts: the time -> byte map of a file (index_media builds one, in probe.cpp).
#include <alluvium/media.hpp>

#include <algorithm>

namespace alluvium {

bool MediaLayout::concatenable() const {
    return (container == "mp3" && codec == "mp3") || (container == "aac" && codec == "aac") ||
           (container == "ogg" && (codec == "vorbis" || codec == "opus"));
}

std::uint64_t MediaLayout::byte_at(Milliseconds t) const {
    if (t <= Milliseconds{0}) {
        return data_start;
    }
    if (!index.empty() && index_interval.count() > 0) {
        const auto k = static_cast<std::size_t>(t / index_interval);
        if (k >= index.size()) {
            return data_end;
        }
        // Between two index points bytes are spread evenly; the caller resyncs to a frame.
        const std::uint64_t a = index[k];
        const std::uint64_t b = k + 1 < index.size() ? index[k + 1] : data_end;
        const auto within = t - index_interval * static_cast<std::int64_t>(k);
        if (within.count() == 0 || b <= a) {
            return a;
        }
        return a + (b - a) * static_cast<std::uint64_t>(within.count()) /
                       static_cast<std::uint64_t>(index_interval.count());
    }
    if (duration.count() <= 0 || data_end <= data_start) {
        return data_start;
    }
    const auto span = data_end - data_start;
    const auto ms = static_cast<std::uint64_t>(std::min(t, duration).count());
    return data_start + span * ms / static_cast<std::uint64_t>(duration.count());
}

Milliseconds MediaLayout::time_at(std::uint64_t offset) const {
    if (offset <= data_start) {
        return Milliseconds{0};
    }
    if (!index.empty() && index_interval.count() > 0) {
        const auto after = std::upper_bound(index.begin(), index.end(), offset);
        const auto k = static_cast<std::int64_t>(std::distance(index.begin(), after)) - 1;
        if (k < 0) {
            return Milliseconds{0};
        }
        const std::uint64_t a = index[static_cast<std::size_t>(k)];
        const std::uint64_t b = static_cast<std::size_t>(k + 1) < index.size()
                                    ? index[static_cast<std::size_t>(k + 1)]
                                    : data_end;
        Milliseconds t = index_interval * k;
        if (b > a) {
            t += Milliseconds{static_cast<std::int64_t>(
                (std::min(offset, b) - a) * static_cast<std::uint64_t>(index_interval.count()) /
                (b - a))};
        }
        return std::min(t, duration);
    }
    if (data_end <= data_start) {
        return Milliseconds{0};
    }
    const auto span = data_end - data_start;
    return Milliseconds{static_cast<std::int64_t>((std::min(offset, data_end) - data_start) *
                                                  static_cast<std::uint64_t>(duration.count()) /
                                                  span)};
}

}  // namespace alluvium
