#include "store.hpp"

#include <sqlite3.h>

#include <set>
#include <stdexcept>
#include <utility>

namespace alluvium::gateway {
namespace {

constexpr const char* schema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS items (
    url            TEXT PRIMARY KEY,
    info_hash      BLOB NOT NULL,
    size           INTEGER NOT NULL,
    piece_size     INTEGER NOT NULL,
    content_sha256 TEXT NOT NULL,
    info           BLOB NOT NULL,
    etag           TEXT NOT NULL DEFAULT '',
    last_modified  TEXT NOT NULL DEFAULT '',
    fetched_at     INTEGER NOT NULL,
    validated_at   INTEGER NOT NULL,
    last_access    INTEGER NOT NULL,
    layout         TEXT NOT NULL DEFAULT '',
    fresh_for      INTEGER NOT NULL DEFAULT -1
);
CREATE INDEX IF NOT EXISTS items_by_access ON items (last_access);
CREATE INDEX IF NOT EXISTS items_by_content ON items (content_sha256);
CREATE TABLE IF NOT EXISTS playlists (
    url      TEXT PRIMARY KEY,
    trusted  INTEGER NOT NULL,
    added_at INTEGER NOT NULL
);
)sql";

constexpr const char* item_columns =
    "url, info_hash, size, piece_size, content_sha256, info, etag, last_modified, fetched_at, "
    "validated_at, last_access, layout, fresh_for";

// Columns added after the first release: (name, definition). A database of any earlier
// version gets the ones it lacks.
constexpr std::pair<const char*, const char*> added_columns[] = {
    {"layout", "TEXT NOT NULL DEFAULT ''"},
    {"fresh_for", "INTEGER NOT NULL DEFAULT -1"},
};

// One prepared statement, finalised on scope exit; errors throw (they mean a broken disk
// or database, which the caller logs).
class Statement {
  public:
    Statement(sqlite3* db, const std::string& sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
            throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
        }
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, const std::string& text) {
        sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& blob(int i, const std::string& bytes) {
        sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    // True while there is a row.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) {
            return true;
        }
        if (rc != SQLITE_DONE) {
            throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
        }
        return false;
    }
    [[nodiscard]] std::string text(int col) const {
        const auto* p = sqlite3_column_blob(stmt_, col);
        return p != nullptr
                   ? std::string(static_cast<const char*>(p),
                                 static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
                   : std::string();
    }
    [[nodiscard]] std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

StoredItem read_item(const Statement& s) {
    StoredItem item;
    item.url = s.text(0);
    item.meta.info_hash = s.text(1);
    item.meta.size = static_cast<std::uint64_t>(s.integer(2));
    item.meta.piece_size = static_cast<std::uint32_t>(s.integer(3));
    item.meta.content_sha256 = s.text(4);
    item.meta.info = s.text(5);
    item.etag = s.text(6);
    item.last_modified = s.text(7);
    item.fetched_at = s.integer(8);
    item.validated_at = s.integer(9);
    item.last_access = s.integer(10);
    item.layout = s.text(11);
    item.fresh_for = s.integer(12);
    return item;
}

}  // namespace

std::unique_ptr<Store> Store::open(const std::filesystem::path& file, std::string& error) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(file.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        error = db != nullptr ? sqlite3_errmsg(db) : "cannot open";
        sqlite3_close(db);
        return nullptr;
    }
    sqlite3_busy_timeout(db, 5000);
    std::unique_ptr<Store> store(new Store(db));
    try {
        store->exec(schema);
        store->migrate();
    } catch (const std::exception& e) {
        error = e.what();
        return nullptr;
    }
    return store;
}

Store::Store(sqlite3* db) : db_(db) {}

Store::~Store() {
    sqlite3_close(db_);
}

void Store::migrate() {
    std::set<std::string> have;
    {
        Statement columns(db_, "PRAGMA table_info(items)");
        while (columns.step()) {
            have.insert(columns.text(1));
        }
    }
    for (const auto& [name, definition] : added_columns) {
        if (have.count(name) == 0) {
            exec((std::string("ALTER TABLE items ADD COLUMN ") + name + " " + definition).c_str());
        }
    }
}

void Store::exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message != nullptr ? message : "error";
        sqlite3_free(message);
        throw std::runtime_error("sqlite: " + text);
    }
}

std::optional<StoredItem> Store::find(const std::string& url) {
    std::lock_guard lock(mutex_);
    Statement s(db_, std::string("SELECT ") + item_columns + " FROM items WHERE url = ?");
    s.bind(1, url);
    if (!s.step()) {
        return std::nullopt;
    }
    return read_item(s);
}

void Store::put(const StoredItem& item) {
    std::lock_guard lock(mutex_);
    Statement s(db_, std::string("INSERT OR REPLACE INTO items (") + item_columns +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, item.url)
        .blob(2, item.meta.info_hash)
        .bind(3, static_cast<std::int64_t>(item.meta.size))
        .bind(4, static_cast<std::int64_t>(item.meta.piece_size))
        .bind(5, item.meta.content_sha256)
        .blob(6, item.meta.info)
        .bind(7, item.etag)
        .bind(8, item.last_modified)
        .bind(9, item.fetched_at)
        .bind(10, item.validated_at)
        .bind(11, item.last_access)
        .bind(12, item.layout)
        .bind(13, item.fresh_for);
    s.step();
}

void Store::touch(const std::string& url, std::int64_t now) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "UPDATE items SET last_access = ? WHERE url = ?");
    s.bind(1, now).bind(2, url);
    s.step();
}

void Store::mark_validated(const std::string& url, std::int64_t now,
                           std::optional<std::int64_t> fresh_for) {
    std::lock_guard lock(mutex_);
    Statement s(db_,
                "UPDATE items SET validated_at = ?, fresh_for = COALESCE(?, fresh_for) "
                "WHERE url = ?");
    s.bind(1, now);
    if (fresh_for)
        s.bind(2, *fresh_for);
    s.bind(3, url);
    s.step();
}

void Store::remove(const std::string& url) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "DELETE FROM items WHERE url = ?");
    s.bind(1, url);
    s.step();
}

std::vector<StoredItem> Store::by_last_access() {
    std::lock_guard lock(mutex_);
    Statement s(db_,
                std::string("SELECT ") + item_columns + " FROM items ORDER BY last_access, url");
    std::vector<StoredItem> out;
    while (s.step()) {
        out.push_back(read_item(s));
    }
    return out;
}

bool Store::content_in_use(const std::string& content_sha256) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT 1 FROM items WHERE content_sha256 = ? LIMIT 1");
    s.bind(1, content_sha256);
    return s.step();
}

void Store::add_playlist(const std::string& url, bool trusted, std::int64_t now) {
    std::lock_guard lock(mutex_);
    Statement s(db_,
                "INSERT INTO playlists (url, trusted, added_at) VALUES (?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET trusted = MAX(trusted, excluded.trusted)");
    s.bind(1, url).bind(2, trusted ? 1 : 0).bind(3, now);
    s.step();
}

std::vector<std::pair<std::string, bool>> Store::playlists() {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT url, trusted FROM playlists ORDER BY added_at");
    std::vector<std::pair<std::string, bool>> out;
    while (s.step()) {
        out.emplace_back(s.text(0), s.integer(1) != 0);
    }
    return out;
}

}  // namespace alluvium::gateway
