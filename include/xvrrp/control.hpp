// The control socket: a unix stream socket speaking one JSON request line and one
// JSON response line per connection ({"command": "status"} -> {"ok": true, "result": ...}).
// Non-blocking and bounded: a client that connects and never reads, or never writes,
// costs a buffer and is closed at its deadline; it never holds up the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "xvrrp/event_loop.hpp"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp {

struct ControlLimits {
    std::size_t max_clients = 16;
    std::size_t max_request = 4096;             // one line
    std::size_t max_response = 64 << 20;        // bytes buffered for one client
    std::uint64_t client_timeout_ns = 5'000'000'000;
};

class ControlServer {
public:
    // Answers a request; throws std::exception for an error response.
    using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

    // Binds path (mode 0660; group when given); handlers run on loop.
    ControlServer(EventLoop& loop, const std::string& path, const std::optional<std::string>& group, Handler handler,
                  ControlLimits limits = {});
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Closes clients past their deadline; the earliest deadline left, if any.
    std::optional<std::uint64_t> expire(std::uint64_t now_ns);
    // When expire() next has work: the earliest client deadline (a scan of the few clients).
    [[nodiscard]] std::optional<std::uint64_t> next_expiry() const;
    [[nodiscard]] std::size_t clients() const { return clients_.size(); }

    // The reply to one request line (for tests without a socket).
    static std::string respond(const std::string& line, const Handler& handler);

private:
    struct Client {
        UniqueFd fd;
        std::string in;
        std::string out;
        std::size_t sent = 0;
        std::uint64_t deadline = 0;
        bool answered = false;
    };
    void accept_clients();
    void serve(int fd);
    void close_client(int fd);

    EventLoop& loop_;
    std::string path_;
    Handler handler_;
    ControlLimits limits_;
    UniqueFd listener_;
    std::map<int, Client> clients_;
};

}  // namespace xvrrp
