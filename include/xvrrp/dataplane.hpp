// The XDP dataplane as the controller sees it: load (or re-open the pinned
// maps of) the xvrrp program, attach it to interfaces, write instances and
// VIPs, read counters and peer state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xvrrp/abi.h"
#include "xvrrp/bpf_map.hpp"
#include "xvrrp/counters.hpp"
#include "xvrrp/open_table.hpp"
#include "xvrrp/unique_fd.hpp"

struct xvrrp_bpf;

struct bpf_map;

namespace xvrrp {

enum class XdpMode { Auto, Native, Generic };

std::string_view to_string(XdpMode mode);

// One XDP attachment (a bpf_link). Unpinned, it detaches when destroyed, so
// no exit path leaves a program behind; pinned, it outlives the process until
// detach() is called (for restarts that must not move a VIP).
class XdpAttachment {
public:
    XdpAttachment() = default;
    static XdpAttachment attach(int prog_fd, unsigned ifindex, XdpMode mode);
    // The link pinned at pin_path (left by an earlier daemon, even a killed one) switched to
    // prog_fd without ever detaching, or else a new attachment pinned there.
    static XdpAttachment attach_pinned(int prog_fd, unsigned ifindex, XdpMode mode, const std::string& pin_path);

    void pin(const std::string& path);
    void detach();

    [[nodiscard]] unsigned ifindex() const { return ifindex_; }
    [[nodiscard]] XdpMode mode() const { return mode_; }
    [[nodiscard]] bool attached() const { return link_.valid(); }

private:
    UniqueFd link_;
    unsigned ifindex_ = 0;
    XdpMode mode_ = XdpMode::Auto;
    std::string pin_path_;
};

// A TC program on one interface (clsact, via netlink), detached when destroyed.
class TcAttachment {
public:
    enum class Hook { Ingress, Egress };
    TcAttachment() = default;
    static TcAttachment attach(int prog_fd, unsigned ifindex, Hook hook);
    TcAttachment(TcAttachment&& other) noexcept { *this = std::move(other); }
    TcAttachment& operator=(TcAttachment&& other) noexcept;
    TcAttachment(const TcAttachment&) = delete;
    TcAttachment& operator=(const TcAttachment&) = delete;
    ~TcAttachment() { detach(); }
    void detach();
    [[nodiscard]] bool attached() const { return ifindex_ != 0; }

private:
    unsigned ifindex_ = 0;
    Hook hook_ = Hook::Ingress;
};

struct DataplaneOptions {
    // Maps are pinned here by name and re-used when already there. Empty: nothing pinned.
    std::string pin_root = "/sys/fs/bpf/xvrrp";
    // A running daemon uses the pinned maps (an upgrade's new process): one of another layout is
    // an error, never replaced under it.
    bool refuse_other_layouts = false;
};

using StatsArray = std::array<xvrrp_counter, XVRRP_STAT_MAX>;

// Reads the dataplane's counters and heartbeat from another thread (the metrics server): it holds
// its own duplicates of the map descriptors, so it depends on no object of the loop's, and it
// only reads.
class CounterReader {
public:
    CounterReader(int stats_fd, int istats_fd, int ctl_fd);
    [[nodiscard]] StatsArray stats() const;
    [[nodiscard]] std::optional<xvrrp_inst_stats> instance_stats(std::uint32_t slot) const;
    [[nodiscard]] xvrrp_ctl control() const;

private:
    UniqueFd stats_, istats_, ctl_;
};

class Dataplane {
public:
    explicit Dataplane(DataplaneOptions options = {});
    ~Dataplane();
    Dataplane(Dataplane&&) noexcept;
    Dataplane& operator=(Dataplane&&) noexcept;

    [[nodiscard]] int prog_fd() const;     // XDP
    [[nodiscard]] int tc_prog_fd() const;         // TC ingress: frames for owned virtual MACs
    [[nodiscard]] int tc_egress_prog_fd() const;  // TC egress: the kernel's ND from a VIP with its MAC
    [[nodiscard]] XdpAttachment attach(unsigned ifindex, XdpMode mode = XdpMode::Auto) const;

    // Adds or updates an instance. A new one gets a free slot (its peer state and
    // counters start at zero); an existing one keeps its slot. Returns the slot.
    std::uint32_t set_instance(const xvrrp_inst_key& key, xvrrp_inst inst);
    bool remove_instance(const xvrrp_inst_key& key);
    // A sender the instance accepts adverts from when it checks them (XVRRP_INST_F_UNICAST_CHECK).
    void add_unicast_peer(const xvrrp_inst_key& key, const std::array<std::uint8_t, 16>& addr);
    void remove_unicast_peer(const xvrrp_inst_key& key, const std::array<std::uint8_t, 16>& addr);
    // Adds or updates a VIP belonging to the (existing) instance owner.
    void set_vip(const xvrrp_vip_key& key, xvrrp_vip vip, const xvrrp_inst_key& owner);
    bool remove_vip(const xvrrp_vip_key& key);
    // Frames for an owned virtual MAC reach the stack as if sent to iface_mac.
    void set_interface_mac(unsigned ifindex, const std::array<std::uint8_t, 6>& iface_mac);
    void set_vmac_owned(unsigned ifindex, std::uint8_t family, std::uint8_t vrid, bool owned);
    // Removes every instance and VIP (what an earlier daemon left in pinned maps).
    void clear();
    // timeout_ns == 0 disables the fail-safe.
    void set_heartbeat(std::uint64_t monotonic_ns, std::uint64_t timeout_ns);
    // The kernel's tick length (TickMeasurement), once known: the fail-safes then read jiffies
    // instead of calling the coarse clock helper (bpf/ctl.h). Set once; 0 keeps the helper.
    void set_fail_safe_tick(std::uint64_t tick_ns);
    // The fail-safe that follows the adverts (struct xvrrp_tx): plain stores into the mmapped
    // map, no system call, so a master can stamp every advert it sends.
    void set_advert_silence(std::uint32_t slot, std::uint64_t silence_ns);
    void advert_sent(std::uint32_t slot, std::uint64_t monotonic_ns);

    [[nodiscard]] std::optional<xvrrp_inst> instance(const xvrrp_inst_key& key) const;
    [[nodiscard]] std::optional<xvrrp_vip> vip(const xvrrp_vip_key& key) const;
    [[nodiscard]] std::optional<xvrrp_peer> peer(const xvrrp_inst_key& key) const;
    // The same by the slot set_instance gave (a load, no lookup: the master-down sweep reads it often).
    [[nodiscard]] xvrrp_peer peer_at(std::uint32_t slot) const;
    [[nodiscard]] StatsArray stats() const;
    [[nodiscard]] xvrrp_counter stat(xvrrp_stat which) const;
    [[nodiscard]] std::optional<xvrrp_inst_stats> instance_stats(const xvrrp_inst_key& key) const;
    [[nodiscard]] CounterReader counter_reader() const;
    // The instances in the directory (what an earlier daemon left, at start).
    [[nodiscard]] std::vector<xvrrp_inst_key> instance_keys() const;
    // The heartbeat as last written.
    [[nodiscard]] xvrrp_ctl control() const;

    // Any map of the object by name (tests, and benchmarks re-using these maps in another object).
    [[nodiscard]] int map_fd(std::string_view name) const;
    [[nodiscard]] int events_fd() const;
    [[nodiscard]] const std::string& pin_root() const { return options_.pin_root; }
    // Removes the pinned maps (their contents go when the last user closes them).
    void unpin();

private:
    struct SkelDeleter {
        void operator()(xvrrp_bpf* s) const noexcept;
    };
    // A typed view (BpfMap, PerCpuMap) of one of the skeleton's maps, named by its field
    // (skel_->maps.xvrrp_inst): a renamed map is a build error, not a failed lookup at run time.
    template <class View>
    [[nodiscard]] static View view(const bpf_map* map) {
        return View(fd_of(map), name_of(map));
    }
    static int fd_of(const bpf_map* map);
    static std::string name_of(const bpf_map* map);
    DataplaneOptions options_;
    std::unique_ptr<xvrrp_bpf, SkelDeleter> skel_;
    // Instance slots no instance holds, lowest last: a new instance takes one in O(1). Built
    // from the (possibly pinned) instance directory when the dataplane is opened.
    std::vector<std::uint32_t> free_slots_;
    // Shared with XDP through mmap: the advert fail-safe, the instance directory, the

    // system call.
    MappedArray<xvrrp_tx> tx_;
    MappedArray<xvrrp_inst_bucket> inst_dir_;
    MappedArray<xvrrp_inst> inst_cfg_;
    MappedArray<xvrrp_vip_bucket> vips_;
    MappedArray<xvrrp_peer> peers_;
    [[nodiscard]] TablePlace find_instance(const xvrrp_inst_key& key) const;
    void reset_peer(std::uint32_t slot);
    void collect_free_slots();
    void check_table_format();
    void empty_tables();
    [[nodiscard]] TablePlace find_vip(const xvrrp_vip_key& key) const;
};

// Creates the pin root (mounting bpffs at /sys/fs/bpf first when it lives there and none is).
void ensure_pin_root(const std::string& root);

// CLOCK_MONOTONIC in nanoseconds: bpf_ktime_get_ns() and the heartbeat use it.
std::uint64_t monotonic_ns();

}  // namespace xvrrp
