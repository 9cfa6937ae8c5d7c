/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Instances as the dataplane finds them: the directory probe and the configuration it points at. */
#ifndef XVRRP_BPF_INST_H
#define XVRRP_BPF_INST_H

#include "maps.h"
#include "table.h"

/*
 * An instance key as one 64-bit word, built from its fields: the key was just written field by
 * field, and a 64-bit load of it would stall on store forwarding. (Little-endian layout of
 * struct xvrrp_inst_key: ifindex, vlan, vrid, family.)
 */
static __always_inline __u64 inst_key_word(const struct xvrrp_inst_key *k)
{
	return k->ifindex | (__u64)k->vlan << 32 | (__u64)k->vrid << 48 | (__u64)k->family << 56;
}

static __always_inline int inst_key_is(const struct xvrrp_inst_key *bucket_key, __u64 word)
{
	return *(const __u64 *)bucket_key == word;
}

static __always_inline struct xvrrp_inst *inst_lookup(const struct xvrrp_inst_key *key)
{
	__u32 home = xvrrp_inst_hash(key->ifindex, key->vlan, key->vrid, key->family);
	struct xvrrp_inst_bucket *b = table_find(struct xvrrp_inst_bucket, xvrrp_inst_dir, XVRRP_INST_BUCKETS,
						 XVRRP_INST_PROBES, home, inst_key_word(key), inst_key_is);
	if (!b)
		return NULL;
	/* One load: the configuration the controller switched to last (never half of two). */
	__u32 config = *(volatile __u32 *)&b->config;
	return bpf_map_lookup_elem(&xvrrp_inst_cfg, &config);
}

#endif
