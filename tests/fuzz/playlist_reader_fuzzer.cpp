// libFuzzer target: the playlist reader, with what the reader produces fed through the
// scheduler and the writer (whatever parses must schedule and serialise without crashing,
// and the written form must read back to an equal model).
#include <alluvium/playlist.hpp>
#include <alluvium/schedule.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const alluvium::ReadResult result = alluvium::read_playlist(text, "fuzz.rss");
    if (!result.ok()) {
        return 0;
    }
    const auto schedule = alluvium::Schedule::build(*result.playlist);
    if (!schedule) {
        std::abort();  // the reader accepted what the scheduler refuses
    }
    (void)schedule->at(alluvium::TimePoint{std::chrono::milliseconds{1'800'000'000'000}}, 5);
    const std::string written = alluvium::write_playlist(*result.playlist);
    const alluvium::ReadResult again = alluvium::read_playlist(written, "rewritten.rss");
    if (!again.ok() || !(*again.playlist == *result.playlist)) {
        std::abort();  // writer and reader disagree
    }
    return 0;
}
