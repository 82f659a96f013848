#include "icy.hpp"

#include <algorithm>

namespace alluvium::detail {

std::string icy_block(const std::string& title) {
    // Quotes are not escaped by Icecast (players read up to "';"), so that sequence, NULs
    // and line breaks are taken out of the title; at most 255*16 bytes fit.
    std::string clean;
    for (std::size_t i = 0; i < title.size(); ++i) {
        const char c = title[i];
        if (c == '\0' || c == '\n' || c == '\r')
            continue;
        if (c == '\'' && i + 1 < title.size() && title[i + 1] == ';')
            continue;
        clean += c;
    }
    std::string text = "StreamTitle='" + clean.substr(0, 4000) + "';";
    const std::size_t blocks = (text.size() + 15) / 16;
    text.resize(blocks * 16, '\0');
    return static_cast<char>(blocks) + text;
}

void IcyWriter::write(std::string_view audio, const std::string& title, std::string& out) {
    if (!started_) {
        started_ = true;
        until_block_ = metaint_;
    }
    while (!audio.empty()) {
        const std::size_t take = std::min(audio.size(), until_block_);
        out.append(audio.substr(0, take));
        audio.remove_prefix(take);
        until_block_ -= take;
        if (until_block_ == 0) {
            if (title != sent_title_) {
                out += icy_block(title);
                sent_title_ = title;
            } else {
                out += '\0';
            }
            until_block_ = metaint_;
        }
    }
}

}  // namespace alluvium::detail
