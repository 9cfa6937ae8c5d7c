#include "xvrrp/control.hpp"

#include <grp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include "xvrrp/dataplane.hpp"
#include "xvrrp/error.hpp"

static_assert(EPOLLIN == 0x001, "EventLoop::add's default");

namespace xvrrp {

namespace {

UniqueFd listen_on(const std::string& path, const std::optional<std::string>& group) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    ::unlink(path.c_str());  // ours: the daemon lock says no other daemon owns it
    UniqueFd fd(check_sys(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "control socket"));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sa.sun_path)) throw std::runtime_error("control socket path too long: " + path);
    std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
    check_sys(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), "bind " + path);
    check_sys(::chmod(path.c_str(), 0660), "chmod " + path);
    if (group) {
        const ::group* g = ::getgrnam(group->c_str());
        if (!g) throw std::runtime_error("control socket group " + *group + " does not exist");
        check_sys(::chown(path.c_str(), 0, g->gr_gid), "chown " + path);
    }
    check_sys(::listen(fd.get(), 16), "listen " + path);
    return fd;
}

}  // namespace

ControlServer::ControlServer(EventLoop& loop, const std::string& path, const std::optional<std::string>& group,
                             Handler handler, ControlLimits limits)
    : loop_(loop), path_(path), handler_(std::move(handler)), limits_(limits), listener_(listen_on(path, group)) {
    // A failure here is one client's, never the loop's.
    loop_.add(listener_.get(), [this] {
        try {
            accept_clients();
        } catch (const std::exception& e) {
            spdlog::warn("control socket: {}", e.what());
        }
    });
}

ControlServer::~ControlServer() {
    for (auto& [fd, c] : clients_) loop_.remove(fd);
    loop_.remove(listener_.get());
}

std::string ControlServer::respond(const std::string& line, const Handler& handler) {
    nlohmann::json reply;
    try {
        const auto request = nlohmann::json::parse(line);
        if (!request.is_object() || !request.contains("command") || !request["command"].is_string())
            throw std::invalid_argument("a request is one JSON object with a \"command\" string");
        reply = {{"ok", true}, {"result", handler(request)}};
    } catch (const std::exception& e) {
        reply = {{"ok", false}, {"error", e.what()}};
    }
    return reply.dump() + "\n";
}

void ControlServer::accept_clients() {
    for (;;) {
        UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) return;
        if (clients_.size() >= limits_.max_clients) {
            spdlog::warn("control socket: {} clients already, refusing one more", clients_.size());
            continue;  // closed on scope exit
        }
        const int raw = fd.get();
        clients_[raw] = Client{.fd = std::move(fd), .deadline = monotonic_ns() + limits_.client_timeout_ns};
        loop_.add(raw, [this, raw] {
            try {
                serve(raw);
            } catch (const std::exception& e) {
                spdlog::warn("control client: {}", e.what());
                close_client(raw);
            }
        });
    }
}

void ControlServer::serve(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client& c = it->second;
    if (!c.answered) {
        char buf[4096];
        for (;;) {
            const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
            if (n > 0) {
                c.in.append(buf, static_cast<std::size_t>(n));
                if (c.in.size() > limits_.max_request && c.in.find('\n') == std::string::npos) {
                    c.in = "{}\n";  // answered with an error below
                    break;
                }
                continue;
            }
            if (n == 0 || errno != EAGAIN) return close_client(fd);  // gone before asking
            break;
        }
        const auto nl = c.in.find('\n');
        if (nl == std::string::npos) return;  // more to come
        c.out = respond(c.in.substr(0, nl), handler_);
        c.answered = true;
        if (c.out.size() > limits_.max_response)
            c.out = respond("", [](const nlohmann::json&) -> nlohmann::json { throw std::length_error("response too large"); });
    }
    while (c.sent < c.out.size()) {
        const ssize_t n = ::send(fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n > 0) {
            c.sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            loop_.modify(fd, EPOLLOUT);  // the rest when the client reads
            return;
        }
        break;  // the client went away
    }
    close_client(fd);
}

void ControlServer::close_client(int fd) {
    loop_.remove(fd);
    clients_.erase(fd);
}

std::optional<std::uint64_t> ControlServer::expire(std::uint64_t now_ns) {
    for (auto it = clients_.begin(); it != clients_.end();) {
        if (now_ns >= it->second.deadline) {
            loop_.remove(it->first);
            it = clients_.erase(it);
        } else {
            ++it;
        }
    }
    return next_expiry();
}

std::optional<std::uint64_t> ControlServer::next_expiry() const {
    std::optional<std::uint64_t> next;
    for (const auto& [fd, c] : clients_) next = next ? std::min(*next, c.deadline) : c.deadline;
    return next;
}

}  // namespace xvrrp
