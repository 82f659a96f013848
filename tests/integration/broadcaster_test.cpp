// alluvium-broadcaster as a user runs it: generate over real media, validate, now.
#include <alluvium/playlist.hpp>

#include "media_fixtures.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace alluvium::test {
namespace {

const std::string broadcaster = ALLUVIUM_BROADCASTER;
const std::filesystem::path data_dir = ALLUVIUM_TEST_DATA_DIR;

class Broadcaster : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ASSERT_TRUE(have_program("ffmpeg") && have_program("ffprobe"))
            << "install ffmpeg (scripts/install-deps.sh does)";
        media_ = std::make_unique<TempDir>();
        for (const MediaSpec& spec : ten_formats()) {
            const std::string error = make_media(*media_ / spec.file, spec);
            ASSERT_TRUE(error.empty()) << error;
        }
    }
    static void TearDownTestSuite() { media_.reset(); }

    static std::unique_ptr<TempDir> media_;
    TempDir dir_;
};
std::unique_ptr<TempDir> Broadcaster::media_;

double ffprobe_seconds(const std::string& path) {
    const RunResult r = run({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                             "default=nw=1:nk=1", path});
    return r.exit_code == 0 ? std::stod(r.out) : -1;
}

TEST_F(Broadcaster, GeneratesAPlaylistFromTenFormatsThatReadsBackIdentically) {
    const std::string out = dir_ / "station.rss";
    const RunResult r = run({broadcaster, "generate", "--base-url", "http://127.0.0.1:8080/radio",
                             "--title", "Ten formats", "--start", "2026-12-24T18:00:00+01:00", "-o",
                             out, media_->path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Progress went to standard error, one line per file when not on a terminal.
    EXPECT_NE(r.err.find("probing [10/10]"), std::string::npos) << r.err;

    const RunResult lint = run({"xmllint", "--noout", out});
    EXPECT_EQ(lint.exit_code, 0) << lint.err;

    const std::string xml = dir_.read("station.rss");
    const ReadResult read = read_playlist(xml, out);
    ASSERT_TRUE(read.ok()) << read.diagnostics.at(0).to_string();
    EXPECT_TRUE(read.diagnostics.empty());
    EXPECT_EQ(write_playlist(*read.playlist), xml) << "reading and writing again changed the text";

    const Playlist& p = *read.playlist;
    EXPECT_EQ(p.title, "Ten formats");
    EXPECT_EQ(p.about, "http://127.0.0.1:8080/radio/station.rss");
    const auto specs = ten_formats();
    ASSERT_EQ(p.items.size(), specs.size());
    TimePoint expected_start = *parse_w3cdtf("2026-12-24T17:00:00Z");
    for (std::size_t i = 0; i < specs.size(); ++i) {
        SCOPED_TRACE(specs[i].file);
        const Item& item = p.items[i];
        const std::string path = media_->path() / specs[i].file;
        EXPECT_EQ(item.media_url, "http://127.0.0.1:8080/radio/" + specs[i].file);
        EXPECT_EQ(item.mime_type, specs[i].expected_mime);
        if (specs[i].carries_tags) {
            EXPECT_EQ(item.title, specs[i].file);  // from the file's title tag
            EXPECT_EQ(item.creator, "Test Signal");
        } else {
            EXPECT_EQ(item.title, std::filesystem::path(specs[i].file).stem().string());
            EXPECT_EQ(item.creator, "");
        }
        EXPECT_EQ(item.length_bytes, std::filesystem::file_size(path));
        ASSERT_TRUE(item.duration.has_value());
        const double ours = static_cast<double>(item.duration->count()) / 1000.0;
        const double theirs = ffprobe_seconds(path);
        EXPECT_NEAR(ours, theirs, 0.050) << "ffprobe says " << theirs;
        EXPECT_EQ(item.start, expected_start);
        expected_start += *item.duration;
    }
}

TEST_F(Broadcaster, LoopingPlaylistCarriesNoStartTimes) {
    const RunResult r = run({broadcaster, "generate", "-q", "--loop", "--base-url", "http://h/",
                             "--start", "2026-01-01T00:00:00Z", media_->path() / "01-tone.mp3",
                             media_->path() / "05-pcm.wav"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const ReadResult read = read_playlist(r.out, "stdout");
    ASSERT_TRUE(read.ok());
    EXPECT_TRUE(read.playlist->loops());
    EXPECT_EQ(read.playlist->anchor, parse_w3cdtf("2026-01-01T00:00:00Z"));
}

TEST_F(Broadcaster, NowReportsTheItemAndOffset) {
    const std::string out = dir_ / "station.rss";
    ASSERT_EQ(run({broadcaster, "generate", "-q", "--base-url", "http://h/", "--start",
                   "2026-01-01T00:00:00Z", "-o", out, media_->path() / "01-tone.mp3",
                   media_->path() / "04-lossless.flac"})
                  .exit_code,
              0);
    // 01-tone.mp3 lasts 3.344 s; 4 s after the start, the FLAC file is 0.656 s in.
    const RunResult r = run({broadcaster, "now", out, "--at", "2026-01-01T00:00:04Z"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("on now:  04-lossless.flac"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("offset:  0:00.656"), std::string::npos) << r.out;
    const RunResult ended = run({broadcaster, "now", out, "--at", "2026-01-02T00:00:00Z"});
    EXPECT_NE(ended.out.find("ended"), std::string::npos) << ended.out;
}

TEST_F(Broadcaster, ValidateRejectsEachMalformedInputNamingItsLine) {
    std::ifstream manifest(data_dir / "playlists/malformed/expected.txt");
    std::string line;
    int checked = 0;
    while (std::getline(manifest, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::istringstream fields(line);
        std::string file;
        int expected_line = 0;
        fields >> file >> expected_line;
        SCOPED_TRACE(file);
        const std::string path = (data_dir / "playlists/malformed" / file).string();
        const RunResult r = run({broadcaster, "validate", path}, std::chrono::seconds(20));
        EXPECT_FALSE(r.timed_out);
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_NE(r.err.find(path + ":" + std::to_string(expected_line) + ": error:"),
                  std::string::npos)
            << r.err;
        ++checked;
    }
    EXPECT_GE(checked, 20);
}

TEST_F(Broadcaster, ValidateAcceptsValidPlaylists) {
    for (const char* name : {"full.rss", "actlab-2005.rss", "actlab-no-date.rss"}) {
        const RunResult r =
            run({broadcaster, "validate", (data_dir / "playlists/valid" / name).string()});
        EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
        EXPECT_NE(r.out.find("valid"), std::string::npos);
    }
}

TEST_F(Broadcaster, ValidateRefusesAFiftyMegabyteFile) {
    {
        std::ofstream big(dir_ / "big.rss", std::ios::binary);
        const std::string chunk(1 << 20, ' ');
        big << "<?xml version=\"1.0\"?>\n";
        for (int i = 0; i < 50; ++i)
            big << chunk;
    }
    const RunResult r = run({broadcaster, "validate", dir_ / "big.rss"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("limit"), std::string::npos) << r.err;
}

TEST_F(Broadcaster, GenerateNamesAFileThatIsNotMedia) {
    dir_.write("notes.mp3", "this is not audio");
    const RunResult r =
        run({broadcaster, "generate", "-q", "--base-url", "http://h/", dir_ / "notes.mp3"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("notes.mp3"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << "no partial playlist is written";
}

TEST_F(Broadcaster, GenerateNeedsABaseUrlForLocalFiles) {
    const RunResult r = run({broadcaster, "generate", media_->path() / "01-tone.mp3"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--base-url"), std::string::npos);
}

TEST_F(Broadcaster, VersionAndHelp) {
    const RunResult v = run({broadcaster, "--version"});
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_NE(v.out.find("alluvium-broadcaster "), std::string::npos);
    const RunResult h = run({broadcaster, "--help"});
    EXPECT_EQ(h.exit_code, 0);
    for (const char* cmd : {"generate", "validate", "now", "webconfig", "check"}) {
        EXPECT_NE(h.out.find(cmd), std::string::npos) << cmd;
    }
}

}  // namespace
}  // namespace alluvium::test
