// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The xvrrp dataplane's entry points, sharing one set of maps:
 * XDP for VRRP adverts, ARP and neighbour solicitations for VIPs;
 * TC ingress for traffic sent to the virtual MACs this node owns;
 * TC egress, where the kernel never speaks for a VIP (egress.h).
 */
#include <linux/pkt_cls.h>
#include "dispatch.h"
#include "vmac.h"
#include "egress.h"

#define PACKET_HOST 0

SEC("xdp")
int xvrrp_xdp(struct xdp_md *ctx)
{
	return xvrrp_dispatch(ctx);
}

SEC("tc")
int xvrrp_tc_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	struct xvrrp_vmac *v = owned_vmac(skb->ingress_ifindex, eth->h_dest);
	if (!v)
		return TC_ACT_OK;
	mac_copy(eth->h_dest, v->iface_mac);
	bpf_skb_change_type(skb, PACKET_HOST);
	return TC_ACT_OK;
}

SEC("tc")
int xvrrp_tc_egress(struct __sk_buff *skb)
{
	return vip_egress(skb);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
