// How fast a broadcaster's files are hashed into swarm metadata: the hash functions alone
// (OpenSSL's SHA-1 and SHA-256, the limit), MetainfoBuilder (both, over the same bytes), and
// `alluvium-broadcaster generate` on a file in the page cache, end to end. Prints MB/s,
// writes bench-results/hash.txt and plots bench-results/hash.svg (gnuplot).
//
//   alluvium-bench-hash [--mib 1024] [--runs 3] [--out bench-results/hash]
#include <alluvium/metainfo.hpp>

#include "figures.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <openssl/evp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// MB/s (10^6 bytes) of `bytes` done in the time `work` takes, the best of `runs`.
double best_rate(std::size_t bytes, int runs, const std::function<void()>& work) {
    double best = 0;
    for (int i = 0; i < runs; ++i) {
        const auto start = Clock::now();
        work();
        const double s = std::chrono::duration<double>(Clock::now() - start).count();
        best = std::max(best, static_cast<double>(bytes) / s / 1e6);
    }
    return best;
}

// A PCM WAV header for `size` bytes in all (44.1 kHz, 16-bit stereo): random bytes after
// it are noise, which generate probes as any other file.
std::string wav_header(std::uint32_t size) {
    std::string h;
    const auto le = [&h](std::uint32_t v, int bytes) {
        for (int i = 0; i < bytes; ++i)
            h += static_cast<char>((v >> (8 * i)) & 0xffU);
    };
    h += "RIFF";
    le(size - 8, 4);
    h += "WAVEfmt ";
    le(16, 4);
    le(1, 2);  // PCM
    le(2, 2);  // channels
    le(44100, 4);
    le(44100 * 4, 4);
    le(4, 2);
    le(16, 2);
    h += "data";
    le(size - 44, 4);
    return h;
}

void digest(const EVP_MD* md, const std::string& data) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestInit_ex(ctx, md, nullptr);
    for (std::size_t at = 0; at < data.size(); at += 4u << 20)
        EVP_DigestUpdate(ctx, data.data() + at, std::min<std::size_t>(4u << 20, data.size() - at));
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"alluvium-bench-hash: hashing speed of the swarm metadata a broadcaster writes"};
    std::size_t mib = 1024;
    int runs = 3;
    std::string out = "bench-results/hash";
    app.add_option("--mib", mib, "Size of the test file (MiB)")->capture_default_str();
    app.add_option("--runs", runs, "Runs of each; the best counts")->capture_default_str();
    app.add_option("--out", out, "Report and plot, without extension")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    const std::size_t size = mib << 20;
    if (size > 0xffffffffULL) {
        std::fprintf(stderr, "bench: at most 4095 MiB (a WAV file's limit)\n");
        return 2;
    }
    std::string data = alluvium::test::random_bytes(size, 11);
    data.replace(0, 44, wav_header(static_cast<std::uint32_t>(size)));
    const double sha1 = best_rate(size, runs, [&] { digest(EVP_sha1(), data); });
    const double sha256 = best_rate(size, runs, [&] { digest(EVP_sha256(), data); });
    const double builder = best_rate(size, runs, [&] {
        alluvium::MetainfoBuilder b(size);
        for (std::size_t at = 0; at < size; at += 4u << 20)
            (void)b.feed(std::string_view(data).substr(at, 4u << 20));
        (void)b.finish();
    });
    alluvium::test::TempDir dir;
    const auto file = dir.path() / "item.wav";
    std::ofstream(file, std::ios::binary) << data;
    std::string failed;
    const double generate = best_rate(size, runs, [&] {
        const auto r = alluvium::test::run(
            {ALLUVIUM_BROADCASTER, "generate", "-q", "--base-url", "http://127.0.0.1/", "-o",
             (dir.path() / "station.rss").string(), file.string()},
            std::chrono::seconds(600));
        if (r.exit_code != 0)
            failed = r.err;
    });
    if (!failed.empty()) {
        std::fprintf(stderr, "bench: generate failed: %s\n", failed.c_str());
        return 1;
    }

    char report[1024];
    std::snprintf(report, sizeof report,
                  "hashing %zu MiB (random bytes; best of %d runs), MB/s:\n"
                  "  SHA-1 alone (OpenSSL)                 %8.0f\n"
                  "  SHA-256 alone (OpenSSL)               %8.0f\n"
                  "  MetainfoBuilder (SHA-1 pieces + SHA-256 name)  %8.0f\n"
                  "  alluvium-broadcaster generate, end to end (file in the page cache)  %8.0f\n",
                  mib, runs, sha1, sha256, builder, generate);
    alluvium::bench::publish_report(report, out + ".txt");
    // One bar each (gnuplot's boxes over x = 1..4, in the order of the report).
    alluvium::bench::plot_svg(out,
                              {"Hashing speed: 1 SHA-1, 2 SHA-256, 3 MetainfoBuilder, 4 generate",
                               "", "MB/s", false, "boxes"},
                              {{"MB/s", {{1, sha1}, {2, sha256}, {3, builder}, {4, generate}}}});
    return 0;
}
