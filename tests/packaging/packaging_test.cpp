// Installing Alluvium the two ways a user does: `cmake --install` (then a third-party
// program builds against it with CMake and with pkg-config), and the Debian packages CPack
// makes (installed with apt-get on this machine, checked, and purged).
#include "process.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace alluvium::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path build_dir = ALLUVIUM_BUILD_DIR;
const fs::path source_dir = ALLUVIUM_SOURCE_DIR;
const std::string version = ALLUVIUM_VERSION;
const fs::path example = source_dir / "examples/whats-on";
const fs::path playlist = source_dir / "tests/data/playlists/valid/full.rss";

// What whats-on must print for the test playlist at 17:30 UTC: the second hour's set.
void expect_whats_on(const RunResult& r) {
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("Evening & Night Radio (liballuvium-core " + version + ")"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("now: Set one at 29:00"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("next: News at 2026-12-24T18:05:00Z"), std::string::npos) << r.out;
}

RunResult build_example_with_cmake(const fs::path& work, const fs::path& prefix) {
    const RunResult configure = run({"cmake", "-S", example.string(), "-B", (work / "b").string(),
                                     "-G", "Ninja", "-DCMAKE_PREFIX_PATH=" + prefix.string()},
                                    2min);
    if (configure.exit_code != 0)
        return configure;
    return run({"cmake", "--build", (work / "b").string()}, 5min);
}

// The library's folder under an install prefix (lib/<multiarch> on Debian).
fs::path libdir_under(const fs::path& prefix) {
    for (const auto& e : fs::recursive_directory_iterator(prefix)) {
        if (e.path().filename() == "liballuvium-core.so")
            return e.path().parent_path();
    }
    return {};
}

TEST(Install, AThirdPartyProgramBuildsAgainstTheInstalledLibrary) {
    TempDir tmp;
    const fs::path prefix = tmp.path() / "prefix";
    for (const char* component : {"core", "dev"}) {
        const RunResult r = run({"cmake", "--install", build_dir.string(), "--prefix",
                                 prefix.string(), "--component", component},
                                2min);
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    const fs::path libdir = libdir_under(prefix);
    ASSERT_FALSE(libdir.empty()) << "no liballuvium-core.so installed";
    EXPECT_TRUE(fs::exists(prefix / "include/alluvium/tuner.hpp"));
    EXPECT_TRUE(fs::exists(prefix / "include/alluvium/version.hpp"));
    EXPECT_TRUE(fs::exists(libdir / "cmake/Alluvium/AlluviumConfig.cmake"));
    EXPECT_TRUE(fs::exists(libdir / "pkgconfig/alluvium-core.pc"));
    EXPECT_FALSE(fs::exists(prefix / "bin")) << "programs belong to other components";

    // A versioned soname: the file, its soname link, and the development link.
    const RunResult elf = run({"readelf", "-d", (libdir / "liballuvium-core.so").string()});
    const std::string soname = "liballuvium-core.so." + version.substr(0, version.rfind('.'));
    EXPECT_NE(elf.out.find("Library soname: [" + soname + "]"), std::string::npos) << elf.out;
    EXPECT_TRUE(fs::is_symlink(libdir / soname));
    EXPECT_TRUE(fs::is_regular_file(libdir / ("liballuvium-core.so." + version)));
    const RunResult deps = run({"readelf", "-d", (libdir / soname).string()});
    EXPECT_EQ(deps.out.find("RUNPATH"), std::string::npos)
        << "the build tree leaks into the install";

    // With CMake: find_package(Alluvium) and Alluvium::core.
    const RunResult built = build_example_with_cmake(tmp.path(), prefix);
    ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
    const std::map<std::string, std::string> env = {{"LD_LIBRARY_PATH", libdir.string()}};
    expect_whats_on(
        run({(tmp.path() / "b/whats-on").string(), playlist.string(), "2026-12-24T17:30:00Z"}, 30s,
            {}, env));

    // With pkg-config.
    const std::map<std::string, std::string> pc = {
        {"PKG_CONFIG_PATH", (libdir / "pkgconfig").string()}};
    const RunResult flags = run({"pkg-config", "--cflags", "--libs", "alluvium-core"}, 30s, {}, pc);
    ASSERT_EQ(flags.exit_code, 0) << flags.err;
    EXPECT_EQ(run({"pkg-config", "--modversion", "alluvium-core"}, 30s, {}, pc).out,
              version + "\n");
    const std::string exe = (tmp.path() / "whats-on-pc").string();
    const RunResult cc = run({"sh", "-c",
                              "c++ -std=c++20 \"$1\" -o \"$2\" $(pkg-config --cflags --libs "
                              "alluvium-core)",
                              "sh", (example / "main.cpp").string(), exe},
                             5min, {}, pc);
    ASSERT_EQ(cc.exit_code, 0) << cc.err;
    expect_whats_on(run({exe, playlist.string(), "2026-12-24T17:30:00Z"}, 30s, {}, env));
}

const std::vector<std::string> packages = {"alluvium-core", "liballuvium-core-dev",
                                           "alluvium-player", "alluvium-server"};

bool installed(const std::string& package) {
    const RunResult r = run({"dpkg-query", "-W", "-f=${Status}", package});
    return r.out.find("install ok installed") != std::string::npos;
}

// Purges the packages; also when the test ends early, whatever happened.
struct Purge {
    bool done = false;
    RunResult now() {
        done = true;
        std::vector<std::string> argv = {"apt-get", "purge", "-y", "-q"};
        argv.insert(argv.end(), packages.begin(), packages.end());
        return run(argv, 5min, {}, {{"DEBIAN_FRONTEND", "noninteractive"}});
    }
    ~Purge() {
        if (!done)
            now();
    }
};

TEST(Packages, InstallWithAptRunAndRegisterThePlayerForStations) {
    if (geteuid() != 0)
        GTEST_SKIP() << "installing packages needs root (CI runs as root)";
    for (const std::string& p : packages) {
        if (installed(p))
            GTEST_SKIP() << p << " is installed on this machine already; not touching it";
    }
    TempDir tmp;
    fs::permissions(tmp.path(), fs::perms::all);  // apt's sandbox user reads the files
    const RunResult cpack = run(
        {"cpack", "--config", (build_dir / "CPackConfig.cmake").string(), "-B",
         (tmp.path() / "work").string(), "-D", "CPACK_OUTPUT_FILE_PREFIX=" + tmp.path().string()},
        10min);
    ASSERT_EQ(cpack.exit_code, 0) << cpack.out << cpack.err;
    std::vector<std::string> debs;
    for (const std::string& p : packages) {
        const fs::path deb = tmp.path() / (p + "_" + version + "_amd64.deb");
        ASSERT_TRUE(fs::exists(deb)) << deb;
        debs.push_back(deb.string());
    }
    const RunResult depends =
        run({"dpkg-deb", "-f", debs[2], "Depends"});  // the player's dependencies
    EXPECT_NE(depends.out.find("alluvium-core (= " + version + ")"), std::string::npos)
        << depends.out;

    Purge purge;
    std::vector<std::string> argv = {"apt-get", "install", "-y", "-q", "--no-install-recommends"};
    argv.insert(argv.end(), debs.begin(), debs.end());
    const RunResult apt = run(argv, 10min, {}, {{"DEBIAN_FRONTEND", "noninteractive"}});
    ASSERT_EQ(apt.exit_code, 0) << apt.out << apt.err;
    for (const std::string& p : packages)
        EXPECT_TRUE(installed(p)) << p;

    // The programs run from /usr/bin with the packaged library.
    for (const std::string program :
         {"alluvium-broadcaster", "alluvium-gateway", "alluvium-tune"}) {
        const RunResult r = run({"/usr/bin/" + program, "--version"});
        EXPECT_EQ(r.exit_code, 0) << program << r.err;
        EXPECT_EQ(r.out, program + " " + version + "\n");
        const RunResult ldd = run({"ldd", "/usr/bin/" + program});
        EXPECT_NE(ldd.out.find("liballuvium-core.so"), std::string::npos) << ldd.out;
        EXPECT_EQ(ldd.out.find("not found"), std::string::npos) << ldd.out;
        EXPECT_EQ(ldd.out.find(build_dir.string()), std::string::npos) << ldd.out;
        EXPECT_TRUE(fs::exists("/usr/share/man/man1/" + program + ".1")) << program;
        EXPECT_TRUE(fs::exists("/usr/share/bash-completion/completions/" + program)) << program;
    }
    const RunResult player =
        run({"/usr/bin/alluvium-player", "--version"}, 30s, {}, {{"QT_QPA_PLATFORM", "offscreen"}});
    EXPECT_EQ(player.exit_code, 0) << player.err;
    EXPECT_NE(player.out.find(version), std::string::npos) << player.out;

    // The desktop knows the player handles stations, and tells a station from a news feed.
    const RunResult handler = run({"xdg-mime", "query", "default", "application/x-alluvium"});
    EXPECT_EQ(handler.out, "alluvium-player.desktop\n") << handler.err;
    const RunResult type = run({"xdg-mime", "query", "filetype", playlist.string()});
    EXPECT_EQ(type.out, "application/x-alluvium\n") << type.err;

    // The gateway's service: its user, its configuration, a unit systemd accepts.
    EXPECT_EQ(run({"getent", "passwd", "alluvium-gateway"}).exit_code, 0);
    EXPECT_TRUE(fs::exists("/etc/alluvium/gateway.toml"));
    if (have_program("systemd-analyze")) {
        const RunResult verify =
            run({"systemd-analyze", "verify", "/usr/lib/systemd/system/alluvium-gateway.service"});
        EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    }

    // The -dev package is enough to build a program.
    TempDir work;
    const RunResult built = build_example_with_cmake(work.path(), "/usr");
    ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
    expect_whats_on(
        run({(work.path() / "b/whats-on").string(), playlist.string(), "2026-12-24T17:30:00Z"}));

    // And all of it goes away again.
    const RunResult removed = purge.now();
    EXPECT_EQ(removed.exit_code, 0) << removed.out << removed.err;
    for (const std::string& p : packages)
        EXPECT_FALSE(installed(p)) << p;
    EXPECT_FALSE(fs::exists("/usr/bin/alluvium-gateway"));
    EXPECT_FALSE(fs::exists("/etc/alluvium/gateway.toml")) << "purge removes the configuration";
}

}  // namespace
}  // namespace alluvium::test
