// The pure half of the http tracker (keepalived's HTTP_GET / SSL_GET): the URL, the request, an
// incremental response parser that never trusts the peer (bounded headers and body, every
// malformed reply a failure, never a crash), the status ranges and genhash's MD5 digest. The
// socket and TLS half is tracker_set.cpp's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xvrrp/packet.hpp"

namespace xvrrp::http {

struct Url {
    bool tls = false;  // https
    IpAddress address;
    std::uint16_t port = 80;
    std::string path = "/";  // with the query
    std::string authority;   // as written: "192.0.2.1:8080", "[2001:db8::1]"
    bool operator==(const Url&) const = default;
};

// "http://192.0.2.1:8080/health?full=1", "https://[2001:db8::1]/". IP literals only (the daemon
// resolves no names); throws std::invalid_argument saying what is wrong.
Url parse_url(const std::string& text);

struct StatusRange {
    int lo = 200, hi = 299;
    bool operator==(const StatusRange&) const = default;
};
// 200 or "200-299"; throws std::invalid_argument.
StatusRange parse_status(const std::string& text);
[[nodiscard]] bool status_ok(const std::vector<StatusRange>& ranges, int code);

// GET with Host (the given one, else the URL's authority) and Connection: close.
std::string request(const Url& url, const std::string& host);

// Lower-case hex MD5 of the bytes, as keepalived's genhash prints it.
std::string md5_hex(std::string_view bytes);

// A response read piece by piece: the status line, the headers, then (only when the body is
// wanted, for a digest) the body by Content-Length, chunked, or up to the end of the stream.
class ResponseParser {
public:
    static constexpr std::size_t kMaxHeader = 16 * 1024;
    static constexpr std::size_t kMaxBody = 4 * 1024 * 1024;
    enum class Result { More, Done, Bad };

    explicit ResponseParser(bool want_body) : want_body_(want_body) {}
    Result feed(std::string_view data);
    Result end_of_stream();  // the peer closed

    [[nodiscard]] int status() const { return status_; }
    [[nodiscard]] const std::string& body() const { return body_; }
    [[nodiscard]] const std::string& error() const { return error_; }

private:
    enum class Stage { Head, Body, Chunks, Done, Bad };
    Result bad(std::string why);
    Result parse_head();
    Result parse_chunks();
    Result result() const;

    bool want_body_;
    Stage stage_ = Stage::Head;
    std::string buf_;  // what is not parsed yet
    int status_ = 0;
    std::optional<std::size_t> length_;  // Content-Length
    std::string body_;
    std::string error_;
};

}  // namespace xvrrp::http
