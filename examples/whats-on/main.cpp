// whats-on: what an Alluvium station plays at an instant, from its playlist file.
//   whats-on station.rss [W3CDTF instant]
#include <alluvium/playlist.hpp>
#include <alluvium/schedule.hpp>
#include <alluvium/time.hpp>
#include <alluvium/version.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: whats-on PLAYLIST.rss [INSTANT]\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
        std::cerr << argv[1] << ": cannot open\n";
        return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    const alluvium::ReadResult read = alluvium::read_playlist(text.str(), argv[1]);
    for (const auto& d : read.diagnostics)
        std::cerr << d.to_string() << '\n';
    if (!read.ok())
        return 1;
    alluvium::TimePoint at = alluvium::now_utc();
    if (argc > 2) {
        const auto parsed = alluvium::parse_w3cdtf(argv[2]);
        if (!parsed) {
            std::cerr << argv[2] << ": not a W3CDTF instant\n";
            return 2;
        }
        at = *parsed;
    }
    const auto schedule = alluvium::Schedule::build(*read.playlist);
    if (!schedule)
        return 1;
    const alluvium::OnAir air = schedule->at(at, 2);
    std::cout << read.playlist->title << " (liballuvium-core " << alluvium::version_string()
              << ")\n";
    if (air.current) {
        std::cout << "now: " << read.playlist->items[air.current->item].display_title() << " at "
                  << alluvium::format_duration(air.offset) << '\n';
    } else {
        std::cout << "now: nothing\n";
    }
    for (const alluvium::Slot& s : air.next)
        std::cout << "next: " << read.playlist->items[s.item].display_title() << " at "
                  << alluvium::format_w3cdtf(s.start) << '\n';
    return 0;
}
