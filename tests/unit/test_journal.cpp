// journald's native protocol: the entry format (plain and binary-safe fields), field scopes,
// JOURNAL_STREAM's device:inode check, the sink (to a socket of the test's own) and its fallback
// when the journal is not there; and the limiter of floodable log lines.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "xvrrp/journal.hpp"
#include "xvrrp/log_limit.hpp"

using namespace xvrrp;

TEST(Journal, EntryFormat) {
    EXPECT_EQ(journal_entry({{"MESSAGE", "hello"}, {"PRIORITY", "6"}}), "MESSAGE=hello\nPRIORITY=6\n");
    const std::string e = journal_entry({{"MESSAGE", "two\nlines"}});
    const std::string expected = std::string("MESSAGE\n") + std::string("\x09\0\0\0\0\0\0\0", 8) + "two\nlines\n";
    EXPECT_EQ(e, expected) << "a value with a newline: length-prefixed, 64-bit little endian";
}

TEST(Journal, FieldScopesNestAndUnwind) {
    EXPECT_TRUE(JournalFields::current().empty());
    {
        const JournalFields outer(std::vector<JournalField>{{"XVRRP_INSTANCE", "gateway"}});
        {
            const JournalFields inner(std::vector<JournalField>{{"XVRRP_STATE", "MASTER"}});
            const auto now = JournalFields::current();
            ASSERT_EQ(now.size(), 2u);
            EXPECT_EQ(now[0].first, "XVRRP_INSTANCE");
            EXPECT_EQ(now[1].second, "MASTER");
        }
        EXPECT_EQ(JournalFields::current().size(), 1u);
    }
    EXPECT_TRUE(JournalFields::current().empty());
}

TEST(Journal, JournalStreamMustNameStderr) {
    struct stat st{};
    ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
    ::unsetenv("JOURNAL_STREAM");
    EXPECT_FALSE(stderr_is_journal_stream());
    ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1)).c_str(), 1);
    EXPECT_FALSE(stderr_is_journal_stream()) << "stderr redirected elsewhere: not the journal's";
    ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
    EXPECT_TRUE(stderr_is_journal_stream());
    ::unsetenv("JOURNAL_STREAM");
}

namespace {
struct DatagramSocket {
    explicit DatagramSocket(std::string p) : path(std::move(p)), fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) throw std::runtime_error("bind");
        timeval tv{.tv_sec = 1, .tv_usec = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    ~DatagramSocket() {
        ::close(fd);
        ::unlink(path.c_str());
    }
    std::string receive() const {
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }
    std::string path;
    int fd;
};
}  // namespace

TEST(Journal, SinkSendsFieldsAndFallsBackWhenTheJournalIsGone) {
    const std::string path = std::filesystem::temp_directory_path() / ("xvrrp-journal-" + std::to_string(::getpid()));
    std::ostringstream fallback_text;
    auto fallback = std::make_shared<spdlog::sinks::ostream_sink_mt>(fallback_text);
    {
        DatagramSocket journal(path);
        auto sink = std::make_shared<JournalSink>(path, "xvrrpd", fallback);
        spdlog::logger log("t", sink);
        {
            const JournalFields fields(std::vector<JournalField>{{"XVRRP_INSTANCE", "gateway"}, {"XVRRP_STATE", "MASTER"}});
            log.warn("({}) Entering MASTER STATE", "gateway");
        }
        const std::string entry = journal.receive();
        EXPECT_NE(entry.find("MESSAGE=(gateway) Entering MASTER STATE\n"), std::string::npos) << entry;
        EXPECT_NE(entry.find("PRIORITY=4\n"), std::string::npos) << entry;
        EXPECT_NE(entry.find("SYSLOG_IDENTIFIER=xvrrpd\n"), std::string::npos);
        EXPECT_NE(entry.find("XVRRP_INSTANCE=gateway\n"), std::string::npos);
        EXPECT_NE(entry.find("XVRRP_STATE=MASTER\n"), std::string::npos);
        log.error("no fields now");
        const std::string plain = journal.receive();
        EXPECT_NE(plain.find("PRIORITY=3\n"), std::string::npos);
        EXPECT_EQ(plain.find("XVRRP_"), std::string::npos) << "the scope is over";
        EXPECT_EQ(fallback_text.str(), "");
    }
    // The socket is gone: the line is written to the fallback, not lost.
    auto sink = std::make_shared<JournalSink>(path, "xvrrpd", fallback);
    spdlog::logger log("t", sink);
    log.info("journal gone");
    EXPECT_NE(fallback_text.str().find("journal gone"), std::string::npos);
}

TEST(LogLimit, BurstThenCountedThenSaid) {
    LogLimit limit(2, 1000);
    EXPECT_EQ(limit.allow(0), 0u);
    EXPECT_EQ(limit.allow(1), 0u);
    EXPECT_FALSE(limit.allow(2));
    EXPECT_FALSE(limit.allow(3));
    EXPECT_FALSE(limit.allow(999));
    EXPECT_EQ(limit.allow(1000), 3u) << "a new period: the first line says how many were held back";
    EXPECT_EQ(limit.allow(1001), 0u);
}
