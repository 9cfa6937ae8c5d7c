// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The xvrrp XDP program: VRRP adverts, ARP and neighbour solicitations for VIPs. */
#include "dispatch.h"

SEC("xdp")
int xvrrp_xdp(struct xdp_md *ctx)
{
	return xvrrp_dispatch(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
