// CPU readings for the benchmarks, from /proc: a process's threads and reaped children, the whole
// machine, and a wait for it to be quiet before a measurement.
#pragma once

#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace xvrrp::bench {

// CPU time of a process: every thread's run time (schedstat, in ns, exact) and, from
// /proc/PID/stat, the share of it spent in the kernel.
struct ProcessCpu {
    double seconds = 0;     // all threads, user + kernel
    double sys_share = 0;   // stime / (utime + stime), tick-sampled
    int threads = 0;
};
inline ProcessCpu process_cpu(pid_t pid) {
    ProcessCpu cpu;
    const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
    if (DIR* dir = ::opendir(task_dir.c_str())) {
        while (const dirent* e = ::readdir(dir)) {
            if (e->d_name[0] == '.') continue;
            std::ifstream in(task_dir + "/" + e->d_name + "/schedstat");
            unsigned long long run_ns = 0;
            if (in >> run_ns) {
                cpu.seconds += static_cast<double>(run_ns) / 1e9;
                ++cpu.threads;
            }
        }
        ::closedir(dir);
    }
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto close = text.rfind(')');
    if (close == std::string::npos) return cpu;
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stod(field);
        if (i == 15) stime = std::stod(field);
    }
    cpu.sys_share = utime + stime > 0 ? stime / (utime + stime) : 0;
    return cpu;
}

// CPU seconds of the children a process has reaped (cutime + cstime, in clock ticks): where a
// daemon's scripts' CPU lands.
inline double reaped_children_cpu(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 17 && rest >> field; ++i)
        if (i >= 16) ticks += std::stod(field);
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The whole machine's busy and total time, in seconds of CPU, from /proc/stat's first line.
struct SystemCpu {
    double busy = 0, steal = 0;
};
inline SystemCpu system_cpu() {
    std::ifstream in("/proc/stat");
    std::string label;
    in >> label;  // "cpu"
    std::vector<double> f;
    double v = 0;
    for (int i = 0; i < 8 && in >> v; ++i) f.push_back(v);
    f.resize(8, 0);
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait; steal
    // (time the hypervisor ran someone else) is reported apart, not counted as ours.
    return {(f[0] + f[1] + f[2] + f[5] + f[6]) / hz, f[7] / hz};
}

// Waits (at most 20 s) until the machine is nearly idle for a second: deleting a lab's namespaces
// goes on in a kernel worker after `ip netns del` returns, and it must not land in the next
// measurement.
inline void wait_for_quiet_machine() {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < limit) {
        const SystemCpu s0 = system_cpu();
        std::this_thread::sleep_for(std::chrono::seconds(1));
        if (system_cpu().busy - s0.busy < 0.05) return;
    }
}

}  // namespace xvrrp::bench
