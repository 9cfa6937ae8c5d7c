// The http tracker's pure half: URLs (IP literals only), status ranges, the request, genhash's
// digest, and a response parser fed whole, byte by byte and hostile.
#include "xvrrp/http_probe.hpp"

#include <gtest/gtest.h>

#include <random>

namespace xvrrp::http {
namespace {

TEST(HttpProbe, UrlsAreIpLiteralsWithPortAndPath) {
    const Url a = parse_url("http://192.0.2.1:8080/health?full=1");
    EXPECT_FALSE(a.tls);
    EXPECT_EQ(a.address, IpAddress::from("192.0.2.1"));
    EXPECT_EQ(a.port, 8080);
    EXPECT_EQ(a.path, "/health?full=1");
    EXPECT_EQ(a.authority, "192.0.2.1:8080");
    const Url b = parse_url("https://[2001:db8::1]");
    EXPECT_TRUE(b.tls);
    EXPECT_EQ(b.port, 443);
    EXPECT_EQ(b.path, "/");
    EXPECT_EQ(b.address, IpAddress::from("2001:db8::1"));
    EXPECT_EQ(parse_url("http://[2001:db8::2]:81/x").port, 81);
    EXPECT_EQ(parse_url("http://198.51.100.7").port, 80);

    for (const char* bad : {"ftp://192.0.2.1/", "http://example.com/", "http://192.0.2.1:0/", "http://192.0.2.1:70000/",
                            "http://192.0.2.1:/", "http://[2001:db8::1/", "http://2001:db8::1/", "http:///x",
                            "http://192.0.2.1/a b", "192.0.2.1"})
        EXPECT_THROW(parse_url(bad), std::invalid_argument) << bad;
    try {
        parse_url("http://www.example.com/");
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()), "\"www.example.com\" is not an IP address (no host names)");
    }
}

TEST(HttpProbe, StatusCodesAndRanges) {
    EXPECT_EQ(parse_status("200"), (StatusRange{200, 200}));
    EXPECT_EQ(parse_status("200-299"), (StatusRange{200, 299}));
    for (const char* bad : {"", "20", "600", "299-200", "2xx", "200-", "-200", "200-299-300"})
        EXPECT_THROW(parse_status(bad), std::invalid_argument) << bad;
    const std::vector<StatusRange> r{{200, 299}, {301, 301}};
    EXPECT_TRUE(status_ok(r, 204));
    EXPECT_TRUE(status_ok(r, 301));
    EXPECT_FALSE(status_ok(r, 302));
    EXPECT_FALSE(status_ok(r, 503));
}

TEST(HttpProbe, TheRequestClosesTheConnectionAndNamesTheHost) {
    const Url u = parse_url("http://192.0.2.1:8080/health");
    EXPECT_EQ(request(u, ""), "GET /health HTTP/1.1\r\nHost: 192.0.2.1:8080\r\nUser-Agent: xvrrpd\r\nAccept: */*\r\n"
                              "Connection: close\r\n\r\n");
    EXPECT_NE(request(u, "www.example.com").find("\r\nHost: www.example.com\r\n"), std::string::npos);
}

TEST(HttpProbe, DigestIsGenhashsMd5Hex) {
    EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(md5_hex("The quick brown fox jumps over the lazy dog"), "9e107d9d372bb6826bd81d3542a419d6");
}

// Fed whole, then byte by byte: the same result.
struct Fed {
    ResponseParser::Result result;
    int status;
    std::string body;
    std::string error;
};
Fed feed(const std::string& reply, bool want_body, std::size_t piece, bool close_after = true) {
    ResponseParser p(want_body);
    ResponseParser::Result r = ResponseParser::Result::More;
    for (std::size_t i = 0; i < reply.size() && r == ResponseParser::Result::More; i += piece)
        r = p.feed(std::string_view(reply).substr(i, piece));
    if (r == ResponseParser::Result::More && close_after) r = p.end_of_stream();
    return Fed{r, p.status(), p.body(), p.error()};
}

TEST(HttpProbe, RepliesByLengthChunkedAndToTheEnd) {
    using R = ResponseParser::Result;
    const std::string by_length = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\n\r\n";
    const std::string to_end = "HTTP/1.0 503 Service Unavailable\nServer: x\n\nbusy";
    for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{4096}}) {
        const Fed a = feed(by_length, true, piece, false);
        EXPECT_EQ(a.result, R::Done) << piece;
        EXPECT_EQ(a.body, "hello");
        const Fed b = feed(chunked, true, piece, false);
        EXPECT_EQ(b.result, R::Done) << piece << b.error;
        EXPECT_EQ(b.body, "hello");
        const Fed c = feed(to_end, true, piece);
        EXPECT_EQ(c.result, R::Done) << piece;
        EXPECT_EQ(c.status, 503);
        EXPECT_EQ(c.body, "busy");
    }
    // Without a digest the headers are enough.
    const Fed headers_only = feed("HTTP/1.1 204 No Content\r\n\r\n", false, 1, false);
    EXPECT_EQ(headers_only.result, R::Done);
    EXPECT_EQ(headers_only.status, 204);
}

TEST(HttpProbe, GarbageTruncationAndFloodsAreFailuresNotCrashes) {
    using R = ResponseParser::Result;
    EXPECT_EQ(feed("SSH-2.0-OpenSSH_9.2\r\n", true, 4).error, "not an HTTP reply");
    EXPECT_EQ(feed("HTTP/1.1 2000 OK\r\n\r\n", true, 4).error, "bad status line");
    EXPECT_EQ(feed("HTTP/1.1 20 OK\r\n\r\n", true, 4).error, "bad status line");
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", true, 4).error, "bad Content-Length");
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", true, 4).error, "bad Content-Length");
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, 4).error, "closed after 5 of 10 bytes");
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true, 4).error, "bad chunk size");
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", true, 4).error,
              "chunk not followed by a line break");
    EXPECT_EQ(feed("", true, 4).error, "closed without a reply");
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nX: y", true, 4).error, "closed in the headers");
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", true, 4).result, R::Bad);
    // Endless headers, an endless body: bounded.
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\n" + std::string(20000, 'a'), true, 1000).result, R::Bad);
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\n\r\n" + std::string(ResponseParser::kMaxBody + 1, 'a'), true, 65536).error,
              "body larger than 4194304 bytes");
    // Random bytes after a valid status line, in random pieces: a verdict, never a crash.
    std::mt19937 rng(20261205);
    for (int i = 0; i < 2000; ++i) {
        std::string reply = "HTTP/1.1 200 OK\r\n";
        const std::size_t n = rng() % 200;
        constexpr std::string_view kAlphabet = "\r\n:0123456789abcdef ;Content-Length:chunked";
        for (std::size_t k = 0; k < n; ++k) reply += kAlphabet[rng() % kAlphabet.size()];
        const Fed f = feed(reply, true, 1 + rng() % 7);
        EXPECT_NE(f.result, R::More);
    }
}

}  // namespace
}  // namespace xvrrp::http
