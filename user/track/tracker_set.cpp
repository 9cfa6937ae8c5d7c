#include "xvrrp/tracker_set.hpp"

#include <arpa/inet.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "xvrrp/error.hpp"
#include "xvrrp/http_probe.hpp"

namespace xvrrp {

namespace {
constexpr Nanos kNsPerMs = 1'000'000;

// Results that arrive by a handler (an exit, a connect, a reply, inotify) are stamped here.
Nanos now_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return Nanos(t.tv_sec) * 1'000'000'000 + Nanos(t.tv_nsec);
}
}  // namespace

// The part every kind shares: the definition, rise/fall, the result the instances see.
class TrackerSet::Check {
public:
    Check(std::string name, config::Tracker def, const Changed& changed)
        : name_(std::move(name)), def_(std::move(def)), changed_(changed), rise_fall_(def_.rise, def_.fall, def_.init_fail) {}
    virtual ~Check() = default;
    Check(const Check&) = delete;
    Check& operator=(const Check&) = delete;

    virtual void start(Nanos now) = 0;
    [[nodiscard]] virtual std::optional<Nanos> next_deadline() const = 0;
    virtual void on_timer(Nanos now) = 0;
    virtual void on_link(const std::string&, bool, Nanos) {}

    [[nodiscard]] const config::Tracker& def() const { return def_; }
    [[nodiscard]] TrackerView view() const {
        return TrackerView{.name = name_, .kind = def_.kind, .up = up(), .value = value_, .detail = detail_,
                           .checks = checks_, .failures = failures_, .duration_ns = duration_,
                           .durations = durations_};
    }
    [[nodiscard]] virtual bool up() const { return rise_fall_.up(); }
    // What the previous process's check had counted and found (an upgrade).
    void restore(const TrackerView& v) {
        checks_ = v.checks;
        failures_ = v.failures;
        durations_ = v.durations;
        value_ = v.value;
        detail_ = v.detail;
        rise_fall_.set(v.up);
        up_now_ = v.up;
    }
    [[nodiscard]] long long value() const { return value_; }

protected:
    // One result of a check: counted through rise/fall.
    void report(bool ok, std::string detail, Nanos now) {
        if (began_) {
            duration_ = now - *std::exchange(began_, std::nullopt);
            durations_.observe(duration_);
        }
        ++checks_;
        if (!ok) ++failures_;
        detail_ = std::move(detail);
        if (rise_fall_.feed(ok)) {
            spdlog::log(ok ? spdlog::level::info : spdlog::level::warn, "tracker {} is {} ({})", name_,
                        ok ? "up" : "down", detail_);
            changed_(name_, now);
        }
    }
    // A check is under way from now: its report says how long it took.
    void began(Nanos now) { began_ = now; }
    // A state set outright (interface trackers, after their delay).
    void set_up(bool up, std::string detail, Nanos now) {
        detail_ = std::move(detail);
        if (up == up_now_) return;
        up_now_ = up;
        spdlog::log(up ? spdlog::level::info : spdlog::level::warn, "tracker {} is {} ({})", name_, up ? "up" : "down",
                    detail_);
        changed_(name_, now);
    }
    void set_value(long long v, Nanos now) {
        ++checks_;
        if (v == value_) return;
        spdlog::info("tracker {} reads {} (was {})", name_, v, value_);
        value_ = v;
        detail_ = "reads " + std::to_string(v);
        changed_(name_, now);
    }
    // Periodic checks: the first run spread over the interval by the name, so that many trackers
    // do not all run at once.
    [[nodiscard]] Nanos first_run(Nanos now) const {
        const Nanos interval = Nanos{def_.interval_ms} * kNsPerMs;
        return now + std::hash<std::string>{}(name_) % interval;
    }
    [[nodiscard]] Nanos interval() const { return Nanos{def_.interval_ms} * kNsPerMs; }
    [[nodiscard]] Nanos timeout() const { return Nanos{def_.timeout_ms} * kNsPerMs; }

    std::string name_;
    config::Tracker def_;
    bool up_now_ = true;  // interface trackers

private:
    const Changed& changed_;
    track::RiseFall rise_fall_;
    long long value_ = 0;
    std::string detail_;
    std::uint64_t checks_ = 0, failures_ = 0;
    std::optional<Nanos> began_;
    Nanos duration_ = 0;  // of the last check that was timed
    DurationHistogram durations_;  // of every check that was timed
};

namespace {

using Check = TrackerSet::Check;

socklen_t to_sockaddr(const IpAddress& a, std::uint16_t port, sockaddr_storage& ss) {
    ss = {};
    if (a.family == Family::V4) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
        return sizeof(sockaddr_in);
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
    return sizeof(sockaddr_in6);
}

// A non-blocking TCP connect under way (or, rarely, done at once: the socket is writable then
// too); an invalid fd and the reason when it failed outright.
UniqueFd start_connect(const IpAddress& a, std::uint16_t port, std::string& error) {
    sockaddr_storage ss{};
    const socklen_t len = to_sockaddr(a, port, ss);
    UniqueFd fd(::socket(a.family == Family::V4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        error = std::string("socket: ") + std::strerror(errno);
        return fd;
    }
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
        error = std::strerror(errno);
        return UniqueFd();
    }
    return fd;
}

// How the connect ended, once the socket is writable: 0 or the errno.
int connect_error(int fd) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    return err;
}

// An interface: up with carrier and admin up; a change counts once it has lasted its delay.
class InterfaceCheck final : public Check {
public:
    InterfaceCheck(std::string name, config::Tracker def, const TrackerSet::Changed& changed, const TrackerSet::Ports& ports)
        : Check(std::move(name), std::move(def), changed), ports_(ports) {}
    void start(Nanos now) override {
        const bool up = ports_.link_up(def_.interface);
        up_now_ = up;
        set_up(up, def_.interface + (up ? " is up" : " is down"), now);
    }
    [[nodiscard]] bool up() const override { return up_now_; }
    void on_link(const std::string& ifname, bool up, Nanos now) override {
        if (ifname != def_.interface) return;
        if (up == up_now_) {
            pending_.reset();  // a flap shorter than the delay
            return;
        }
        const Nanos delay = Nanos{up ? def_.up_delay_ms : def_.down_delay_ms} * kNsPerMs;
        if (!delay) return set_up(up, def_.interface + (up ? " is up" : " is down"), now);
        pending_ = Pending{up, now + delay};
    }
    [[nodiscard]] std::optional<Nanos> next_deadline() const override {
        return pending_ ? std::optional(pending_->at) : std::nullopt;
    }
    void on_timer(Nanos now) override {
        if (!pending_ || now < pending_->at) return;
        const bool up = pending_->up;
        pending_.reset();
        set_up(up, def_.interface + (up ? " is up" : " is down"), now);
    }

private:
    struct Pending {
        bool up;
        Nanos at;
    };
    const TrackerSet::Ports& ports_;
    std::optional<Pending> pending_;
};

// A command run every interval; exit 0 succeeds. A run still going when the next is due is
// skipped; one that cannot start fails (said once, until it starts again).
class ScriptCheck final : public Check {
public:
    ScriptCheck(std::string name, config::Tracker def, const TrackerSet::Changed& changed, ProcessRunner& runner)
        : Check(std::move(name), std::move(def), changed), runner_(runner) {}
    ~ScriptCheck() override = default;  // a run in flight ends on its own; its result goes nowhere
    void start(Nanos now) override { next_run_ = first_run(now); }
    [[nodiscard]] std::optional<Nanos> next_deadline() const override { return next_run_; }
    void on_timer(Nanos now) override {
        if (now < next_run_) return;
        next_run_ = now + interval();
        if (run_ && runner_.running(*run_)) return;  // one run in flight
        try {
            auto alive = alive_;
            began(now);
            run_ = runner_.start(
                ProcessSpec{.argv = def_.command, .timeout = std::chrono::milliseconds(def_.timeout_ms), .user = def_.user},
                [this, alive](ProcessRunner::Id, const ProcessResult& r) {
                    if (!*alive) return;
                    report(r.ok(), r.describe(), now_ns());
                },
                now);
            cannot_run_ = false;
        } catch (const std::exception& e) {
            if (!cannot_run_) spdlog::error("tracker {}: cannot run {}: {}", name_, def_.command[0], e.what());
            cannot_run_ = true;
            report(false, std::string("cannot run: ") + e.what(), now);
        }
    }
    void retire() { *alive_ = false; }

private:
    ProcessRunner& runner_;
    Nanos next_run_ = 0;
    std::optional<ProcessRunner::Id> run_;
    bool cannot_run_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // the result of a run outliving us is dropped
};

// A check every interval that is one exchange on a TCP connection of its own, at most one in
// flight, the timeout covering all of it (tcp, http). begin() starts it with connect(); its
// handler ends it with finish() (a result) or fail().
class SocketCheck : public Check {
public:
    SocketCheck(std::string name, config::Tracker def, const TrackerSet::Changed& changed, EventLoop& loop)
        : Check(std::move(name), std::move(def), changed), loop_(loop) {}
    ~SocketCheck() override { release_socket(); }
    void start(Nanos now) override { next_run_ = first_run(now); }
    [[nodiscard]] std::optional<Nanos> next_deadline() const override {
        return fd_ ? std::min(next_run_, deadline_) : next_run_;
    }
    void on_timer(Nanos now) override {
        if (fd_ && now >= deadline_) fail("timed out", now);
        if (now < next_run_) return;
        next_run_ = now + interval();
        if (!fd_) begin(now);
    }

protected:
    virtual void begin(Nanos now) = 0;
    // A non-blocking connect; on_ready runs when the socket is writable (connected or refused).
    // False (and reported) when it failed outright.
    bool connect(const IpAddress& address, std::uint16_t port, Nanos now, EventLoop::Handler on_ready) {
        std::string error;
        began(now);
        fd_ = start_connect(address, port, error);
        if (!fd_) {
            report(false, error, now);
            return false;
        }
        deadline_ = now + timeout();
        loop_.add(fd_.get(), std::move(on_ready), EPOLLOUT);
        return true;
    }
    void finish(bool ok, std::string detail, Nanos now) {
        close();
        report(ok, std::move(detail), now);
    }
    void fail(std::string why, Nanos now) { finish(false, std::move(why), now); }
    // Ends the exchange; kinds that hold more than the socket release it too.
    virtual void close() { release_socket(); }
    void release_socket() {
        if (!fd_) return;
        loop_.remove(fd_.get());
        fd_.reset();
    }

    EventLoop& loop_;
    UniqueFd fd_;

private:
    Nanos next_run_ = 0, deadline_ = 0;
};

// A TCP connect every interval: connected within the timeout succeeds.
class TcpCheck final : public SocketCheck {
public:
    using SocketCheck::SocketCheck;

private:
    void begin(Nanos now) override {
        connect(*def_.address, def_.port, now, [this] {
            const int err = connect_error(fd_.get());
            finish(err == 0, err == 0 ? "connected" : std::strerror(err), now_ns());
        });
    }
};

}  // namespace

// One raw socket per address family for every ICMP tracker (keepalived's checker forks nothing
// for PING_CHECK either): echo requests carry each tracker's own id, and replies are handed to the
// tracker whose id they carry. Opened on first use, so a daemon without icmp trackers has none.
class TrackerSet::IcmpChannel {
public:
    using Reply = std::function<void(std::uint16_t seq, const IpAddress& from)>;
    explicit IcmpChannel(EventLoop& loop) : loop_(loop) {}
    ~IcmpChannel() {
        for (auto& fd : fds_)
            if (fd) loop_.remove(fd.get());
    }
    IcmpChannel(const IcmpChannel&) = delete;
    IcmpChannel& operator=(const IcmpChannel&) = delete;

    // A free id and the tracker that hears its replies.
    std::uint16_t subscribe(Reply reply) {
        while (!next_id_ || subscribers_.count(next_id_)) ++next_id_;
        subscribers_[next_id_] = std::move(reply);
        return next_id_++;
    }
    void unsubscribe(std::uint16_t id) { subscribers_.erase(id); }

    // Sends an echo request; throws what the socket or sendto says.
    void send(const IpAddress& to, std::uint16_t id, std::uint16_t seq) {
        const bool v4 = to.family == Family::V4;
        const int fd = socket(v4);
        std::uint8_t pkt[16] = {};
        pkt[0] = v4 ? 8 : 128;  // echo request
        pkt[4] = static_cast<std::uint8_t>(id >> 8);
        pkt[5] = static_cast<std::uint8_t>(id);
        pkt[6] = static_cast<std::uint8_t>(seq >> 8);
        pkt[7] = static_cast<std::uint8_t>(seq);
        if (v4) {  // ICMPv6's checksum the kernel fills in
            std::uint32_t sum = 0;
            for (std::size_t i = 0; i < sizeof(pkt); i += 2) sum += std::uint32_t(pkt[i]) << 8 | pkt[i + 1];
            while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
            const auto c = static_cast<std::uint16_t>(~sum);
            pkt[2] = static_cast<std::uint8_t>(c >> 8);
            pkt[3] = static_cast<std::uint8_t>(c);
        }
        sockaddr_storage ss{};
        const socklen_t len = to_sockaddr(to, 0, ss);
        if (::sendto(fd, pkt, sizeof(pkt), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0) throw_errno(errno, "send");
    }

private:
    int socket(bool v4) {
        UniqueFd& fd = fds_[v4 ? 0 : 1];
        if (fd) return fd.get();
        fd = UniqueFd(::socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                               v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6}));
        if (!fd) throw_errno(errno, "icmp socket");
        if (v4) {
            std::uint32_t filter = ~(1u << 0);  // ICMP_FILTER: pass echo replies (type 0) only
            ::setsockopt(fd.get(), SOL_RAW, 1 /* ICMP_FILTER */, &filter, sizeof(filter));
        } else {
            icmp6_filter filter;
            ICMP6_FILTER_SETBLOCKALL(&filter);
            ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
            ::setsockopt(fd.get(), IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
        }
        loop_.add(fd.get(), [this, v4] { receive(v4); });
        return fd.get();
    }
    void receive(bool v4) {
        std::uint8_t buf[1500];
        sockaddr_storage from{};
        socklen_t flen = sizeof(from);
        ssize_t n;
        while ((n = ::recvfrom(fds_[v4 ? 0 : 1].get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen)) > 0) {
            flen = sizeof(from);
            std::size_t off = 0;
            if (v4) off = std::size_t(buf[0] & 0x0f) * 4;  // a raw IPv4 socket gets the IP header
            if (std::size_t(n) < off + 8) continue;
            const std::uint8_t* icmp = buf + off;
            if (icmp[0] != (v4 ? 0 : 129)) continue;  // echo reply
            const auto id = static_cast<std::uint16_t>(icmp[4] << 8 | icmp[5]);
            const auto seq = static_cast<std::uint16_t>(icmp[6] << 8 | icmp[7]);
            const auto it = subscribers_.find(id);
            if (it == subscribers_.end()) continue;
            IpAddress src;
            src.family = v4 ? Family::V4 : Family::V6;
            if (v4) std::memcpy(src.bytes.data(), &reinterpret_cast<const sockaddr_in&>(from).sin_addr, 4);
            else std::memcpy(src.bytes.data(), &reinterpret_cast<const sockaddr_in6&>(from).sin6_addr, 16);
            const Reply reply = it->second;  // the callback may unsubscribe
            reply(seq, src);
        }
    }
    EventLoop& loop_;
    std::array<UniqueFd, 2> fds_;  // IPv4, IPv6
    std::map<std::uint16_t, Reply> subscribers_;
    std::uint16_t next_id_ = static_cast<std::uint16_t>(::getpid());
};

namespace {

// An ICMP echo every interval (no fork, no ping) through the shared channel: a reply from the
// address, with this tracker's id and the last sequence number, within the timeout succeeds.
class IcmpCheck final : public Check {
public:
    IcmpCheck(std::string name, config::Tracker def, const TrackerSet::Changed& changed, TrackerSet::IcmpChannel& channel)
        : Check(std::move(name), std::move(def), changed), channel_(channel),
          id_(channel.subscribe([this](std::uint16_t seq, const IpAddress& from) { reply(seq, from); })) {}
    ~IcmpCheck() override { channel_.unsubscribe(id_); }
    void start(Nanos now) override { next_run_ = first_run(now); }
    [[nodiscard]] std::optional<Nanos> next_deadline() const override {
        return waiting_ ? std::min(next_run_, deadline_) : next_run_;
    }
    void on_timer(Nanos now) override {
        if (waiting_ && now >= deadline_) {
            waiting_ = false;
            report(false, "no reply", now);
        }
        if (now < next_run_) return;
        next_run_ = now + interval();
        if (waiting_) return;
        began(now);
        try {
            channel_.send(*def_.address, id_, ++seq_);
        } catch (const std::exception& e) {
            return report(false, e.what(), now);
        }
        waiting_ = true;
        deadline_ = now + timeout();
    }

private:
    void reply(std::uint16_t seq, const IpAddress& from) {
        if (!waiting_ || seq != seq_ || from != *def_.address) return;
        waiting_ = false;
        report(true, "echo reply", now_ns());
    }
    TrackerSet::IcmpChannel& channel_;
    std::uint16_t id_;
    std::uint16_t seq_ = 0;
    bool waiting_ = false;
    Nanos next_run_ = 0, deadline_ = 0;
};

// One client context for every https check: no verification of the server's certificate, as
// keepalived's SSL_GET (it checks that the service answers, not who it is).
SSL_CTX* tls_context() {
    static const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx = [] {
        std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> c(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
        if (c) SSL_CTX_set_verify(c.get(), SSL_VERIFY_NONE, nullptr);
        return c;
    }();
    if (!ctx) throw std::runtime_error("TLS is not available");
    return ctx.get();
}

std::string tls_error(const char* what) {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    char buf[256] = "";
    if (e) ERR_error_string_n(e, buf, sizeof(buf));
    return std::string(what) + (e ? std::string(": ") + buf : "");
}

// keepalived's HTTP_GET / SSL_GET without a fork: connect, TLS for https, GET, read the reply
// through the bounded parser (http_probe.hpp), all on the loop's epoll. Up when the status is in
// a range and, with a digest, the body's MD5 matches. One exchange in flight; the timeout covers
// all of it.
class HttpCheck final : public SocketCheck {
public:
    using SocketCheck::SocketCheck;
    ~HttpCheck() override { close(); }

private:
    enum class Stage { Connecting, Handshake, Writing, Reading };

    void begin(Nanos now) override {
        if (!connect(def_.url.address, def_.url.port, now, [this] { step(); })) return;
        stage_ = Stage::Connecting;
        out_ = http::request(def_.url, def_.host);
        parser_.emplace(!def_.digest.empty());
        events_ = EPOLLOUT;
    }
    void watch(std::uint32_t events) {
        if (events != events_) loop_.modify(fd_.get(), events);
        events_ = events;
    }
    // Every readiness moves the exchange on as far as it can go without waiting.
    void step() {
        const Nanos now = now_ns();
        if (stage_ == Stage::Connecting) {
            if (const int err = connect_error(fd_.get())) return fail(std::strerror(err), now);
            if (def_.url.tls) {
                ssl_.reset(SSL_new(tls_context()));
                if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1) return fail(tls_error("TLS setup"), now);
                if (!def_.host.empty() && !IpAddress::parse(def_.host))
                    SSL_set_tlsext_host_name(ssl_.get(), def_.host.c_str());
                stage_ = Stage::Handshake;
            } else {
                stage_ = Stage::Writing;
            }
        }
        if (stage_ == Stage::Handshake) {
            const int r = SSL_connect(ssl_.get());
            if (r != 1) {
                if (!wait_tls(r)) return fail(tls_error("TLS handshake"), now);
                return;
            }
            stage_ = Stage::Writing;
        }
        if (stage_ == Stage::Writing) {
            while (!out_.empty()) {
                const ssize_t n = ssl_ ? SSL_write(ssl_.get(), out_.data(), int(out_.size()))
                                       : ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
                if (n <= 0) {
                    if (ssl_ ? wait_tls(int(n)) : (errno == EAGAIN || errno == EWOULDBLOCK)) return watch(ssl_ ? events_ : EPOLLOUT);
                    return fail(ssl_ ? tls_error("TLS write") : std::string("send: ") + std::strerror(errno), now);
                }
                out_.erase(0, std::size_t(n));
            }
            stage_ = Stage::Reading;
            watch(EPOLLIN);
        }
        read_reply(now);
    }
    // After an SSL call that did not finish: true when it waits for the socket (watched now).
    bool wait_tls(int ret) {
        const int e = SSL_get_error(ssl_.get(), ret);
        if (e == SSL_ERROR_WANT_READ) return watch(EPOLLIN), true;
        if (e == SSL_ERROR_WANT_WRITE) return watch(EPOLLOUT), true;
        return false;
    }
    void read_reply(Nanos now) {
        char buf[16384];
        for (;;) {
            const ssize_t n = ssl_ ? SSL_read(ssl_.get(), buf, int(sizeof(buf))) : ::recv(fd_.get(), buf, sizeof(buf), 0);
            http::ResponseParser::Result r;
            if (n > 0) {
                r = parser_->feed(std::string_view(buf, std::size_t(n)));
            } else if (ssl_) {
                const int e = SSL_get_error(ssl_.get(), int(n));
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return (void)wait_tls(int(n));
                // A close with or without close_notify: the end of the reply either way.
                if (e != SSL_ERROR_ZERO_RETURN && !(e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
                    return fail(tls_error("TLS read"), now);
                r = parser_->end_of_stream();
            } else if (n == 0) {
                r = parser_->end_of_stream();
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            } else {
                return fail(std::string("recv: ") + std::strerror(errno), now);
            }
            if (r == http::ResponseParser::Result::More) continue;
            if (r == http::ResponseParser::Result::Bad) return fail("bad reply: " + parser_->error(), now);
            return judge(now);
        }
    }
    void judge(Nanos now) {
        const int status = parser_->status();
        if (!http::status_ok(def_.status, status)) return finish(false, "HTTP " + std::to_string(status), now);
        if (!def_.digest.empty()) {
            const std::string got = http::md5_hex(parser_->body());
            if (got != def_.digest) return finish(false, "HTTP " + std::to_string(status) + ", digest " + got, now);
        }
        finish(true, "HTTP " + std::to_string(status), now);
    }
    void close() override {
        ssl_.reset();
        parser_.reset();
        release_socket();
    }
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl_{nullptr, &SSL_free};
    Stage stage_ = Stage::Connecting;
    std::uint32_t events_ = 0;
    std::string out_;
    std::optional<http::ResponseParser> parser_;
};

// How many processes of a name run: /proc/*/stat, read whole at each call (a few hundred small
// reads: what keepalived's initial scan does too). A zombie (killed, not yet reaped) does not run.
std::uint32_t count_processes(const std::string& name) {
    const std::string want = "(" + name.substr(0, 15) + ") ";  // the kernel keeps 15 characters
    std::uint32_t n = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
        const std::string pid = it->path().filename();
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream f(it->path() / "stat");
        std::string stat;
        if (!std::getline(f, stat)) continue;
        const auto open = stat.find('(');
        const auto close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) continue;
        if (stat.compare(open, close + 2 - open, want) == 0 && stat[close + 2] != 'Z') ++n;
    }
    return n;
}

}  // namespace

// keepalived's vrrp_track_process: the proc connector (netlink) says when a process starts,
// execs, is renamed or exits, and each process tracker then counts again within 50 ms instead of
// at its next interval. The connector lives in the initial network namespace only: elsewhere (a
// daemon in a namespace) the trackers count every interval, and say so once.
class TrackerSet::ProcEvents {
public:
    ProcEvents(EventLoop& loop, std::function<void()> changed) : loop_(loop), changed_(std::move(changed)) {
        UniqueFd fd(::socket(PF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR));
        sockaddr_nl sa{};
        sa.nl_family = AF_NETLINK;
        sa.nl_groups = CN_IDX_PROC;
        if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
            spdlog::info("process trackers: no proc connector here ({}): counting every interval", std::strerror(errno));
            return;
        }
        // nlmsghdr, cn_msg, then the operation: LISTEN.
        alignas(nlmsghdr) std::uint8_t req[NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op))] = {};
        auto* nl = reinterpret_cast<nlmsghdr*>(req);
        nl->nlmsg_len = sizeof(req);
        nl->nlmsg_type = NLMSG_DONE;
        auto* cn = static_cast<cn_msg*>(NLMSG_DATA(nl));
        cn->id.idx = CN_IDX_PROC;
        cn->id.val = CN_VAL_PROC;
        cn->len = sizeof(proc_cn_mcast_op);
        const proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
        std::memcpy(cn->data, &op, sizeof(op));
        if (::send(fd.get(), req, sizeof(req), 0) != static_cast<ssize_t>(sizeof(req))) {
            spdlog::info("process trackers: the proc connector refused ({}): counting every interval", std::strerror(errno));
            return;
        }
        fd_ = std::move(fd);
        loop_.add(fd_.get(), [this] { receive(); });
    }
    ~ProcEvents() {
        if (fd_) loop_.remove(fd_.get());
    }
    ProcEvents(const ProcEvents&) = delete;
    ProcEvents& operator=(const ProcEvents&) = delete;
    [[nodiscard]] bool listening() const { return static_cast<bool>(fd_); }

private:
    void receive() {
        alignas(nlmsghdr) char buf[8192];
        bool relevant = false;
        for (ssize_t n; (n = ::recv(fd_.get(), buf, sizeof(buf), 0)) != 0;) {
            if (n < 0) {
                if (errno == ENOBUFS) relevant = true;  // events lost: count again
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno != ENOBUFS) break;
                continue;
            }
            for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, static_cast<unsigned>(n)); nh = NLMSG_NEXT(nh, n)) {
                const auto* cn = static_cast<const cn_msg*>(NLMSG_DATA(nh));
                if (cn->id.idx != CN_IDX_PROC || cn->len < sizeof(proc_event)) continue;
                const auto* ev = reinterpret_cast<const proc_event*>(cn->data);
                if (ev->what == proc_event::PROC_EVENT_EXEC || ev->what == proc_event::PROC_EVENT_EXIT ||
                    ev->what == proc_event::PROC_EVENT_COMM)
                    relevant = true;
            }
        }
        if (relevant) changed_();
    }
    EventLoop& loop_;
    std::function<void()> changed_;
    UniqueFd fd_;
};

namespace {

// Up while quorum..quorum_max processes of the name run, counted every interval and, where the
// proc connector reports, within 50 ms of a process starting or ending.
class ProcessCheck final : public Check {
public:
    ProcessCheck(std::string name, config::Tracker def, const TrackerSet::Changed& changed)
        : Check(std::move(name), std::move(def), changed) {}
    void start(Nanos now) override {
        count(now);
        next_run_ = now + interval();
    }
    [[nodiscard]] std::optional<Nanos> next_deadline() const override { return next_run_; }
    void on_timer(Nanos now) override {
        if (now < next_run_) return;
        next_run_ = now + interval();
        count(now);
    }
    // A process started or ended somewhere: count again soon (events come in bursts).
    void poke(Nanos now) { next_run_ = std::min(next_run_, now + 50 * kNsPerMs); }

private:
    void count(Nanos now) {
        began(now);
        const std::uint32_t n = count_processes(def_.process);
        const bool ok = n >= def_.quorum && (def_.quorum_max == 0 || n <= def_.quorum_max);
        report(ok, std::to_string(n) + " running", now_ns());
    }
    Nanos next_run_ = 0;
};

// A number in a file, re-read when inotify says the directory changed and every interval.
class FileCheck final : public Check {
public:
    FileCheck(std::string name, config::Tracker def, const TrackerSet::Changed& changed, EventLoop& loop)
        : Check(std::move(name), std::move(def), changed), loop_(loop) {}
    ~FileCheck() override {
        if (inotify_) loop_.remove(inotify_.get());
    }
    void start(Nanos now) override {
        watch();
        read(now);
        next_read_ = now + interval();
    }
    [[nodiscard]] std::optional<Nanos> next_deadline() const override { return next_read_; }
    void on_timer(Nanos now) override {
        if (now < next_read_) return;
        next_read_ = now + interval();
        if (!watching_) watch();
        read(now);
    }

private:
    void watch() {
        if (!inotify_) {
            inotify_ = UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
            if (!inotify_) return;
            loop_.add(inotify_.get(), [this] { on_inotify(); });
        }
        const std::string dir = std::filesystem::path(def_.path).parent_path().string();
        watching_ = ::inotify_add_watch(inotify_.get(), dir.c_str(),
                                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY |
                                            IN_DELETE_SELF | IN_MOVE_SELF) >= 0;
    }
    void on_inotify() {
        alignas(inotify_event) char buf[4096];
        bool self_gone = false;
        ssize_t n;
        while ((n = ::read(inotify_.get(), buf, sizeof(buf))) > 0)
            for (char* p = buf; p < buf + n;) {
                const auto* ev = reinterpret_cast<const inotify_event*>(p);
                if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) self_gone = true;
                p += sizeof(inotify_event) + ev->len;
            }
        if (self_gone) watching_ = false;  // the directory went: watched again at the next interval
        read(now_ns());
    }
    void read(Nanos now) {
        std::ifstream f(def_.path);
        std::string text;
        if (f) {
            text.resize(64);
            f.read(text.data(), static_cast<std::streamsize>(text.size()));
            text.resize(static_cast<std::size_t>(f.gcount()));
        }
        set_value(track::parse_file_value(text), now);  // missing, empty or garbage: 0
    }
    EventLoop& loop_;
    UniqueFd inotify_;
    bool watching_ = false;
    Nanos next_read_ = 0;
};

}  // namespace

TrackerSet::TrackerSet(Ports ports, Changed changed) : ports_(std::move(ports)), changed_(std::move(changed)) {}

TrackerSet::~TrackerSet() {
    for (auto& [name, e] : checks_)
        if (auto* s = dynamic_cast<ScriptCheck*>(e.check.get())) s->retire();
}

void TrackerSet::requeue(const Entry& e) { queue_.set(e.key, e.check->next_deadline()); }

// A deadline moved earlier by a handler: requeued here, since requeue() trusts only later ones.
void TrackerSet::processes_changed() {
    const Nanos now = now_ns();
    for (auto& [name, e] : checks_)
        if (auto* p = dynamic_cast<ProcessCheck*>(e.check.get())) {
            p->poke(now);
            requeue(e);
        }
}

void TrackerSet::configure(const std::map<std::string, config::Tracker>& defs, Nanos now) {
    for (auto it = checks_.begin(); it != checks_.end();) {
        const auto d = defs.find(it->first);
        if (d != defs.end() && d->second == it->second.check->def()) {
            ++it;
            continue;
        }
        if (auto* s = dynamic_cast<ScriptCheck*>(it->second.check.get())) s->retire();
        queue_.cancel(it->second.key);
        by_key_.erase(it->second.key);
        it = checks_.erase(it);
    }
    for (const auto& [name, def] : defs) {
        if (checks_.count(name)) continue;
        std::unique_ptr<Check> c;
        switch (def.kind) {
            case config::TrackerKind::Interface: c = std::make_unique<InterfaceCheck>(name, def, changed_, ports_); break;
            case config::TrackerKind::Script: c = std::make_unique<ScriptCheck>(name, def, changed_, ports_.runner); break;
            case config::TrackerKind::Tcp: c = std::make_unique<TcpCheck>(name, def, changed_, ports_.loop); break;
            case config::TrackerKind::File: c = std::make_unique<FileCheck>(name, def, changed_, ports_.loop); break;
            case config::TrackerKind::Icmp:
                if (!icmp_) icmp_ = std::make_unique<IcmpChannel>(ports_.loop);
                c = std::make_unique<IcmpCheck>(name, def, changed_, *icmp_);
                break;
            case config::TrackerKind::Http: c = std::make_unique<HttpCheck>(name, def, changed_, ports_.loop); break;
            case config::TrackerKind::Process:
                if (!proc_events_) proc_events_ = std::make_unique<ProcEvents>(ports_.loop, [this] { processes_changed(); });
                c = std::make_unique<ProcessCheck>(name, def, changed_);
                break;
        }
        Check& ref = *c;
        const TimerQueue::Key key = next_key_++;
        by_key_[key] = &ref;
        const Entry& e = checks_.emplace(name, Entry{std::move(c), key}).first->second;
        ref.start(now);
        requeue(e);
    }
}

void TrackerSet::on_link(const std::string& ifname, bool up, Nanos now) {
    for (auto& [name, e] : checks_) {
        if (e.check->def().kind != config::TrackerKind::Interface) continue;
        e.check->on_link(ifname, up, now);
        requeue(e);
    }
}

std::optional<Nanos> TrackerSet::next_deadline() const { return queue_.next(); }

void TrackerSet::on_timer(Nanos now) {
    for (const TimerQueue::Key key : queue_.pop_due(now)) {
        Check* c = by_key_.at(key);
        c->on_timer(now);
        queue_.set(key, c->next_deadline());
    }
}

track::Effect TrackerSet::effect(const config::TrackUse& use) const {
    const auto it = checks_.find(use.tracker);
    if (it == checks_.end()) return {};
    const Check& c = *it->second.check;
    if (c.def().kind == config::TrackerKind::File) return track::file_effect(c.value(), use.weight, use.reverse);
    return track::up_down_effect(use.weight, use.reverse, c.up());
}

std::string TrackerSet::fault_reason(const config::TrackUse& use) const {
    const auto it = checks_.find(use.tracker);
    if (it == checks_.end()) return "tracker " + use.tracker;
    const TrackerView v = it->second.check->view();
    if (v.kind == config::TrackerKind::File) return "tracker " + use.tracker + " reads " + std::to_string(v.value);
    return "tracker " + use.tracker + " is " + (v.up ? "up (reversed)" : "down") +
           (v.detail.empty() ? "" : ": " + v.detail);
}

void TrackerSet::restore(const std::vector<TrackerView>& views) {
    for (const TrackerView& v : views)
        if (const auto it = checks_.find(v.name); it != checks_.end() && it->second.check->def().kind == v.kind)
            it->second.check->restore(v);
}

std::vector<TrackerView> TrackerSet::views() const {
    std::vector<TrackerView> out;
    for (const auto& [name, e] : checks_) out.push_back(e.check->view());
    return out;
}

}  // namespace xvrrp
