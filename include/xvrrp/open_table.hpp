// The controller's side of the open-addressed tables in array maps (VIPs, the instance
// directory): the same probe walk as the XDP lookup (bpf/table.h), so what the controller places
// is what XDP finds.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>

#include "xvrrp/abi.h"

namespace xvrrp {

struct TablePlace {
    std::optional<std::uint32_t> found;  // bucket holding the key
    std::optional<std::uint32_t> free;   // first reusable bucket on the probe sequence
};

// bucket_at(index) returns the bucket (or an optional of it; empty ends the walk).
template <std::uint32_t Buckets, std::uint32_t Probes, class Key, class BucketAt>
TablePlace find_in_table(BucketAt&& bucket_at, const Key& key, std::uint32_t home) {
    static_assert((Buckets & (Buckets - 1)) == 0, "power of two");
    TablePlace place;
    for (std::uint32_t i = 0; i < Probes; ++i) {
        const std::uint32_t idx = (home + i) & (Buckets - 1);
        const auto b = bucket_at(idx);
        if (!b) break;
        if (b->state == XVRRP_BUCKET_USED && std::memcmp(&b->key, &key, sizeof(key)) == 0) {
            place.found = idx;
            return place;
        }
        if (b->state != XVRRP_BUCKET_USED && !place.free) place.free = idx;
        if (b->state == XVRRP_BUCKET_EMPTY) break;
    }
    return place;
}

}  // namespace xvrrp
