#include "xvrrp/dataplane.hpp"

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

void Dataplane::Unmap::operator()(xvrrp_tx* p) const noexcept { ::munmap(p, XVRRP_MAX_INSTANCES * sizeof(xvrrp_tx)); }

void Dataplane::set_advert_silence(std::uint32_t slot, std::uint64_t silence_ns) {
    if (slot < XVRRP_MAX_INSTANCES) __atomic_store_n(&tx_.get()[slot].silence_ns, silence_ns, __ATOMIC_RELAXED);
}

void Dataplane::advert_sent(std::uint32_t slot, std::uint64_t monotonic_ns) {
    if (slot < XVRRP_MAX_INSTANCES) __atomic_store_n(&tx_.get()[slot].last_sent_ns, monotonic_ns, __ATOMIC_RELAXED);
}

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
    check_libbpf(xvrrp_bpf__load(skel_.get()), "load xvrrp XDP program (see the verifier log above)");

    void* tx = ::mmap(nullptr, XVRRP_MAX_INSTANCES * sizeof(xvrrp_tx), PROT_READ | PROT_WRITE, MAP_SHARED,
                      bpf_map__fd(skel_->maps.xvrrp_tx), 0);
    if (tx == MAP_FAILED) throw_errno(errno, "mmap " XVRRP_MAP_TX);
    tx_.reset(static_cast<xvrrp_tx*>(tx));

    std::vector<bool> used(XVRRP_MAX_INSTANCES, false);
    auto instances = view<BpfMap<xvrrp_inst_key, xvrrp_inst>>(skel_->maps.xvrrp_inst);
    for (const auto& k : instances.keys())
        if (const auto v = instances.get(k); v && v->slot < XVRRP_MAX_INSTANCES) used[v->slot] = true;
    for (std::uint32_t slot = XVRRP_MAX_INSTANCES; slot-- > 0;)
        if (!used[slot]) free_slots_.push_back(slot);
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
using InstanceMap = BpfMap<xvrrp_inst_key, xvrrp_inst>;
using PeerArray = BpfMap<std::uint32_t, xvrrp_peer>;
using InstStatsArray = PerCpuMap<std::uint32_t, xvrrp_inst_stats>;
using VipTable = BpfMap<std::uint32_t, xvrrp_vip_bucket>;

bool same_key(const xvrrp_vip_key& a, const xvrrp_vip_key& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

std::uint32_t bucket_index(std::uint32_t home, std::uint32_t probe) {
    return (home + probe) & (XVRRP_VIP_BUCKETS - 1);
}

struct VipPlace {
    std::optional<std::uint32_t> found;  // bucket holding the key
    std::optional<std::uint32_t> free;   // first reusable bucket on the probe sequence
};

// Walks the probe sequence exactly as the XDP lookup does.
VipPlace find_vip(const VipTable& table, const xvrrp_vip_key& key) {
    VipPlace place;
    const std::uint32_t home = xvrrp_vip_hash(&key);
    for (std::uint32_t i = 0; i < XVRRP_VIP_PROBES; ++i) {
        const std::uint32_t idx = bucket_index(home, i);
        const auto b = table.get(idx);
        if (!b) break;
        if (b->state == XVRRP_BUCKET_USED && same_key(b->key, key)) {
            place.found = idx;
            return place;
        }
        if (b->state != XVRRP_BUCKET_USED && !place.free) place.free = idx;
        if (b->state == XVRRP_BUCKET_EMPTY) break;
    }
    return place;
}
}  // namespace

std::uint32_t Dataplane::set_instance(const xvrrp_inst_key& key, xvrrp_inst inst) {
    auto instances = view<InstanceMap>(skel_->maps.xvrrp_inst);
    const auto existing = instances.get(key);
    if (existing) {
        inst.slot = existing->slot;
    } else {
        if (free_slots_.empty()) throw std::length_error("all " + std::to_string(XVRRP_MAX_INSTANCES) + " instance slots are in use");
        inst.slot = free_slots_.back();
        // Zeroing the slot also cancels a timer a previous owner left there.
        view<PeerArray>(skel_->maps.xvrrp_peer).put(inst.slot, xvrrp_peer{});
        view<InstStatsArray>(skel_->maps.xvrrp_istats).put_all(inst.slot, xvrrp_inst_stats{});
        set_advert_silence(inst.slot, 0);
    }
    instances.put(key, inst);
    if (!existing) free_slots_.pop_back();  // taken only once the instance is in
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

bool Dataplane::remove_instance(const xvrrp_inst_key& key) {
    auto instances = view<InstanceMap>(skel_->maps.xvrrp_inst);
    const auto inst = instances.get(key);
    if (!inst) return false;
    instances.erase(key);
    view<PeerArray>(skel_->maps.xvrrp_peer).put(inst->slot, xvrrp_peer{});
    if (inst->slot < XVRRP_MAX_INSTANCES) free_slots_.push_back(inst->slot);
    return true;
}

void Dataplane::set_vip(const xvrrp_vip_key& key, xvrrp_vip vip, const xvrrp_inst_key& owner) {
    const auto inst = instance(owner);
    if (!inst) throw std::invalid_argument("VIP for an instance that is not in the dataplane");
    vip.slot = inst->slot;
    vip.vrid = owner.vrid;
    auto table = view<VipTable>(skel_->maps.xvrrp_vip);
    const VipPlace place = find_vip(table, key);
    xvrrp_vip_bucket bucket{.key = key, .vip = vip, .state = XVRRP_BUCKET_USED};
    if (place.found) {
        // A change of flags alone is one byte a reader sees old or new; a change of MAC or
        // owner goes through unowned, so no reader answers with half of each.
        const auto old = table.get(*place.found);
        if (old && (std::memcmp(old->vip.mac, vip.mac, sizeof(vip.mac)) != 0 || old->vip.slot != vip.slot)) {
            auto unowned = bucket;
            unowned.vip.flags = 0;
            table.put(*place.found, unowned);
        }
        table.put(*place.found, bucket);
        return;
    }
    if (!place.free)
        throw std::length_error("VIP table: no free bucket within " + std::to_string(XVRRP_VIP_PROBES) +
                                " probes of this address's home bucket");
    // Two steps, so a racing reader never sees the key with flags it should not have.
    bucket.vip.flags = 0;
    table.put(*place.free, bucket);
    if (vip.flags) {
        bucket.vip.flags = vip.flags;
        table.put(*place.free, bucket);
    }
}

bool Dataplane::remove_vip(const xvrrp_vip_key& key) {
    auto table = view<VipTable>(skel_->maps.xvrrp_vip);
    const VipPlace place = find_vip(table, key);
    if (!place.found) return false;
    auto bucket = *table.get(*place.found);
    bucket.vip.flags = 0;  // first unowned, then gone; the key stays as a tombstone
    table.put(*place.found, bucket);
    bucket.state = XVRRP_BUCKET_DELETED;
    table.put(*place.found, bucket);
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
    auto instances = view<InstanceMap>(skel_->maps.xvrrp_inst);
    for (const auto& k : instances.keys()) remove_instance(k);
    auto vmacs = view<VmacMap>(skel_->maps.xvrrp_vmac);
    for (const auto ifindex : vmacs.keys()) vmacs.erase(ifindex);
    auto table = view<VipTable>(skel_->maps.xvrrp_vip);
    for (std::uint32_t i = 0; i < XVRRP_VIP_BUCKETS; ++i) {
        const auto b = table.get(i);
        if (b && b->state != XVRRP_BUCKET_EMPTY) table.put(i, xvrrp_vip_bucket{});
    }
}

void Dataplane::set_heartbeat(std::uint64_t monotonic, std::uint64_t timeout_ns) {
    view<BpfMap<std::uint32_t, xvrrp_ctl>>(skel_->maps.xvrrp_ctl)
        .put(0, xvrrp_ctl{.heartbeat_ns = monotonic, .heartbeat_timeout_ns = timeout_ns});
}

std::optional<xvrrp_inst> Dataplane::instance(const xvrrp_inst_key& key) const {
    return view<InstanceMap>(skel_->maps.xvrrp_inst).get(key);
}

std::optional<xvrrp_vip> Dataplane::vip(const xvrrp_vip_key& key) const {
    auto table = view<VipTable>(skel_->maps.xvrrp_vip);
    const VipPlace place = find_vip(table, key);
    if (!place.found) return std::nullopt;
    return table.get(*place.found)->vip;
}

std::optional<xvrrp_peer> Dataplane::peer(const xvrrp_inst_key& key) const {
    const auto inst = instance(key);
    if (!inst) return std::nullopt;
    return view<PeerArray>(skel_->maps.xvrrp_peer).get(inst->slot);
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

void Dataplane::unpin() {
    if (options_.pin_root.empty()) return;
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, skel_->obj) {
        if (bpf_map__is_pinned(map)) bpf_map__unpin(map, nullptr);
    }
    ::rmdir(options_.pin_root.c_str());  // only when empty: links may still be pinned there
}

}  // namespace xvrrp
