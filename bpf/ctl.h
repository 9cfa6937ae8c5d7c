/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* VIP ownership as the dataplane sees it: the owned flag, gated by the controller's heartbeat. */
#ifndef XVRRP_BPF_CTL_H
#define XVRRP_BPF_CTL_H

#include "parsing.h"

#include "maps.h"

/* A controller that stopped refreshing its heartbeat owns nothing. */
static __always_inline int controller_alive(void)
{
	__u32 zero = 0;
	struct xvrrp_ctl *ctl = bpf_map_lookup_elem(&xvrrp_ctl, &zero);

	if (!ctl || !ctl->heartbeat_timeout_ns)
		return 1;
	/* Signed: the coarse clock may lag a fresh heartbeat by a tick. */
	__s64 age = (__s64)(bpf_ktime_get_coarse_ns() - ctl->heartbeat_ns);
	return age <= (__s64)ctl->heartbeat_timeout_ns;
}

static __always_inline int vip_answerable(const struct xvrrp_vip *vip)
{
	return (vip->flags & XVRRP_VIP_F_OWNED) && controller_alive();
}

#endif
