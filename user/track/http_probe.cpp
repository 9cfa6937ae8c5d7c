#include "xvrrp/http_probe.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <stdexcept>

namespace xvrrp::http {

namespace {

std::optional<long> number(std::string_view s, int base = 10) {
    long v = 0;
    if (s.empty()) return std::nullopt;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

}  // namespace

Url parse_url(const std::string& text) {
    Url u;
    std::string_view rest = text;
    if (rest.starts_with("http://")) {
        rest.remove_prefix(7);
    } else if (rest.starts_with("https://")) {
        rest.remove_prefix(8);
        u.tls = true;
        u.port = 443;
    } else {
        throw std::invalid_argument("must start with http:// or https://");
    }
    const auto slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) u.path = std::string(rest.substr(slash));
    u.authority = std::string(authority);
    std::string_view host = authority, port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) throw std::invalid_argument("unclosed [ in the address");
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') throw std::invalid_argument("expected :port after ]");
            port = after.substr(1);
        }
    } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    const auto address = IpAddress::parse(host);
    if (!address) throw std::invalid_argument("\"" + std::string(host) + "\" is not an IP address (no host names)");
    if (authority.find(':') != std::string_view::npos && !authority.starts_with('[') && address->family == Family::V6)
        throw std::invalid_argument("an IPv6 address goes in brackets");
    u.address = *address;
    if (!port.empty() || authority.ends_with(':')) {
        const auto p = number(port);
        if (!p || *p < 1 || *p > 65535) throw std::invalid_argument("port must be 1-65535");
        u.port = static_cast<std::uint16_t>(*p);
    }
    if (u.path.find_first_of(" \r\n") != std::string::npos) throw std::invalid_argument("the path has a space or line break");
    return u;
}

StatusRange parse_status(const std::string& text) {
    const auto dash = text.find('-');
    const auto lo = number(std::string_view(text).substr(0, dash));
    const auto hi = dash == std::string::npos ? lo : number(std::string_view(text).substr(dash + 1));
    if (!lo || !hi || *lo < 100 || *hi > 599 || *lo > *hi)
        throw std::invalid_argument("a status code 100-599 or a range \"200-299\", got \"" + text + "\"");
    return StatusRange{int(*lo), int(*hi)};
}

bool status_ok(const std::vector<StatusRange>& ranges, int code) {
    return std::any_of(ranges.begin(), ranges.end(), [code](const StatusRange& r) { return code >= r.lo && code <= r.hi; });
}

std::string request(const Url& url, const std::string& host) {
    return "GET " + url.path + " HTTP/1.1\r\nHost: " + (host.empty() ? url.authority : host) +
           "\r\nUser-Agent: xvrrpd\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

std::string md5_hex(std::string_view bytes) {
    const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1)
        throw std::runtime_error("MD5 is not available");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

// ---- the response ----

ResponseParser::Result ResponseParser::bad(std::string why) {
    stage_ = Stage::Bad;
    error_ = std::move(why);
    return Result::Bad;
}

ResponseParser::Result ResponseParser::result() const {
    if (stage_ == Stage::Done) return Result::Done;
    if (stage_ == Stage::Bad) return Result::Bad;
    return Result::More;
}

ResponseParser::Result ResponseParser::feed(std::string_view data) {
    if (stage_ == Stage::Done || stage_ == Stage::Bad) return result();
    buf_.append(data);
    if (stage_ == Stage::Head) {
        if (const Result r = parse_head(); r != Result::Done) return r;
    }
    if (stage_ == Stage::Chunks) return parse_chunks();
    if (stage_ == Stage::Body) {
        body_.append(buf_);
        buf_.clear();
        if (body_.size() > kMaxBody) return bad("body larger than " + std::to_string(kMaxBody) + " bytes");
        if (length_ && body_.size() >= *length_) {
            body_.resize(*length_);
            stage_ = Stage::Done;
        }
    }
    return result();
}

ResponseParser::Result ResponseParser::end_of_stream() {
    switch (stage_) {
        case Stage::Head: return bad(buf_.empty() ? "closed without a reply" : "closed in the headers");
        case Stage::Body:
            if (length_) return bad("closed after " + std::to_string(body_.size()) + " of " + std::to_string(*length_) + " bytes");
            stage_ = Stage::Done;  // no length: the body is what came
            return Result::Done;
        case Stage::Chunks: return bad("closed in a chunked body");
        default: return result();
    }
}

// "HTTP/1.1 200 OK" and the headers; Done once they are read (the stage says what follows).
ResponseParser::Result ResponseParser::parse_head() {
    if (!std::string_view(buf_).substr(0, 5).starts_with(std::string_view("HTTP/").substr(0, std::min<std::size_t>(5, buf_.size()))))
        return bad("not an HTTP reply");
    auto end = buf_.find("\r\n\r\n");
    std::size_t sep = 4;
    if (end == std::string::npos) {
        end = buf_.find("\n\n");
        sep = 2;
    }
    if (end == std::string::npos) {
        if (buf_.size() > kMaxHeader) return bad("headers longer than " + std::to_string(kMaxHeader) + " bytes");
        return Result::More;
    }
    if (end > kMaxHeader) return bad("headers longer than " + std::to_string(kMaxHeader) + " bytes");
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + sep);
    std::string_view h = head;
    const auto eol = h.find('\n');
    const std::string_view status_line = trim(h.substr(0, eol));
    // HTTP/1.x SP 3DIGIT [SP reason]
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ')
        return bad("bad status line");
    const auto code = number(status_line.substr(9, 3));
    if (!code || *code < 100 || *code > 599 || (status_line.size() > 12 && status_line[12] != ' '))
        return bad("bad status line");
    status_ = int(*code);
    bool chunked = false;
    for (std::string_view rest = eol == std::string_view::npos ? std::string_view{} : h.substr(eol + 1); !rest.empty();) {
        const auto nl = rest.find('\n');
        const std::string_view line = trim(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            if (line.empty()) continue;
            return bad("bad header line");
        }
        const std::string name = lower(trim(line.substr(0, colon)));
        const std::string_view value = trim(line.substr(colon + 1));
        if (name == "content-length") {
            const auto n = number(value);
            if (!n || *n < 0 || (length_ && *length_ != std::size_t(*n))) return bad("bad Content-Length");
            length_ = std::size_t(*n);
        } else if (name == "transfer-encoding") {
            chunked = lower(value).find("chunked") != std::string::npos;
        }
    }
    if (!want_body_) {
        stage_ = Stage::Done;
        return Result::Done;
    }
    if (length_ && *length_ > kMaxBody) return bad("body larger than " + std::to_string(kMaxBody) + " bytes");
    stage_ = chunked ? Stage::Chunks : Stage::Body;
    if (stage_ == Stage::Body && length_ && *length_ == 0) stage_ = Stage::Done;
    return Result::Done;
}

// size CRLF data CRLF ... 0 CRLF [trailers] CRLF
ResponseParser::Result ResponseParser::parse_chunks() {
    for (;;) {
        const auto eol = buf_.find('\n');
        if (eol == std::string::npos) {
            if (buf_.size() > 1024) return bad("bad chunk size line");
            return Result::More;
        }
        std::string_view size_text = trim(std::string_view(buf_).substr(0, eol));
        size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
        const auto size = number(size_text, 16);
        if (!size || *size < 0) return bad("bad chunk size");
        if (*size == 0) {  // the last chunk; trailers are not needed
            stage_ = Stage::Done;
            return Result::Done;
        }
        if (body_.size() + std::size_t(*size) > kMaxBody) return bad("body larger than " + std::to_string(kMaxBody) + " bytes");
        const std::size_t need = eol + 1 + std::size_t(*size);
        if (buf_.size() < need + 1) return Result::More;
        std::size_t after = need;
        if (buf_[after] == '\r' && ++after >= buf_.size()) return Result::More;
        if (buf_[after] != '\n') return bad("chunk not followed by a line break");
        body_.append(buf_, eol + 1, std::size_t(*size));
        buf_.erase(0, after + 1);
    }
}

}  // namespace xvrrp::http
