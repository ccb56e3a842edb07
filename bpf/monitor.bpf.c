// SPDX-License-Identifier: GPL-2.0
/* monitor.bpf.c — monitoring traffic sent to multicast groups (syslog, SNMP
 * traps, NTP requests from switches), on TC ingress of the interfaces it
 * arrives on. See bpf/shared/monitor_abi.h for the maps.
 *
 * A UDP datagram whose (interface, destination group, destination port) is
 * in jc_mon_entries is counted; when the entry lists allowed senders and
 * the source is not among them it is dropped (and counted as filtered);
 * when the entry says so (NTP) its destination address and MAC become the
 * interface's own, with the IP and UDP checksums updated and the packet
 * type set to PACKET_HOST, so the local NTP server sees an ordinary unicast
 * request and answers from its unicast address. Every other packet, and
 * every one the program cannot parse, passes untouched: TC_ACT_UNSPEC, so
 * the filters after it (the membership program) still run.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "monitor_abi.h"

#define PACKET_HOST_ 0
#define IPPROTO_UDP_ 17
#define JC_ETH_HLEN 14
#define JC_IP4_DADDR 16      /* offset in the IPv4 header */
#define JC_IP4_CSUM 10
#define JC_IP6_DADDR 24      /* offset in the IPv6 header */
#define JC_IP6_HLEN 40
#define JC_UDP_CSUM 6

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JC_MON_MAX_ENTRIES);
	__type(key, struct jc_mon_key);
	__type(value, struct jc_mon_entry);
} jc_mon_entries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, JC_MON_MAX_SENDERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct jc_mon_sender_key);
	__type(value, __u8);
} jc_mon_senders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, JC_MON_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct jc_mon_counters);
} jc_mon_counters SEC(".maps");

/* What the parser found: enough to look the datagram up and rewrite it. */
struct jc_mon_packet {
	struct jc_mon_key key;
	__u8 source[16];
	__u32 l3;      /* offset of the IP header */
	__u32 udp;     /* offset of the UDP header */
	__u8 ipv6;
	__u16 udp_csum;
};

static __always_inline void jc_map4(__u8 *dst, __u32 addr_be)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr_be, 4);
}

/* Parses Ethernet (one 802.1Q tag at most), IPv4 or IPv6 without extension
 * headers, and UDP to a multicast destination. 0 when it is one. */
static __always_inline int jc_mon_parse(struct __sk_buff *skb, struct jc_mon_packet *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 off = JC_ETH_HLEN;
	__u16 proto;

	if ((void *)(eth + 1) > end)
		return -1;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		__u16 *inner = (void *)(eth + 1) + 2;
		if ((void *)(inner + 1) > end)
			return -1;
		proto = *inner;
		off += 4;
	}
	p->l3 = off;
	if (proto == bpf_htons(ETH_P_IP)) {
		__u8 *ip = data + off;
		__u32 daddr, saddr;
		__u16 frag;
		if ((void *)(ip + 20) > end)
			return -1;
		if ((ip[0] >> 4) != 4 || ip[9] != IPPROTO_UDP_)
			return -1;
		__builtin_memcpy(&frag, ip + 6, 2);
		if (bpf_ntohs(frag) & 0x3fff) /* a fragment: no UDP header to trust */
			return -1;
		__builtin_memcpy(&daddr, ip + 16, 4);
		__builtin_memcpy(&saddr, ip + 12, 4);
		if ((bpf_ntohl(daddr) >> 28) != 0xe)
			return -1;
		jc_map4(p->key.group, daddr);
		jc_map4(p->source, saddr);
		p->udp = off + (ip[0] & 0xf) * 4;
		if ((ip[0] & 0xf) < 5)
			return -1;
		p->ipv6 = 0;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		__u8 *ip = data + off;
		if ((void *)(ip + JC_IP6_HLEN) > end)
			return -1;
		if ((ip[0] >> 4) != 6 || ip[6] != IPPROTO_UDP_ || ip[24] != 0xff)
			return -1;
		__builtin_memcpy(p->key.group, ip + JC_IP6_DADDR, 16);
		__builtin_memcpy(p->source, ip + 8, 16);
		p->udp = off + JC_IP6_HLEN;
		p->ipv6 = 1;
	} else {
		return -1;
	}
	__u16 udp[4];
	if (bpf_skb_load_bytes(skb, p->udp, udp, sizeof(udp)) < 0)
		return -1;
	p->key.port = bpf_ntohs(udp[1]);
	p->udp_csum = udp[3];
	p->key.ifindex = skb->ingress_ifindex;
	return 0;
}

/* Destination := the interface's own address and MAC, checksums kept. */
static __always_inline int jc_mon_rewrite(struct __sk_buff *skb, const struct jc_mon_packet *p,
					  const struct jc_mon_entry *e)
{
	__u32 csum_off = p->udp + JC_UDP_CSUM;

	if (bpf_skb_store_bytes(skb, 0, e->local_mac, 6, 0) < 0)
		return -1;
	if (!p->ipv6) {
		__u32 from, to;
		__builtin_memcpy(&from, p->key.group + 12, 4);
		__builtin_memcpy(&to, e->local + 12, 4);
		/* A zero UDP checksum means none (RFC 768): it stays zero. */
		if (bpf_l4_csum_replace(skb, csum_off, from, to,
					BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4) < 0)
			return -1;
		if (bpf_l3_csum_replace(skb, p->l3 + JC_IP4_CSUM, from, to, 4) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, p->l3 + JC_IP4_DADDR, &to, 4, 0) < 0)
			return -1;
	} else {
		__s64 diff = bpf_csum_diff((__be32 *)p->key.group, 16, (__be32 *)e->local, 16, 0);
		if (diff < 0)
			return -1;
		if (bpf_l4_csum_replace(skb, csum_off, 0, (__u32)diff, BPF_F_PSEUDO_HDR) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, p->l3 + JC_IP6_DADDR, e->local, 16, 0) < 0)
			return -1;
	}
	/* It arrived as multicast; to the stack it is now ours. */
	return bpf_skb_change_type(skb, PACKET_HOST_);
}

SEC("tc")
int jc_monitor(struct __sk_buff *skb)
{
	struct jc_mon_packet p = {};
	struct jc_mon_entry *e;
	struct jc_mon_counters *c;

	if (jc_mon_parse(skb, &p) < 0)
		return TC_ACT_UNSPEC;
	e = bpf_map_lookup_elem(&jc_mon_entries, &p.key);
	if (!e)
		return TC_ACT_UNSPEC;
	__u32 id = e->id;
	c = bpf_map_lookup_elem(&jc_mon_counters, &id);
	if (!c)
		return TC_ACT_UNSPEC;

	if (e->flags & JC_MON_F_SENDERS) {
		struct jc_mon_sender_key k = {.prefixlen = 32 + 128, .id_be = bpf_htonl(id)};
		__builtin_memcpy(k.addr, p.source, 16);
		if (!bpf_map_lookup_elem(&jc_mon_senders, &k)) {
			__sync_fetch_and_add(&c->filtered, 1);
			c->filtered_ns = bpf_ktime_get_ns();
			__builtin_memcpy(c->filtered_sender, p.source, 16);
			return TC_ACT_SHOT;
		}
	}
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, skb->len - p.l3);
	c->last_ns = bpf_ktime_get_ns();
	__builtin_memcpy(c->last_sender, p.source, 16);

	if ((e->flags & JC_MON_F_REWRITE) && jc_mon_rewrite(skb, &p, e) == 0)
		__sync_fetch_and_add(&c->rewritten, 1);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
