// Compile-time checks that the C++ build sees the ABI structs exactly as the
// BPF side lays them out (sizes and offsets bpftool and the maps rely on).
#include <cstddef>

#include "xvrrp/abi.h"

static_assert(sizeof(xvrrp_inst_key) == 8);
static_assert(offsetof(xvrrp_inst_key, vrid) == 6 && offsetof(xvrrp_inst_key, family) == 7);
static_assert(sizeof(xvrrp_inst) == 48 && offsetof(xvrrp_inst, key) == 40);
static_assert(offsetof(xvrrp_inst, primary_addr) == 16 && offsetof(xvrrp_inst, auth_data) == 32);
static_assert(offsetof(xvrrp_inst, slot) == 12);
static_assert(sizeof(xvrrp_peer) == 72);
static_assert(offsetof(xvrrp_peer, addr) == 32 && offsetof(xvrrp_peer, inst) == 48 &&
              offsetof(xvrrp_peer, event_window_ns) == 56);
static_assert(sizeof(xvrrp_peer_timer) == 16);
static_assert(sizeof(xvrrp_upeer_key) == 24 && offsetof(xvrrp_upeer_key, addr) == 8);
static_assert(sizeof(xvrrp_vip_key) == 24 && offsetof(xvrrp_vip_key, addr) == 8);
static_assert(sizeof(xvrrp_vip) == 12 && offsetof(xvrrp_vip, slot) == 8);
static_assert(sizeof(xvrrp_ctl) == 24);
static_assert(sizeof(xvrrp_tx) == 16 && (XVRRP_MAX_INSTANCES * sizeof(xvrrp_tx)) % 4096 == 0, "mmapped whole pages");
static_assert(sizeof(xvrrp_counter) == 16);
static_assert(sizeof(xvrrp_inst_stats) == 11 * 8);
static_assert(sizeof(xvrrp_event) == 40 && offsetof(xvrrp_event, addr) == 24);
static_assert(sizeof(xvrrp_vip_bucket) == 40 && offsetof(xvrrp_vip_bucket, state) == 36);
static_assert((XVRRP_VIP_BUCKETS & (XVRRP_VIP_BUCKETS - 1)) == 0, "power of two");
static_assert(sizeof(xvrrp_inst_bucket) == 16 && offsetof(xvrrp_inst_bucket, config) == 8);
static_assert((XVRRP_INST_BUCKETS & (XVRRP_INST_BUCKETS - 1)) == 0, "power of two");
static_assert(XVRRP_INST_BUCKETS >= 4 * XVRRP_MAX_INSTANCES, "a load of 1/4 at most");
static_assert(sizeof(xvrrp_vmac) == 72 && offsetof(xvrrp_vmac, owned) == 8);
