// Shoutcast/Icecast in-stream metadata (ICY): after every `metaint` audio bytes, one length
// byte N and N*16 bytes holding StreamTitle='...'; padded with NULs; N=0 when the title did
// not change. As captured from Icecast 2.4.4 (docs/ICECAST.md). Not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace alluvium::detail {

// The metadata block for a title: length byte + padded text; "\0" for "unchanged".
[[nodiscard]] std::string icy_block(const std::string& title);

class IcyWriter {
  public:
    explicit IcyWriter(std::size_t metaint) : metaint_(metaint) {}

    // Appends `audio` to `out` with metadata blocks at every `metaint` boundary. `title` is
    // what plays at these bytes; a new listener gets the current title in its first block.
    void write(std::string_view audio, const std::string& title, std::string& out);

  private:
    std::size_t metaint_;
    std::size_t until_block_ = 0;  // audio bytes left before the next block
    bool started_ = false;
    std::string sent_title_;
};

}  // namespace alluvium::detail
