#include "xvrrp/dataplane.hpp"

#include "xvrrp/open_table.hpp"

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include <algorithm>
#include <utility>
#include <cstring>
#include <cerrno>
#include <vector>
#include <filesystem>
#include <optional>
#include <string>
#include <stdexcept>

#include "xvrrp/bpf_map.hpp"
#include <spdlog/spdlog.h>

#include "xvrrp/error.hpp"
#include "xvrrp.skel.h"

namespace xvrrp {

namespace {

constexpr const char* kBpffs = "/sys/fs/bpf";

bool is_bpffs(const std::string& path) {
    struct statfs st {};
    return ::statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

}  // namespace

// `ip netns exec` gives a fresh /sys without bpffs: mount one there when the
// pin root lives under it and none is mounted. Such a mount may be private to the daemon's mount
// namespace (a container, `ip netns exec`) and then dies with it, pins and XDP links included.
void ensure_pin_root(const std::string& root) {
    if (root.rfind(kBpffs, 0) == 0 && !is_bpffs(kBpffs)) {
        if (::mount("bpf", kBpffs, "bpf", 0, nullptr) != 0)
            throw_errno(errno, std::string("mount bpffs at ") + kBpffs);
        spdlog::warn("mounted a bpf filesystem at {} for pin root {}: if this mount namespace is the daemon's own, "
                     "its pins and XDP programs die with the daemon (the kernel still answers for no VIP: "
                     "TC egress drops its claims); mount bpffs on the host for pins that survive a crash",
                     kBpffs, root);
    }
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (ec) throw std::system_error(ec, "create pin root " + root);
    if (!is_bpffs(root)) throw std::runtime_error("pin root " + root + " is not on a bpf filesystem");
}

namespace {

std::uint32_t xdp_flags(XdpMode mode) {
    switch (mode) {
        case XdpMode::Native: return XDP_FLAGS_DRV_MODE;
        case XdpMode::Generic: return XDP_FLAGS_SKB_MODE;
        case XdpMode::Auto: return 0;
    }
    return 0;
}

}  // namespace

std::string_view to_string(XdpMode mode) {
    switch (mode) {
        case XdpMode::Native: return "native";
        case XdpMode::Generic: return "generic";
        case XdpMode::Auto: return "auto";
    }
    return "?";
}


std::uint64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

// ---- XdpAttachment ----

XdpAttachment XdpAttachment::attach(int prog_fd, unsigned ifindex, XdpMode mode) {
    auto try_mode = [&](XdpMode m) {
        LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = xdp_flags(m));
        return bpf_link_create(prog_fd, static_cast<int>(ifindex), BPF_XDP, &opts);
    };
    XdpMode used = mode == XdpMode::Auto ? XdpMode::Native : mode;
    int fd = try_mode(used);
    if (fd < 0 && mode == XdpMode::Auto) {
        used = XdpMode::Generic;
        fd = try_mode(used);
    }
    if (fd < 0)
        throw_errno(fd, "attach XDP (" + std::string(to_string(used)) + ") to ifindex " +
                            std::to_string(ifindex));
    XdpAttachment a;
    a.link_.reset(fd);
    a.ifindex_ = ifindex;
    a.mode_ = used;
    return a;
}

XdpAttachment XdpAttachment::attach_pinned(int prog_fd, unsigned ifindex, XdpMode mode, const std::string& pin_path) {
    const int old = bpf_obj_get(pin_path.c_str());
    if (old >= 0) {
        UniqueFd link(old);
        bpf_link_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0 && info.type == BPF_LINK_TYPE_XDP &&
            info.xdp.ifindex == ifindex && bpf_link_update(link.get(), prog_fd, nullptr) == 0) {
            XdpAttachment a;
            a.link_ = std::move(link);
            a.ifindex_ = ifindex;
            a.mode_ = mode;
            // The mode the link was made in, not the one asked for ("auto" resolved back then).
            LIBBPF_OPTS(bpf_xdp_query_opts, query);
            if (bpf_xdp_query(static_cast<int>(ifindex), 0, &query) == 0) {
                if (query.attach_mode == XDP_ATTACHED_DRV) a.mode_ = XdpMode::Native;
                else if (query.attach_mode == XDP_ATTACHED_SKB) a.mode_ = XdpMode::Generic;
            }
            a.pin_path_ = pin_path;
            return a;
        }
        ::unlink(pin_path.c_str());  // not ours to reuse: dropping the pin detaches it
    }
    XdpAttachment a = attach(prog_fd, ifindex, mode);
    a.pin(pin_path);
    return a;
}

void XdpAttachment::pin(const std::string& path) {
    ::unlink(path.c_str());
    check_libbpf(bpf_obj_pin(link_.get(), path.c_str()), "pin XDP link at " + path);
    pin_path_ = path;
}

void XdpAttachment::detach() {
    if (!link_) return;
    if (!pin_path_.empty()) ::unlink(pin_path_.c_str());
    bpf_link_detach(link_.get());
    link_.reset();
    pin_path_.clear();
}

// ---- TcAttachment ----

namespace {
// Our filter's place on the clsact ingress hook; replaced on attach, so a restart takes it over.
constexpr __u32 kTcHandle = 0x5e;
constexpr __u32 kTcPriority = 1;
}  // namespace

namespace {
bpf_tc_attach_point attach_point(TcAttachment::Hook h) { return h == TcAttachment::Hook::Ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS; }
}  // namespace

TcAttachment TcAttachment::attach(int prog_fd, unsigned ifindex, Hook where) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = attach_point(where));
    const int err = bpf_tc_hook_create(&hook);
    if (err && err != -EEXIST) throw_errno(err, "create clsact on ifindex " + std::to_string(ifindex));
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE, .handle = kTcHandle,
                .priority = kTcPriority);
    check_libbpf(bpf_tc_attach(&hook, &opts), "attach TC program to ifindex " + std::to_string(ifindex));
    TcAttachment a;
    a.ifindex_ = ifindex;
    a.hook_ = where;
    return a;
}

TcAttachment& TcAttachment::operator=(TcAttachment&& other) noexcept {
    if (this != &other) {
        detach();
        ifindex_ = std::exchange(other.ifindex_, 0);
        hook_ = other.hook_;
    }
    return *this;
}

void TcAttachment::detach() {
    if (!ifindex_) return;
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex_), .attach_point = attach_point(hook_));
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
    bpf_tc_detach(&hook, &opts);  // the clsact qdisc stays: other filters may live there
    ifindex_ = 0;
}

// ---- Dataplane ----

void Dataplane::SkelDeleter::operator()(xvrrp_bpf* s) const noexcept { xvrrp_bpf__destroy(s); }

void Dataplane::set_advert_silence(std::uint32_t slot, std::uint64_t silence_ns) {
    if (slot < XVRRP_MAX_INSTANCES) __atomic_store_n(&tx_[slot].silence_ns, silence_ns, __ATOMIC_RELAXED);
}

void Dataplane::advert_sent(std::uint32_t slot, std::uint64_t monotonic_ns) {
    if (slot < XVRRP_MAX_INSTANCES) __atomic_store_n(&tx_[slot].last_sent_ns, monotonic_ns, __ATOMIC_RELAXED);
}

namespace {
// The byte XDP tests before answering: one store, seen old or new.
void set_vip_flags(xvrrp_vip_bucket& b, std::uint8_t flags) { __atomic_store_n(&b.vip.flags, flags, __ATOMIC_RELEASE); }

// A map pinned by an earlier version with another layout would fail the load ("couldn't reuse
// pinned map") and keep the daemon down after an upgrade. What it holds describes a world the
// new daemon clears anyway (one daemon per pin root, the lock sees to that), so it is unpinned
// and made anew; an old XDP link keeps its own reference until the new program replaces it.
void unpin_incompatible_maps(bpf_object* obj, bool refuse) {
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, obj) {
        const char* path = bpf_map__pin_path(map);
        if (!path) continue;
        const int fd = bpf_obj_get(path);
        if (fd < 0) continue;
        const UniqueFd pinned(fd);
        bpf_map_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) continue;
        if (info.type == static_cast<__u32>(bpf_map__type(map)) && info.key_size == bpf_map__key_size(map) &&
            info.value_size == bpf_map__value_size(map) && info.max_entries == bpf_map__max_entries(map) &&
            info.map_flags == bpf_map__map_flags(map))
            continue;
        if (refuse)
            throw std::runtime_error(std::string("pinned map ") + path +
                                     " has another layout than this version's: the running daemon uses it, so an "
                                     "upgrade cannot (stop and start instead)");
        spdlog::warn("pinned map {} has another layout (left by another version): replacing it", path);
        if (::unlink(path) != 0) throw_errno(errno, std::string("unpin ") + path);
    }
}
}  // namespace

Dataplane::Dataplane(DataplaneOptions options) : options_(std::move(options)) {
    const bool pinned = !options_.pin_root.empty();
    if (pinned) ensure_pin_root(options_.pin_root);

    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pinned ? options_.pin_root.c_str() : nullptr);
    skel_.reset(xvrrp_bpf__open_opts(&open_opts));
    if (!skel_) throw_errno(errno, "open xvrrp BPF object");

    if (!pinned) {
        bpf_map* map = nullptr;
        bpf_object__for_each_map(map, skel_->obj) bpf_map__set_pin_path(map, nullptr);
    }
    unpin_incompatible_maps(skel_->obj, options_.refuse_other_layouts);
    check_libbpf(xvrrp_bpf__load(skel_.get()), "load xvrrp XDP program (see the verifier log above)");

    tx_ = MappedArray<xvrrp_tx>(bpf_map__fd(skel_->maps.xvrrp_tx), XVRRP_MAX_INSTANCES, XVRRP_MAP_TX);
    inst_dir_ = MappedArray<xvrrp_inst_bucket>(bpf_map__fd(skel_->maps.xvrrp_inst_dir), XVRRP_INST_BUCKETS,
                                               XVRRP_MAP_INSTANCES);
    inst_cfg_ = MappedArray<xvrrp_inst>(bpf_map__fd(skel_->maps.xvrrp_inst_cfg), 2 * XVRRP_MAX_INSTANCES,
                                        XVRRP_MAP_INSTANCE_CONFIGS);
    vips_ = MappedArray<xvrrp_vip_bucket>(bpf_map__fd(skel_->maps.xvrrp_vip), XVRRP_VIP_BUCKETS, XVRRP_MAP_VIPS);
    peers_ = MappedArray<xvrrp_peer>(bpf_map__fd(skel_->maps.xvrrp_peer), XVRRP_MAX_INSTANCES, XVRRP_MAP_PEERS);

    check_table_format();
    collect_free_slots();
}

// Slots the (possibly pinned) directory holds are taken; the rest are free, lowest last.
void Dataplane::collect_free_slots() {
    std::vector<bool> used(XVRRP_MAX_INSTANCES, false);
    for (const auto& b : inst_dir_.all())
        if (b.state == XVRRP_BUCKET_USED && b.config / 2 < XVRRP_MAX_INSTANCES) used[b.config / 2] = true;
    free_slots_.clear();
    for (std::uint32_t slot = XVRRP_MAX_INSTANCES; slot-- > 0;)
        if (!used[slot]) free_slots_.push_back(slot);
}

// Keys another hash placed sit where this version never looks: it would take an instance for
// missing and lose its state, and a VIP for absent. A running daemon reads such tables (an
// upgrade's new process): refused, as a map of another layout is. Otherwise they are emptied,
// before any program of ours reads them, and the format is stamped for the next process.
void Dataplane::check_table_format() {
    xvrrp_ctl ctl = control();
    if (ctl.table_format == XVRRP_TABLE_FORMAT) return;  // no write under a running daemon's heartbeat
    const auto holds = [](const auto& table) {
        for (const auto& b : table.all())
            if (b.state != XVRRP_BUCKET_EMPTY) return true;
        return false;
    };
    if (holds(inst_dir_) || holds(vips_)) {
        if (options_.refuse_other_layouts)
            throw std::runtime_error("pinned tables were placed by another version's hash (table format " +
                                     std::to_string(ctl.table_format) + ", this version's " +
                                     std::to_string(XVRRP_TABLE_FORMAT) +
                                     "): the running daemon uses them, so an upgrade cannot (stop and start instead)");
        spdlog::warn("pinned instance directory and VIP table were placed by another version's hash (table format "
                     "{}): emptied",
                     ctl.table_format);
        empty_tables();
    }
    ctl.table_format = XVRRP_TABLE_FORMAT;
    view<BpfMap<std::uint32_t, xvrrp_ctl>>(skel_->maps.xvrrp_ctl).put(0, ctl);
}

// Every bucket of both tables, walked rather than looked up: also right for keys placed by
// another hash. The peers of the slots they held are reset for whoever takes them next.
void Dataplane::empty_tables() {
    for (auto& b : inst_dir_.all()) {
        if (b.state == XVRRP_BUCKET_USED && b.config / 2 < XVRRP_MAX_INSTANCES) reset_peer(b.config / 2);
        __atomic_store_n(&b.state, std::uint32_t{XVRRP_BUCKET_EMPTY}, __ATOMIC_RELEASE);
    }
    for (auto& b : vips_.all()) {
        if (b.state == XVRRP_BUCKET_EMPTY) continue;
        set_vip_flags(b, 0);
        __atomic_store_n(&b.state, std::uint32_t{XVRRP_BUCKET_EMPTY}, __ATOMIC_RELEASE);
    }
    collect_free_slots();
}

Dataplane::~Dataplane() = default;
Dataplane::Dataplane(Dataplane&&) noexcept = default;
Dataplane& Dataplane::operator=(Dataplane&&) noexcept = default;

int Dataplane::prog_fd() const { return bpf_program__fd(skel_->progs.xvrrp_xdp); }

int Dataplane::tc_prog_fd() const { return bpf_program__fd(skel_->progs.xvrrp_tc_ingress); }

int Dataplane::tc_egress_prog_fd() const { return bpf_program__fd(skel_->progs.xvrrp_tc_egress); }

XdpAttachment Dataplane::attach(unsigned ifindex, XdpMode mode) const {
    return XdpAttachment::attach(prog_fd(), ifindex, mode);
}

int Dataplane::events_fd() const { return bpf_map__fd(skel_->maps.xvrrp_events); }

int Dataplane::fd_of(const bpf_map* map) { return bpf_map__fd(map); }

std::string Dataplane::name_of(const bpf_map* map) { return bpf_map__name(map); }

int Dataplane::map_fd(std::string_view name) const {
    bpf_map* map = bpf_object__find_map_by_name(skel_->obj, std::string(name).c_str());
    if (!map) throw std::invalid_argument("no BPF map named " + std::string(name));
    return bpf_map__fd(map);
}

namespace {
using PeerTimerArray = BpfMap<std::uint32_t, xvrrp_peer_timer>;
using InstStatsArray = PerCpuMap<std::uint32_t, xvrrp_inst_stats>;

}  // namespace

TablePlace Dataplane::find_instance(const xvrrp_inst_key& key) const {
    return find_in_table<XVRRP_INST_BUCKETS, XVRRP_INST_PROBES>(
        [&](std::uint32_t idx) { return &inst_dir_[idx]; }, key,
        xvrrp_inst_hash(key.ifindex, key.vlan, key.vrid, key.family));
}

std::uint32_t Dataplane::set_instance(const xvrrp_inst_key& key, xvrrp_inst inst) {
    const TablePlace place = find_instance(key);
    inst.key = key;
    if (place.found) {
        // The whole change into the copy XDP is not reading, then one store switches to it.
        xvrrp_inst_bucket& bucket = inst_dir_[*place.found];
        const std::uint32_t spare = bucket.config ^ 1u;
        inst.slot = bucket.config / 2;
        inst_cfg_[spare] = inst;
        __atomic_store_n(&bucket.config, spare, __ATOMIC_RELEASE);
        return inst.slot;
    }
    if (free_slots_.empty()) throw std::length_error("all " + std::to_string(XVRRP_MAX_INSTANCES) + " instance slots are in use");
    if (!place.free)
        throw std::length_error("instance directory: no free bucket within " + std::to_string(XVRRP_INST_PROBES) +
                                " probes of this instance's home bucket");
    inst.slot = free_slots_.back();
    reset_peer(inst.slot);
    view<InstStatsArray>(skel_->maps.xvrrp_istats).put_all(inst.slot, xvrrp_inst_stats{});
    set_advert_silence(inst.slot, 0);
    inst_cfg_[2 * inst.slot] = inst;
    xvrrp_inst_bucket& bucket = inst_dir_[*place.free];
    bucket.key = key;
    bucket.config = 2 * inst.slot;
    __atomic_store_n(&bucket.state, std::uint32_t{XVRRP_BUCKET_USED}, __ATOMIC_RELEASE);  // visible only now
    free_slots_.pop_back();
    return inst.slot;
}

namespace {
using UnicastPeerMap = BpfMap<xvrrp_upeer_key, std::uint32_t>;

xvrrp_upeer_key upeer_key(const xvrrp_inst_key& inst, const std::array<std::uint8_t, 16>& addr) {
    xvrrp_upeer_key k{.inst = inst};
    std::memcpy(k.addr, addr.data(), sizeof(k.addr));
    return k;
}
}  // namespace

void Dataplane::add_unicast_peer(const xvrrp_inst_key& key, const std::array<std::uint8_t, 16>& addr) {
    view<UnicastPeerMap>(skel_->maps.xvrrp_upeer).put(upeer_key(key, addr), 1);
}

void Dataplane::remove_unicast_peer(const xvrrp_inst_key& key, const std::array<std::uint8_t, 16>& addr) {
    view<UnicastPeerMap>(skel_->maps.xvrrp_upeer).erase(upeer_key(key, addr));
}

// The timer first: writing its entry cancels and frees a timer a previous owner left there, so
// no callback sees the peer entry being zeroed.
void Dataplane::reset_peer(std::uint32_t slot) {
    view<PeerTimerArray>(skel_->maps.xvrrp_peer_tmr).put(slot, xvrrp_peer_timer{});
    peers_[slot] = xvrrp_peer{};
}

bool Dataplane::remove_instance(const xvrrp_inst_key& key) {
    const TablePlace place = find_instance(key);
    if (!place.found) return false;
    xvrrp_inst_bucket& bucket = inst_dir_[*place.found];
    const std::uint32_t slot = bucket.config / 2;
    __atomic_store_n(&bucket.state, std::uint32_t{XVRRP_BUCKET_DELETED}, __ATOMIC_RELEASE);  // a tombstone
    if (slot < XVRRP_MAX_INSTANCES) {
        reset_peer(slot);
        free_slots_.push_back(slot);
    }
    return true;
}

TablePlace Dataplane::find_vip(const xvrrp_vip_key& key) const {
    return find_in_table<XVRRP_VIP_BUCKETS, XVRRP_VIP_PROBES>([&](std::uint32_t idx) { return &vips_[idx]; }, key,
                                                              xvrrp_vip_hash(&key));
}

void Dataplane::set_vip(const xvrrp_vip_key& key, xvrrp_vip vip, const xvrrp_inst_key& owner) {
    const auto inst = instance(owner);
    if (!inst) throw std::invalid_argument("VIP for an instance that is not in the dataplane");
    vip.slot = inst->slot;
    vip.vrid = owner.vrid;
    const TablePlace place = find_vip(key);
    if (place.found) {
        // A change of flags alone is one byte; a change of MAC or owner goes through unowned,
        // so no reader answers with half of each.
        xvrrp_vip_bucket& b = vips_[*place.found];
        if (std::memcmp(b.vip.mac, vip.mac, sizeof(vip.mac)) != 0 || b.vip.slot != vip.slot || b.vip.vrid != vip.vrid) {
            set_vip_flags(b, 0);
            std::memcpy(b.vip.mac, vip.mac, sizeof(vip.mac));
            b.vip.vrid = vip.vrid;
            b.vip.slot = vip.slot;
        }
        set_vip_flags(b, vip.flags);
        return;
    }
    if (!place.free)
        throw std::length_error("VIP table: no free bucket within " + std::to_string(XVRRP_VIP_PROBES) +
                                " probes of this address's home bucket");
    // The key goes in unowned and becomes visible with its state; only then may it be owned.
    xvrrp_vip_bucket& b = vips_[*place.free];
    b.key = key;
    b.vip = vip;
    b.vip.flags = 0;
    __atomic_store_n(&b.state, std::uint32_t{XVRRP_BUCKET_USED}, __ATOMIC_RELEASE);
    set_vip_flags(b, vip.flags);
}

bool Dataplane::remove_vip(const xvrrp_vip_key& key) {
    const TablePlace place = find_vip(key);
    if (!place.found) return false;
    xvrrp_vip_bucket& b = vips_[*place.found];
    set_vip_flags(b, 0);  // first unowned, then gone; the key stays as a tombstone
    __atomic_store_n(&b.state, std::uint32_t{XVRRP_BUCKET_DELETED}, __ATOMIC_RELEASE);
    return true;
}

namespace {
using VmacMap = BpfMap<std::uint32_t, xvrrp_vmac>;
}  // namespace

void Dataplane::set_interface_mac(unsigned ifindex, const std::array<std::uint8_t, 6>& iface_mac) {
    auto vmacs = view<VmacMap>(skel_->maps.xvrrp_vmac);
    auto v = vmacs.get(ifindex).value_or(xvrrp_vmac{});
    std::memcpy(v.iface_mac, iface_mac.data(), 6);
    vmacs.put(ifindex, v);
}

void Dataplane::set_vmac_owned(unsigned ifindex, std::uint8_t family, std::uint8_t vrid, bool owned) {
    auto vmacs = view<VmacMap>(skel_->maps.xvrrp_vmac);
    auto v = vmacs.get(ifindex).value_or(xvrrp_vmac{});
    const std::uint64_t bit = std::uint64_t{1} << (vrid & 63);
    __u64& word = v.owned[family == XVRRP_AF_INET6 ? 1 : 0][vrid >> 6];
    word = owned ? (word | bit) : (word & ~bit);
    vmacs.put(ifindex, v);  // the bitmap word changes as a whole: readers see before or after
}

void Dataplane::clear() {
    auto peers = view<UnicastPeerMap>(skel_->maps.xvrrp_upeer);
    for (const auto& k : peers.keys()) peers.erase(k);
    auto vmacs = view<VmacMap>(skel_->maps.xvrrp_vmac);
    for (const auto ifindex : vmacs.keys()) vmacs.erase(ifindex);
    empty_tables();
}

void Dataplane::set_heartbeat(std::uint64_t monotonic, std::uint64_t timeout_ns) {
    view<BpfMap<std::uint32_t, xvrrp_ctl>>(skel_->maps.xvrrp_ctl)
        .put(0, xvrrp_ctl{.heartbeat_ns = monotonic, .heartbeat_timeout_ns = timeout_ns, .table_format = XVRRP_TABLE_FORMAT});
}

void Dataplane::set_fail_safe_tick(std::uint64_t tick_ns) {
    if (skel_->bss) __atomic_store_n(&skel_->bss->xvrrp_tick_ns, tick_ns, __ATOMIC_RELAXED);  // XDP reads it whole
}

std::optional<xvrrp_inst> Dataplane::instance(const xvrrp_inst_key& key) const {
    const TablePlace place = find_instance(key);
    if (!place.found) return std::nullopt;
    return inst_cfg_[__atomic_load_n(&inst_dir_[*place.found].config, __ATOMIC_ACQUIRE)];
}

std::optional<xvrrp_vip> Dataplane::vip(const xvrrp_vip_key& key) const {
    const TablePlace place = find_vip(key);
    if (!place.found) return std::nullopt;
    return vips_[*place.found].vip;
}

std::optional<xvrrp_peer> Dataplane::peer(const xvrrp_inst_key& key) const {
    const auto inst = instance(key);
    if (!inst || inst->slot >= XVRRP_MAX_INSTANCES) return std::nullopt;
    return peer_at(inst->slot);
}

// XDP may be writing it: each 8-byte field is read whole, the entry as a whole may mix two adverts.
xvrrp_peer Dataplane::peer_at(std::uint32_t slot) const {
    xvrrp_peer p{};
    if (slot >= XVRRP_MAX_INSTANCES) return p;
    std::memcpy(&p, &peers_[slot], sizeof(p));
    return p;
}

StatsArray Dataplane::stats() const {
    StatsArray out{};
    for (std::uint32_t i = 0; i < XVRRP_STAT_MAX; ++i) out[i] = stat(static_cast<xvrrp_stat>(i));
    return out;
}

xvrrp_counter Dataplane::stat(xvrrp_stat which) const {
    return view<PerCpuMap<std::uint32_t, xvrrp_counter>>(skel_->maps.xvrrp_stats).sum(which).value_or(xvrrp_counter{});
}

std::optional<xvrrp_inst_stats> Dataplane::instance_stats(const xvrrp_inst_key& key) const {
    const auto inst = instance(key);
    if (!inst) return std::nullopt;
    return view<InstStatsArray>(skel_->maps.xvrrp_istats).sum(inst->slot);
}

std::vector<xvrrp_inst_key> Dataplane::instance_keys() const {
    std::vector<xvrrp_inst_key> out;
    for (const auto& b : inst_dir_.all())
        if (b.state == XVRRP_BUCKET_USED) out.push_back(b.key);
    return out;
}

xvrrp_ctl Dataplane::control() const {
    return view<BpfMap<std::uint32_t, xvrrp_ctl>>(skel_->maps.xvrrp_ctl).get(0).value_or(xvrrp_ctl{});
}

CounterReader Dataplane::counter_reader() const {
    return CounterReader(fd_of(skel_->maps.xvrrp_stats), fd_of(skel_->maps.xvrrp_istats), fd_of(skel_->maps.xvrrp_ctl));
}

namespace {
UniqueFd duplicate(int fd) {
    UniqueFd out(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!out) throw_errno(errno, "dup a map descriptor");
    return out;
}
}  // namespace

CounterReader::CounterReader(int stats_fd, int istats_fd, int ctl_fd)
    : stats_(duplicate(stats_fd)), istats_(duplicate(istats_fd)), ctl_(duplicate(ctl_fd)) {}

StatsArray CounterReader::stats() const {
    const PerCpuMap<std::uint32_t, xvrrp_counter> map(stats_.get(), "xvrrp_stats");
    StatsArray out{};
    for (std::uint32_t i = 0; i < XVRRP_STAT_MAX; ++i) out[i] = map.sum(i).value_or(xvrrp_counter{});
    return out;
}

std::optional<xvrrp_inst_stats> CounterReader::instance_stats(std::uint32_t slot) const {
    return InstStatsArray(istats_.get(), "xvrrp_istats").sum(slot);
}

xvrrp_ctl CounterReader::control() const {
    return BpfMap<std::uint32_t, xvrrp_ctl>(ctl_.get(), "xvrrp_ctl").get(0).value_or(xvrrp_ctl{});
}

void Dataplane::unpin() {
    if (options_.pin_root.empty()) return;
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, skel_->obj) {
        if (bpf_map__is_pinned(map)) bpf_map__unpin(map, nullptr);
    }
    ::rmdir(options_.pin_root.c_str());  // only when empty: links may still be pinned there
}

}  // namespace xvrrp
