// A set of byte ranges [from, to), merged as they are added. Not thread-safe.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>

namespace alluvium::detail {

class RangeSet {
  public:
    void add(std::uint64_t from, std::uint64_t to) {
        if (to <= from) {
            return;
        }
        // Merge with every range that touches [from, to).
        auto it = ranges_.upper_bound(from);
        if (it != ranges_.begin()) {
            auto prev = std::prev(it);
            if (prev->second >= from) {
                from = prev->first;
                to = std::max(to, prev->second);
                it = ranges_.erase(prev);
            }
        }
        while (it != ranges_.end() && it->first <= to) {
            to = std::max(to, it->second);
            it = ranges_.erase(it);
        }
        ranges_.emplace(from, to);
    }

    // End of the range holding `offset`, or `offset` itself when no range holds it.
    [[nodiscard]] std::uint64_t end_of(std::uint64_t offset) const {
        auto it = ranges_.upper_bound(offset);
        if (it == ranges_.begin()) {
            return offset;
        }
        --it;
        return it->second > offset ? it->second : offset;
    }

    // First offset in [from, to) that no range holds; `to` when all are held.
    [[nodiscard]] std::uint64_t first_gap(std::uint64_t from, std::uint64_t to) const {
        while (from < to) {
            const std::uint64_t end = end_of(from);
            if (end == from) {
                return from;
            }
            from = end;
        }
        return to;
    }

    [[nodiscard]] std::uint64_t total() const {
        std::uint64_t n = 0;
        for (const auto& [a, b] : ranges_) {
            n += b - a;
        }
        return n;
    }

  private:
    std::map<std::uint64_t, std::uint64_t> ranges_;
};

}  // namespace alluvium::detail
