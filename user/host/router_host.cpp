#include "xvrrp/router_host.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <iterator>

namespace xvrrp {

namespace {

xvrrp_state dataplane_state(fsm::State s) {
    switch (s) {
        case fsm::State::Initialize: return XVRRP_STATE_INIT;
        case fsm::State::Backup: return XVRRP_STATE_BACKUP;
        case fsm::State::Master: return XVRRP_STATE_MASTER;
        case fsm::State::Fault: return XVRRP_STATE_INIT;  // answers nothing, takes no adverts
    }
    return XVRRP_STATE_INIT;
}

}  // namespace

xvrrp_vip_key vip_key(unsigned ifindex, const IpAddress& a) {
    xvrrp_vip_key k{.ifindex = ifindex, .vlan = 0, .family = static_cast<std::uint8_t>(a.family)};
    std::memcpy(k.addr, a.bytes.data(), 16);
    return k;
}

void AddressQueue::add(std::uint32_t router, unsigned ifindex, const IpAddress& a, std::uint8_t prefix_len,
                       std::string label, std::uint8_t scope) {
    pending_.push_back(Change{.router = router, .ifindex = ifindex, .address = a, .prefix_len = prefix_len, .add = true,
                              .label = std::move(label), .scope = scope});
}

void AddressQueue::remove(std::uint32_t router, unsigned ifindex, const IpAddress& a, std::uint8_t prefix_len) {
    pending_.push_back(Change{.router = router, .ifindex = ifindex, .address = a, .prefix_len = prefix_len, .add = false});
}

void AddressQueue::add_route(std::uint32_t router, unsigned ifindex, const config::Route& r) {
    pending_.push_back(Change{.router = router, .ifindex = ifindex, .address = {}, .prefix_len = 0, .add = true, .route = r});
}

void AddressQueue::remove_route(std::uint32_t router, unsigned ifindex, const config::Route& r) {
    pending_.push_back(Change{.router = router, .ifindex = ifindex, .address = {}, .prefix_len = 0, .add = false, .route = r});
}

void AddressQueue::add_rule(std::uint32_t router, const config::Rule& r) {
    pending_.push_back(Change{.router = router, .ifindex = 0, .address = {}, .prefix_len = 0, .add = true, .rule = r});
}

void AddressQueue::remove_rule(std::uint32_t router, const config::Rule& r) {
    pending_.push_back(Change{.router = router, .ifindex = 0, .address = {}, .prefix_len = 0, .add = false, .rule = r});
}

void AddressQueue::drop_present_adds(std::uint32_t router, const std::function<bool(unsigned, const IpAddress&)>& present) {
    std::erase_if(pending_, [&](const Change& c) {
        return c.router == router && c.add && !c.route && !c.rule && present(c.ifindex, c.address);
    });
}

std::vector<AddressQueue::Failure> AddressQueue::apply(const Applier& change, std::size_t max) {
    std::vector<Failure> failed;
    // Taken out first: whatever a failure report queues waits for the next pass.
    const auto take = static_cast<std::ptrdiff_t>(std::min(max, pending_.size()));
    std::vector<Change> changes(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + take));
    pending_.erase(pending_.begin(), pending_.begin() + take);
    for (const Change& c : changes) {
        try {
            change(c);
        } catch (const std::exception& e) {
            failed.push_back(Failure{.router = c.router, .what = e.what()});
        }
    }
    return failed;
}

std::vector<AddressQueue::Failure> AddressQueue::apply(Rtnl& rtnl, std::size_t max) {
    return apply([&rtnl](const Change& c) {
        if (c.route) {
            if (c.add) rtnl.add_route(*c.route, c.ifindex);
            else rtnl.remove_route(*c.route, c.ifindex);
        } else if (c.rule) {
            if (c.add) rtnl.add_rule(*c.rule);
            else rtnl.remove_rule(*c.rule);
        } else if (c.add) {
            rtnl.add_address(c.ifindex, c.address, c.prefix_len, c.label, c.scope);
        } else {
            rtnl.remove_address(c.ifindex, c.address, c.prefix_len);
        }
    }, max);
}

KernelRouterHost::KernelRouterHost(HostPorts ports, RouterIdentity identity) : ports_(ports), id_(std::move(identity)) {
    for (const auto& v : id_.cfg.vips)
        if (v.address.family == id_.family) vips_.push_back(v);
    for (const auto& r : id_.cfg.virtual_routes)
        if (r.to.address.family == id_.family) routes_.push_back(r);
    for (const auto& r : id_.cfg.virtual_rules)
        if (r.family == id_.family) rules_.push_back(r);
    key_ = xvrrp_inst_key{.ifindex = id_.ifindex, .vlan = 0, .vrid = id_.cfg.vrid,
                          .family = static_cast<std::uint8_t>(id_.family)};
}

bool KernelRouterHost::holds_addresses() const {
    return id_.cfg.accept_mode || id_.cfg.priority == fsm::kOwnerPriority;
}

std::vector<IpAddress> KernelRouterHost::unicast_peers() const {
    std::vector<IpAddress> out;
    for (const auto& p : id_.cfg.unicast_peers)
        if (p.family == id_.family) out.push_back(p);
    return out;
}

// A VIP on another interface (keepalived's `dev`) is an address there and nothing more: XDP
// answers only on the instance's interface, so the kernel answers for it on its own, and its
// announcements leave from that interface's MAC. Looked up at each use, as that interface
// may come and go.
std::optional<unsigned> KernelRouterHost::vip_ifindex(const config::Vip& v) const {
    if (!v.dev.empty()) return ports_.rtnl.ifindex(v.dev);
    return vmac_ifindex_ ? vmac_ifindex_ : id_.ifindex;
}

// A unicast route goes on its dev, or the instance's interface; the other types on none.
std::optional<unsigned> KernelRouterHost::route_ifindex(const config::Route& r) const {
    if (r.type != config::RouteType::Unicast) return 0u;
    if (r.dev.empty()) return id_.ifindex;
    return ports_.rtnl.ifindex(r.dev);
}

// Rules first, then routes (a route may use a VIP as source): the reverse of their addition.
void KernelRouterHost::queue_route_removals() {
    for (const auto& r : rules_) ports_.addresses.remove_rule(id_.id, r);
    for (const auto& r : routes_)
        if (const auto ifindex = route_ifindex(r)) ports_.addresses.remove_route(id_.id, *ifindex, r);
}

xvrrp_vip KernelRouterHost::vip_entry(bool owned) const {
    xvrrp_vip v{};
    std::memcpy(v.mac, id_.mac.data(), 6);
    v.flags = static_cast<std::uint8_t>((owned ? XVRRP_VIP_F_OWNED : 0) |
                                        (id_.family == Family::V6 ? XVRRP_VIP_F_ROUTER : 0));
    return v;
}

void KernelRouterHost::install(bool keep_serving) {
    ports_.dp.set_interface_mac(id_.ifindex, ports_.rtnl.mac(id_.ifindex));
    // The VIPs' own interface (keepalived's use_vmac): ARP and NS for them still arrive on the
    // parent, where XDP answers; what is sent to the virtual MAC reaches the macvlan.
    if (!id_.cfg.vmac_interface.empty())
        vmac_ifindex_ = ports_.rtnl.ensure_macvlan(id_.ifindex, id_.cfg.vmac_interface, id_.mac);
    for (const auto& p : unicast_peers()) ports_.dp.add_unicast_peer(key_, p.bytes);
    for (const auto& v : vips_) {
        if (v.dev.empty()) ports_.dp.set_vip(vip_key(id_.ifindex, v.address), vip_entry(keep_serving), key_);
        if (keep_serving) continue;
        if (const auto ifindex = vip_ifindex(v)) ports_.addresses.remove(id_.id, *ifindex, v.address, v.prefix_len);  // left by a daemon that died
    }
    if (!keep_serving) queue_route_removals();  // likewise
}

void KernelRouterHost::forget() {
    ports_.sweep.unwatch(id_.id);
    for (const auto& v : vips_)
        if (v.dev.empty()) ports_.dp.remove_vip(vip_key(id_.ifindex, v.address));
    for (const auto& p : unicast_peers()) ports_.dp.remove_unicast_peer(key_, p.bytes);
    ports_.dp.remove_instance(key_);
    if (vmac_ifindex_) {
        try {
            ports_.rtnl.delete_link(id_.cfg.vmac_interface);  // and its addresses with it
        } catch (const std::exception& e) {
            // Left behind, it holds no address the router will not remove, and the next start
            // takes it as it is.
            spdlog::warn("{} {}", id_.label, e.what());
        }
    }
    vmac_ifindex_ = 0;
}

void KernelRouterHost::reconfigured(const config::Instance& next) {
    id_.cfg = next;
    advert_cache_priority_ = -1;  // the interval is in the frame too
}

void KernelRouterHost::write_instance(fsm::State state, std::uint8_t priority, bool kernel_preempt) {
    const auto& in = id_.cfg;
    const bool unicast = !unicast_peers().empty();
    xvrrp_inst i{};
    i.version = in.version;
    i.priority = priority;
    i.state = static_cast<std::uint8_t>(dataplane_state(state));
    i.flags = static_cast<std::uint8_t>(
        (id_.pass_adverts ? XVRRP_INST_F_PASS_ADVERTS : 0) | (in.v3_checksum_as_v2 ? XVRRP_INST_F_V3_CSUM_AS_V2 : 0) |
        (in.auth_pass ? XVRRP_INST_F_V2_AUTH_PASS : 0) | (kernel_preempt ? XVRRP_INST_F_PREEMPT : 0) |
        (unicast && in.unicast_check_source ? XVRRP_INST_F_UNICAST_CHECK : 0) |
        (unicast && in.unicast_routed ? XVRRP_INST_F_ANY_TTL : 0));
    i.adver_int_cs = in.adver_int_cs();
    i.down_timer_adverts = in.down_timer_adverts;
    i.generation = ++generation_;
    std::memcpy(i.primary_addr, id_.primary.bytes.data(), 16);
    if (in.auth_pass) std::memcpy(i.auth_data, in.auth_pass->data(), in.auth_pass->size());
    slot_ = ports_.dp.set_instance(key_, i);
}

void KernelRouterHost::take_vips(Nanos now, Nanos silence) {
    ports_.dp.advert_sent(slot_, now);  // the first advert follows at once
    ports_.dp.set_advert_silence(slot_, silence);
    // Frames to the virtual MAC: past the NIC's filter, handed to the stack as the interface's own
    // (TC ingress). Not with a vmac_interface: the macvlan takes them (TC ingress runs before it).
    if (id_.cfg.mac == config::MacMode::Virtual && id_.cfg.vmac_interface.empty()) {
        ports_.rtnl.add_unicast_mac(id_.ifindex, id_.mac);
        ports_.dp.set_vmac_owned(id_.ifindex, static_cast<std::uint8_t>(id_.family), id_.cfg.vrid, true);
    }
    for (const auto& v : vips_) {
        if (v.dev.empty()) ports_.dp.set_vip(vip_key(id_.ifindex, v.address), vip_entry(true), key_);
        if (!holds_addresses()) continue;
        const auto ifindex = vip_ifindex(v);
        if (!ifindex) throw std::runtime_error("VIP " + v.address.to_string() + ": no interface named " + v.dev);
        ports_.addresses.add(id_.id, *ifindex, v.address, v.prefix_len, v.label, v.scope);
    }
    for (const auto& r : routes_) {
        const auto ifindex = route_ifindex(r);
        if (!ifindex) throw std::runtime_error("route " + config::to_string(r.to) + ": no interface named " + r.dev);
        ports_.addresses.add_route(id_.id, *ifindex, r);
    }
    for (const auto& r : rules_) ports_.addresses.add_rule(id_.id, r);
}

void KernelRouterHost::release_vips() {
    queue_route_removals();
    for (const auto& v : vips_) {
        if (v.dev.empty()) ports_.dp.set_vip(vip_key(id_.ifindex, v.address), vip_entry(false), key_);
        if (const auto ifindex = vip_ifindex(v)) ports_.addresses.remove(id_.id, *ifindex, v.address, v.prefix_len);
    }
    if (id_.cfg.mac == config::MacMode::Virtual && id_.cfg.vmac_interface.empty()) {
        ports_.dp.set_vmac_owned(id_.ifindex, static_cast<std::uint8_t>(id_.family), id_.cfg.vrid, false);
        ports_.rtnl.remove_unicast_mac(id_.ifindex, id_.mac);
    }
}

void KernelRouterHost::set_advert_silence(Nanos silence) { ports_.dp.set_advert_silence(slot_, silence); }

void KernelRouterHost::queue(unsigned ifindex, Bytes frame, bool advert) {
    ports_.frames.queue(ifindex, std::move(frame), id_.id);
    frames_queued_ = true;
    advert_queued_ = advert_queued_ || advert;
}

void KernelRouterHost::send_advert(std::uint8_t priority) {
    const auto& in = id_.cfg;
    if (in.unicast_peers.empty() && advert_cache_priority_ == priority) {
        queue(id_.ifindex, advert_cache_, true);
        return;
    }
    VrrpAdvert a{.version = in.version, .vrid = in.vrid, .priority = priority, .adver_int_cs = in.adver_int_cs()};
    for (const auto& v : vips_) a.addresses.push_back(v.address);
    if (in.auth_pass) {
        a.auth_type = 1;
        std::memcpy(a.auth_data.data(), in.auth_pass->data(), in.auth_pass->size());
    }
    const VrrpChecksum mode =
        in.v3_checksum_as_v2 && id_.family == Family::V4 ? VrrpChecksum::V3AsV2 : VrrpChecksum::Standard;
    const auto peers = unicast_peers();
    for (const auto& peer : peers) {
        if (const int err = ports_.unicast.send(id_.ifindex, id_.primary, peer, encode_vrrp(a, id_.primary, peer, mode)))
            note_tx_error(err);
        else
            ports_.dp.advert_sent(slot_, monotonic_ns());
    }
    if (peers.empty()) {
        advert_cache_ = vrrp_frame(id_.mac, id_.primary, in.advert_group(id_.family), a, mode);
        advert_cache_priority_ = priority;
        queue(id_.ifindex, advert_cache_, true);
    }
}

void KernelRouterHost::announce() {
    for (const auto& v : vips_) {
        const auto ifindex = vip_ifindex(v);
        if (!ifindex) continue;  // its interface is gone: take_vips reports it
        const Mac mac = v.dev.empty() ? id_.mac : ports_.rtnl.mac(*ifindex);
        queue(*ifindex, id_.family == Family::V4 ? garp_frame(mac, v.address) : unsolicited_na_frame(mac, v.address, true),
              false);
    }
}

void KernelRouterHost::set_primary(const IpAddress& primary) {
    id_.primary = primary;
    advert_cache_priority_ = -1;  // its source and checksum
}

std::optional<Nanos> KernelRouterHost::kernel_master_down_at() {
    if (slot_ == kNoSlot) return std::nullopt;
    const xvrrp_peer peer = ports_.dp.peer_at(slot_);
    if (!peer.adverts) return std::nullopt;
    return peer.down_deadline_ns;
}

bool KernelRouterHost::kernel_timer_armed() const {
    return slot_ != kNoSlot && (ports_.dp.peer_at(slot_).flags & XVRRP_PEER_F_TIMER_ARMED);
}

bool KernelRouterHost::watch_master_down(Nanos now) {
    return slot_ != kNoSlot && ports_.sweep.watch(id_.id, slot_, now);
}

// A refused frame is this router's problem alone: counted, and logged a few times per 10 s at
// most (a full queue refuses every advert).
void KernelRouterHost::note_tx_error(int err) {
    ++tx_errors_;
    last_tx_error_ = err;
    if (const auto held = tx_error_log_.allow(monotonic_ns())) {
        const JournalFields fields(id_.journal);
        spdlog::warn("{} the kernel refused a frame on {}: {} ({} so far{})", id_.label, id_.cfg.interface, std::strerror(err),
                     tx_errors_, *held ? ", " + std::to_string(*held) + " not logged" : "");
    }
}

// Each advert the kernel took is stamped for the dataplane's fail-safe.
void KernelRouterHost::frames_flushed(const std::vector<int>& refused_errors, Nanos now) {
    for (int err : refused_errors) note_tx_error(err);
    if (advert_queued_ && refused_errors.empty()) ports_.dp.advert_sent(slot_, now);
    frames_queued_ = advert_queued_ = false;
}

void KernelRouterHost::restore_addresses(const std::vector<IpAddress>& present) {
    for (const auto& v : vips_) {
        if (!v.dev.empty() || vmac_ifindex_) continue;  // present lists the instance's interface only
        if (std::find(present.begin(), present.end(), v.address) != present.end()) continue;
        spdlog::warn("{} {} was removed while MASTER: restoring it", id_.label, v.address.to_string());
        ports_.addresses.add(id_.id, id_.ifindex, v.address, v.prefix_len, v.label, v.scope);
    }
}

bool KernelRouterHost::follow_interface_mac(const Mac& mac) {
    if (id_.cfg.mac != config::MacMode::Interface || id_.mac == mac) return false;
    id_.mac = mac;
    advert_cache_priority_ = -1;  // the advert's Ethernet source
    // Only the MAC: ownership stays as the router left it.
    for (const auto& v : vips_) {
        if (!v.dev.empty()) continue;
        const xvrrp_vip_key k = vip_key(id_.ifindex, v.address);
        if (auto entry = ports_.dp.vip(k)) {
            std::memcpy(entry->mac, mac.data(), mac.size());
            ports_.dp.set_vip(k, *entry, key_);
        }
    }
    return true;
}

void KernelRouterHost::notice(Notice n, std::uint8_t priority) {
    const bool priority_change = n == Notice::MasterPriority || n == Notice::BackupPriority;
    if (priority_change && !id_.cfg.notify_priority_changes) return;
    ports_.notices.push_back(PendingNotice{.source = NoticeSource{.group = false, .name = id_.notify_name},
                                           .scripts = id_.cfg.notify,
                                           .notice = n,
                                           .priority = priority});
}

}  // namespace xvrrp
