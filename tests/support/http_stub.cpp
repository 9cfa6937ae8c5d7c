// xvrrp-http-stub: the service an http tracker checks in the labs, standing in for nginx.
//   xvrrp-http-stub ADDRESS PORT DIR [--tls CERT KEY] [--raw]
// Every GET is answered from files in DIR, read at each request so a test switches the service
// by writing them: `status` (default 200), `body` (default "ok\n"), and `hang` (present: the
// request is held unanswered, a wedged service). With --raw it is no HTTP server at all: each
// connection gets the bytes of DIR/raw and is closed (a garbage reply, or a fixed valid one served
// faster than cpp-httplib's backlog of 5 allows: the benchmarks' thousand checks a second).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <httplib.h>

namespace {

std::string read_file(const std::string& path, const std::string& fallback) {
    std::ifstream f(path);
    if (!f) return fallback;
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// Answers every connection with DIR/raw's bytes, whatever it asked.
int serve_raw(const std::string& address, int port, const std::string& dir) {
    const bool v6 = address.find(':') != std::string::npos;
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
        len = sizeof(*a);
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, address.c_str(), &a->sin_addr);
        len = sizeof(*a);
    }
    // A deep backlog: a benchmark's thousand checks a second connect in bursts.
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 4096) != 0) {
        std::perror("bind/listen");
        return 1;
    }
    for (;;) {
        const int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) continue;
        char buf[4096];
        (void)::recv(c, buf, sizeof(buf), 0);
        const std::string reply = read_file(dir + "/raw", "");
        (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(c);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: xvrrp-http-stub ADDRESS PORT DIR [--tls CERT KEY] [--raw]\n";
        return 2;
    }
    const std::string address = argv[1], dir = argv[3];
    const int port = std::atoi(argv[2]);
    std::string cert, key;
    for (int i = 4; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--raw") return serve_raw(address, port, dir);
        if (a == "--tls" && i + 2 < argc) {
            cert = argv[++i];
            key = argv[++i];
        }
    }
    std::unique_ptr<httplib::Server> server;
    if (cert.empty()) server = std::make_unique<httplib::Server>();
    else server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    server->Get(".*", [&](const httplib::Request&, httplib::Response& res) {
        while (std::filesystem::exists(dir + "/hang")) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        res.status = std::atoi(read_file(dir + "/status", "200").c_str());
        res.set_content(read_file(dir + "/body", "ok\n"), "text/plain");
    });
    if (!server->listen(address.c_str(), port)) {
        std::cerr << "xvrrp-http-stub: cannot listen on " << address << ":" << port << "\n";
        return 1;
    }
    return 0;
}
