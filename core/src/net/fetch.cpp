// HTTP(S) requests on libcurl's easy interface, and local file reads.
#include <alluvium/error.hpp>
#include <alluvium/fetch.hpp>
#include <alluvium/text.hpp>
#include <alluvium/version.hpp>

#include "../common/log.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>

namespace alluvium {
namespace {

void init_curl() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    HttpResponse* response = nullptr;
    const HttpRequest* request = nullptr;
    CURL* handle = nullptr;
    enum class Body { undecided, stream, keep } body = Body::undecided;
    std::size_t received = 0;
    bool overflow = false;
    bool refused_by_sink = false;
    bool refused_address = false;
    std::string refused_ip;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    if (t->received + n > t->request->max_body_bytes) {
        t->overflow = true;
        return 0;  // makes curl fail with CURLE_WRITE_ERROR
    }
    t->received += n;
    if (t->body == Transfer::Body::undecided) {
        // Only a successful answer is streamed to the receiver; an error page is kept so
        // the caller can show it.
        long status = 0;
        curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
        t->body = t->request->on_body && status >= 200 && status <= 299 ? Transfer::Body::stream
                                                                        : Transfer::Body::keep;
        if (t->body == Transfer::Body::stream && t->request->on_head) {
            t->response->status = status;
            t->request->on_head(*t->response);
        }
    }
    if (t->body == Transfer::Body::stream) {
        if (!t->request->on_body(std::string_view(data, n))) {
            t->refused_by_sink = true;
            return 0;
        }
        return n;
    }
    // A streaming caller only needs the start of an error page.
    constexpr std::size_t error_page_limit = 64 * 1024;
    const std::size_t keep =
        t->request->on_body
            ? std::min(n, error_page_limit - std::min(error_page_limit, t->response->body.size()))
            : n;
    t->response->body.append(data, keep);
    return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* t = static_cast<Transfer*>(user);
    return t->request->cancel != nullptr && t->request->cancel->load() ? 1 : 0;
}

int on_connected(void* user, char* primary_ip, char* /*local_ip*/, int /*primary_port*/,
                 int /*local_port*/) {
    auto* t = static_cast<Transfer*>(user);
    const std::string ip = primary_ip != nullptr ? primary_ip : "";
    if (t->request->allow_address && !t->request->allow_address(ip)) {
        t->refused_address = true;
        t->refused_ip = ip;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return s;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    const std::string_view line(data, n);
    if (line.rfind("HTTP/", 0) == 0) {
        t->response->headers.clear();  // a new response after a redirect or 100-continue
        return n;
    }
    if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        t->response->headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                          std::string(trim(line.substr(colon + 1))));
    }
    return n;
}

struct CurlFree {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void set_error(std::error_code& ec, std::string* detail, errc code, std::string why) {
    ec = code;
    if (detail != nullptr) {
        *detail = std::move(why);
    }
}

}  // namespace

std::string HttpResponse::media_type() const {
    std::string_view type = content_type;
    if (const auto semi = type.find(';'); semi != std::string_view::npos) {
        type = type.substr(0, semi);
    }
    std::string out(trim(type));
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string HttpResponse::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            return value;
        }
    }
    return {};
}

bool is_url(std::string_view text) noexcept {
    const auto starts = [&](std::string_view p) {
        return text.size() > p.size() && iequals(text.substr(0, p.size()), p);
    };
    return starts("http://") || starts("https://");
}

namespace {

std::unique_ptr<curl_slist, SlistFree> request_headers(const HttpRequest& request) {
    std::unique_ptr<curl_slist, SlistFree> headers;
    const auto add_header = [&](const std::string& line) {
        headers.reset(curl_slist_append(headers.release(), line.c_str()));
    };
    if (!request.if_none_match.empty()) {
        add_header("If-None-Match: " + request.if_none_match);
    }
    if (!request.if_modified_since.empty()) {
        add_header("If-Modified-Since: " + request.if_modified_since);
    }
    for (const auto& [name, value] : request.headers) {
        add_header(name + ": " + value);
    }
    return headers;
}

// The request's method and body; false when the method is not one we send.
bool set_method(CURL* c, const HttpRequest& request) {
    curl_easy_setopt(c, CURLOPT_NOBODY, request.head_only || request.method == "HEAD" ? 1L : 0L);
    if (request.method == "POST") {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());  // not copied
        return true;
    }
    return request.method == "GET" || request.method == "HEAD";
}

// Everything else about the transfer (libcurl copies the strings it is given).
void set_options(CURL* c, const HttpRequest& request, Transfer& transfer, char* error_buffer) {
    const std::string agent = std::string("Alluvium/") + version_string();
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(request.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, agent.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
    if (request.cancel != nullptr) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
    }
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_connected);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, &transfer);
    if (request.range_from > 0 || request.range_to > 0) {
        const std::string range =
            std::to_string(request.range_from) + "-" +
            (request.range_to > 0 ? std::to_string(request.range_to) : std::string());
        curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
    }
    // Refuses at once when Content-Length already says too much.
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body_bytes));
    if (request.max_bytes_per_second > 0) {
        curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE,
                         static_cast<curl_off_t>(request.max_bytes_per_second));
    }
    if (request.stall_timeout.count() > 0) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                         std::max(1L, static_cast<long>(request.stall_timeout.count() / 1000)));
    }
}

// Why a finished transfer failed, if it did.
bool failed(CURLcode rc, const Transfer& transfer, const HttpRequest& request,
            const char* error_buffer, std::error_code& ec, std::string* detail) {
    if (transfer.refused_address) {
        set_error(ec, detail, errc::refused,
                  "the address " + transfer.refused_ip + " is not allowed");
    } else if (rc == CURLE_ABORTED_BY_CALLBACK && request.cancel != nullptr &&
               request.cancel->load()) {
        set_error(ec, detail, errc::refused, "cancelled");
    } else if (transfer.refused_by_sink) {
        set_error(ec, detail, errc::refused, "the transfer was stopped by its receiver");
    } else if (transfer.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
        set_error(
            ec, detail, errc::too_large,
            "the response is larger than " + std::to_string(request.max_body_bytes) + " bytes");
    } else if (rc != CURLE_OK) {
        set_error(ec, detail, errc::network_error,
                  error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc));
    } else {
        return false;
    }
    return true;
}

}  // namespace

HttpResponse http_request(const HttpRequest& request, std::error_code& ec, std::string* detail) {
    init_curl();
    ec.clear();
    HttpResponse response;
    if (!is_url(request.url)) {
        set_error(ec, detail, errc::invalid_argument, "not an http:// or https:// URL");
        return response;
    }
    std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
    if (!curl) {
        set_error(ec, detail, errc::network_error, "cannot create a libcurl handle");
        return response;
    }
    Transfer transfer;
    transfer.response = &response;
    transfer.request = &request;
    transfer.handle = curl.get();
    CURL* c = curl.get();
    if (!set_method(c, request)) {
        set_error(ec, detail, errc::invalid_argument, "unsupported method " + request.method);
        return response;
    }
    char error_buffer[CURL_ERROR_SIZE] = {};
    set_options(c, request, transfer, error_buffer);
    const auto headers = request_headers(request);
    if (headers) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    }
    const CURLcode rc = curl_easy_perform(c);
    if (failed(rc, transfer, request, error_buffer, ec, detail))
        return response;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    char* effective = nullptr;
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
    response.effective_url = effective != nullptr ? effective : request.url;
    response.content_type = response.header("Content-Type");
    response.etag = response.header("ETag");
    response.last_modified = response.header("Last-Modified");
    detail::log().debug("GET {} -> {} ({} bytes)", request.url, response.status, transfer.received);
    return response;
}

Document load_document(std::string_view path_or_url, std::size_t max_bytes, std::error_code& ec,
                       std::string* detail) {
    ec.clear();
    Document doc;
    doc.source = std::string(path_or_url);
    if (is_url(path_or_url)) {
        HttpRequest request;
        request.url = doc.source;
        request.max_body_bytes = max_bytes;
        HttpResponse response = http_request(request, ec, detail);
        if (ec) {
            return doc;
        }
        if (response.status < 200 || response.status > 299) {
            set_error(ec, detail, response.status == 404 ? errc::not_found : errc::http_error,
                      "HTTP status " + std::to_string(response.status));
            return doc;
        }
        doc.body = std::move(response.body);
        doc.content_type = std::move(response.content_type);
        return doc;
    }
    const std::filesystem::path path(doc.source);
    std::error_code fs_ec;
    if (!std::filesystem::is_regular_file(path, fs_ec)) {
        set_error(ec, detail, errc::not_found, "no such file");
        return doc;
    }
    const auto size = std::filesystem::file_size(path, fs_ec);
    if (fs_ec) {
        set_error(ec, detail, errc::io_error, fs_ec.message());
        return doc;
    }
    if (size > max_bytes) {
        set_error(ec, detail, errc::too_large,
                  "the file is " + std::to_string(size) + " bytes; the limit is " +
                      std::to_string(max_bytes));
        return doc;
    }
    std::ifstream in(path, std::ios::binary);
    doc.body.resize(static_cast<std::size_t>(size));
    if (!in.read(doc.body.data(), static_cast<std::streamsize>(size))) {
        set_error(ec, detail, errc::io_error, "cannot read the file");
        doc.body.clear();
    }
    return doc;
}

}  // namespace alluvium
