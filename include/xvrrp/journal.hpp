// journald's native protocol (systemd.journal-fields(7), "Native Journal Protocol") without
// libsystemd: one datagram per entry to /run/systemd/journal/socket, MESSAGE and PRIORITY plus
// fields of our own, so `journalctl XVRRP_INSTANCE=gateway` finds an instance's transitions.
// A spdlog sink: the daemon's log calls stay as they are; fields for the next lines come from a
// JournalFields scope on the same thread.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xvrrp/unique_fd.hpp"

namespace xvrrp {

using JournalField = std::pair<std::string, std::string>;  // NAME (A-Z, 0-9, _), value

// Extra fields for every line logged on this thread while it lives (scopes nest).
class JournalFields {
public:
    explicit JournalFields(std::vector<JournalField> fields);
    ~JournalFields();
    JournalFields(const JournalFields&) = delete;
    JournalFields& operator=(const JournalFields&) = delete;
    // Those in force on this thread now, outermost first.
    [[nodiscard]] static std::vector<JournalField> current();

private:
    std::size_t depth_;
};

// One entry in the native format: "NAME=value\n", or NAME\n + 64-bit little-endian length + value
// + \n where the value holds a newline.
[[nodiscard]] std::string journal_entry(const std::vector<JournalField>& fields);

// Where the journal is: $XVRRP_JOURNAL_SOCKET (tests) or /run/systemd/journal/socket.
[[nodiscard]] std::string journal_socket_path();

// True when stderr is the journal's stream for this service: $JOURNAL_STREAM names stderr's
// device and inode (systemd.exec(5)), so lines written to a redirected stderr stay there.
[[nodiscard]] bool stderr_is_journal_stream();

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    // identifier: SYSLOG_IDENTIFIER. fallback: where a line goes when the journal refuses it.
    JournalSink(const std::string& socket_path, std::string identifier, spdlog::sink_ptr fallback);

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;

private:
    UniqueFd fd_;
    sockaddr_un addr_{};
    socklen_t addr_len_ = 0;
    std::string identifier_;
    spdlog::sink_ptr fallback_;
};

}  // namespace xvrrp
