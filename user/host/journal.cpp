#include "xvrrp/journal.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace xvrrp {

namespace {
thread_local std::vector<JournalField> tls_fields;

// syslog(3) priorities, as journalctl -p filters them.
int priority_of(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::critical: return 2;
        case spdlog::level::err: return 3;
        case spdlog::level::warn: return 4;
        case spdlog::level::info: return 6;
        default: return 7;  // debug, trace
    }
}
}  // namespace

JournalFields::JournalFields(std::vector<JournalField> fields) : depth_(tls_fields.size()) {
    for (auto& f : fields) tls_fields.push_back(std::move(f));
}

JournalFields::~JournalFields() { tls_fields.resize(depth_); }

std::vector<JournalField> JournalFields::current() { return tls_fields; }

std::string journal_entry(const std::vector<JournalField>& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (value.find('\n') == std::string::npos) {
            out += name + "=" + value + "\n";
            continue;
        }
        out += name + "\n";
        std::uint64_t n = value.size();
        for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
        out += value + "\n";
    }
    return out;
}

std::string journal_socket_path() {
    const char* p = std::getenv("XVRRP_JOURNAL_SOCKET");
    return p && *p ? p : "/run/systemd/journal/socket";
}

bool stderr_is_journal_stream() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream) return false;
    struct stat st{};
    if (::fstat(STDERR_FILENO, &st) != 0) return false;
    const std::string expected = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    return expected == stream;
}

JournalSink::JournalSink(const std::string& socket_path, std::string identifier, spdlog::sink_ptr fallback)
    : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)), identifier_(std::move(identifier)), fallback_(std::move(fallback)) {
    if (!fd_) throw std::runtime_error(std::string("journal socket: ") + std::strerror(errno));
    if (socket_path.size() >= sizeof(addr_.sun_path)) throw std::runtime_error("journal socket path too long: " + socket_path);
    addr_.sun_family = AF_UNIX;
    std::memcpy(addr_.sun_path, socket_path.data(), socket_path.size());
    addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path.size() + 1);
    // The journal may be slow to read; a blocked send waits (as stderr would), up to this long.
    timeval limit{.tv_sec = 0, .tv_usec = 200'000};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
}

void JournalSink::sink_it_(const spdlog::details::log_msg& msg) {
    std::vector<JournalField> fields{{"MESSAGE", std::string(msg.payload.data(), msg.payload.size())},
                                     {"PRIORITY", std::to_string(priority_of(msg.level))},
                                     {"SYSLOG_IDENTIFIER", identifier_}};
    for (auto& f : JournalFields::current()) fields.push_back(std::move(f));
    const std::string entry = journal_entry(fields);
    if (::sendto(fd_.get(), entry.data(), entry.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) < 0 &&
        fallback_)
        fallback_->log(msg);  // the journal is gone or full: the line is not lost
}

void JournalSink::flush_() {
    if (fallback_) fallback_->flush();
}

}  // namespace xvrrp
