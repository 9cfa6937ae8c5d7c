// The metrics endpoint: cpp-httplib on threads of its own. What it shares with the loop is one
// shared_ptr to an immutable snapshot (under a mutex held for a pointer copy) and read-only
// duplicates of the counter maps' descriptors: a slow or stuck client can hold a worker, never
// the loop that sends adverts.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "xvrrp/metrics.hpp"

#ifndef XVRRP_VERSION
#define XVRRP_VERSION "unknown"
#endif

namespace xvrrp::metrics {

namespace {
// httplib matches a handler's path as a regular expression: the configured one is literal.
std::string literal_pattern(const std::string& path) {
    std::string out;
    for (const char c : path) {
        if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

constexpr int kWorkers = 4;             // scrapes are rare; a few slow clients do not block the next
constexpr time_t kIoTimeoutSeconds = 5;  // a client that stops reading is dropped after this
constexpr int kNice = 10;
}  // namespace

struct Server::Impl {
    explicit Impl(CounterReader c) : counters(std::move(c)) {}
    CounterReader counters;
    mutable std::mutex mutex;
    std::shared_ptr<const Snapshot> snapshot = std::make_shared<const Snapshot>();
    httplib::Server http;
    std::thread thread;
};

Server::Server(const config::Metrics& where, CounterReader counters) : impl_(std::make_unique<Impl>(std::move(counters))) {
    auto& http = impl_->http;
    // httplib owns the queue it is given (its API takes a raw pointer).
    http.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
    http.set_read_timeout(kIoTimeoutSeconds, 0);
    http.set_write_timeout(kIoTimeoutSeconds, 0);
    http.set_keep_alive_max_count(100);
    http.set_payload_max_length(4096);
    http.Get(literal_pattern(where.path), [this](const httplib::Request&, httplib::Response& res) {
        try {
            res.set_content(scrape(), "text/plain; version=0.0.4; charset=utf-8");
        } catch (const std::exception& e) {
            res.status = 500;
            res.set_content(std::string("reading the counters failed: ") + e.what() + "\n", "text/plain");
        }
    });
    const std::string host = where.address.to_string();
    errno = 0;
    if (!http.bind_to_port(host, where.port)) {
        const int err = errno;
        throw std::runtime_error("global.metrics: cannot listen on " +
                                 (where.address.family == Family::V6 ? "[" + host + "]" : host) + ":" +
                                 std::to_string(where.port) + (err ? std::string(": ") + std::strerror(err) : std::string()) +
                                 " (is the address on this host and the port free?)");
    }
    // Signals stay the loop's (its signalfd): the server's threads block them all.
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old);
    impl_->thread = std::thread([&http] {
        // Below the loop: on a busy machine a scrape waits, an advert does not. Its workers,
        // started from this thread, inherit the nice value.
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kNice);
        http.listen_after_bind();
    });
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    spdlog::info("metrics on http://{}:{}{}", where.address.family == Family::V6 ? "[" + host + "]" : host, where.port,
                 where.path);
}

Server::~Server() {
    impl_->http.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

void Server::publish(std::shared_ptr<const Snapshot> snapshot) {
    const std::lock_guard lock(impl_->mutex);
    impl_->snapshot = std::move(snapshot);
}

std::string Server::scrape() const {
    std::shared_ptr<const Snapshot> s;
    {
        const std::lock_guard lock(impl_->mutex);
        s = impl_->snapshot;
    }
    Readings r;
    r.dataplane = impl_->counters.stats();
    r.instances.reserve(s->routers.size());
    for (const Router& router : s->routers) r.instances.push_back(impl_->counters.instance_stats(router.slot));
    if (const xvrrp_ctl ctl = impl_->counters.control(); ctl.heartbeat_ns) {
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        const auto now_ns = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<std::uint64_t>(now.tv_nsec);
        r.heartbeat_age_seconds = now_ns > ctl.heartbeat_ns ? static_cast<double>(now_ns - ctl.heartbeat_ns) / 1e9 : 0.0;
    }
    r.process = read_process();
    return render(*s, r, XVRRP_VERSION);
}

}  // namespace xvrrp::metrics
