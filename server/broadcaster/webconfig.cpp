// `webconfig`: the snippet that makes a web server send Alluvium playlists as
// application/x-alluvium and media with types players recognise. Each snippet is checked
// against the real server in tests/integration/webconfig_test.cpp.
#include "commands.hpp"

#include <cstdio>
#include <utility>

namespace alluvium::broadcaster {
namespace {

struct MediaType {
    const char* type;
    std::vector<const char*> extensions;
};

const std::vector<MediaType>& media_types() {
    static const std::vector<MediaType> types = {
        {"application/x-alluvium", {"rss"}},
        {"audio/mpeg", {"mp3"}},
        {"audio/ogg", {"ogg", "oga", "opus"}},
        {"audio/flac", {"flac"}},
        {"audio/wav", {"wav"}},
        {"audio/aac", {"aac"}},
        {"audio/mp4", {"m4a"}},
        {"audio/x-matroska", {"mka"}},
        {"video/mp4", {"mp4", "m4v"}},
        {"video/webm", {"webm"}},
        {"video/x-matroska", {"mkv"}},
        {"video/mp2t", {"ts"}},
        {"application/x-bittorrent", {"torrent"}},  // the swarm metadata beside each file
    };
    return types;
}

std::string extension_regex() {
    std::string out;
    for (const auto& t : media_types()) {
        for (const char* ext : t.extensions) {
            out += out.empty() ? "" : "|";
            out += ext;
        }
    }
    return out;
}

std::string nginx() {
    std::string s =
        "# Alluvium: playlists as application/x-alluvium, media with their types.\n"
        "# Put this inside the server { } block that serves the station's folder.\n"
        "# (A types { } block replaces the inherited map, so it is scoped to these files.)\n"
        "location ~* \\.(" +
        extension_regex() +
        ")$ {\n"
        "    types {\n";
    for (const auto& t : media_types()) {
        s += std::string("        ") + t.type;
        for (const char* ext : t.extensions) {
            s += std::string(" ") + ext;
        }
        s += ";\n";
    }
    s += "    }\n"
         "    add_header Access-Control-Allow-Origin *;\n"
         "}\n";
    return s;
}

std::string apache() {
    std::string s =
        "# Alluvium: playlists as application/x-alluvium, media with their types.\n"
        "# Put this in the server configuration, a <VirtualHost>, or the station folder's\n"
        "# .htaccess (that needs AllowOverride FileInfo).\n"
        "<IfModule mod_mime.c>\n";
    for (const auto& t : media_types()) {
        s += std::string("    AddType ") + t.type;
        for (const char* ext : t.extensions) {
            s += std::string(" .") + ext;
        }
        s += "\n";
    }
    s += "</IfModule>\n"
         "<IfModule mod_headers.c>\n"
         "    <FilesMatch \"\\.(" +
         extension_regex() +
         ")$\">\n"
         "        Header set Access-Control-Allow-Origin \"*\"\n"
         "    </FilesMatch>\n"
         "</IfModule>\n";
    return s;
}

std::string lighttpd() {
    std::string s =
        "# Alluvium: playlists as application/x-alluvium, media with their types.\n"
        "# Append to lighttpd.conf. The condition keeps the global mimetype.assign intact.\n"
        "$HTTP[\"url\"] =~ \"\\.(" +
        extension_regex() +
        ")$\" {\n"
        "    mimetype.assign = (\n";
    bool first = true;
    for (const auto& t : media_types()) {
        for (const char* ext : t.extensions) {
            s += std::string(first ? "" : ",\n") + "        \"." + ext + "\" => \"" + t.type + "\"";
            first = false;
        }
    }
    s += "\n    )\n"
         "}\n";
    return s;
}

std::string caddy() {
    std::string s =
        "# Alluvium: playlists as application/x-alluvium, media with their types.\n"
        "# Put this inside the site block that runs file_server for the station's folder.\n";
    for (const auto& t : media_types()) {
        std::string name = t.type;
        for (char& c : name) {
            if (c == '/' || c == '-' || c == '.') {
                c = '_';
            }
        }
        s += "@alluvium_" + name + " path";
        for (const char* ext : t.extensions) {
            s += std::string(" *.") + ext;
        }
        s += "\nheader @alluvium_" + name + " Content-Type " + t.type + "\n";
    }
    s += "@alluvium_media path_regexp \\.(" + extension_regex() +
         ")$\n"
         "header @alluvium_media Access-Control-Allow-Origin *\n";
    return s;
}

}  // namespace

std::optional<std::string> webconfig_snippet(const std::string& server) {
    if (server == "nginx")
        return nginx();
    if (server == "apache")
        return apache();
    if (server == "lighttpd")
        return lighttpd();
    if (server == "caddy")
        return caddy();
    return std::nullopt;
}

int webconfig(const std::string& server) {
    const auto snippet = webconfig_snippet(server);
    if (!snippet) {
        std::fprintf(stderr, "webconfig: unknown server '%s' (apache, nginx, lighttpd, caddy)\n",
                     server.c_str());
        return 2;
    }
    std::fwrite(snippet->data(), 1, snippet->size(), stdout);
    return 0;
}

}  // namespace alluvium::broadcaster
