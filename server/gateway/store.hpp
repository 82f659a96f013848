// The gateway's metadata cache in SQLite: one row per media URL (metainfo, validators,
// times) and the playlists the gateway was told about. Thread-safe (one connection behind a
// mutex; WAL journal so a crash never corrupts it).
#pragma once

#include <alluvium/metainfo.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

struct sqlite3;

namespace alluvium::gateway {

struct StoredItem {
    std::string url;
    Metainfo meta;
    std::string etag;
    std::string last_modified;
    std::int64_t fetched_at = 0;    // Unix seconds
    std::int64_t validated_at = 0;  // last time the origin confirmed this content
    std::int64_t last_access = 0;   // last time a listener asked (drives eviction)
    std::string layout;             // media layout JSON (gateway API form), "" if not media
    // Seconds the origin said the copy stays fresh after validated_at (Cache-Control,
    // Expires); -1 when it said nothing and the gateway's --revalidate-after applies.
    std::int64_t fresh_for = -1;
};

class Store {
  public:
    // Opens (creating if needed) the database file. Null and `error` on failure.
    [[nodiscard]] static std::unique_ptr<Store> open(const std::filesystem::path& file,
                                                     std::string& error);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    [[nodiscard]] std::optional<StoredItem> find(const std::string& url);
    void put(const StoredItem& item);
    void touch(const std::string& url, std::int64_t now);
    // The origin confirmed the content at `now`; `fresh_for` replaces the stored lifetime
    // when its answer gave one.
    void mark_validated(const std::string& url, std::int64_t now,
                        std::optional<std::int64_t> fresh_for = std::nullopt);
    void remove(const std::string& url);
    // Every item, least recently accessed first.
    [[nodiscard]] std::vector<StoredItem> by_last_access();
    // Whether any row still names this content (files are shared by identical content).
    [[nodiscard]] bool content_in_use(const std::string& content_sha256);

    void add_playlist(const std::string& url, bool trusted, std::int64_t now);
    // url -> trusted
    [[nodiscard]] std::vector<std::pair<std::string, bool>> playlists();

  private:
    explicit Store(sqlite3* db);
    void exec(const char* sql);
    void migrate();
    std::mutex mutex_;
    sqlite3* db_;
};

}  // namespace alluvium::gateway
