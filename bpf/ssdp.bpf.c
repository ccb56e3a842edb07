// SPDX-License-Identifier: GPL-2.0
/* ssdp.bpf.c — UPnP/SSDP between the networks of a zone.
 *
 * A TC ingress program for the interfaces of SSDP zones (docs/ssdp.md).
 * On an interface with an entry in jc_ssdp_ifaces it
 *   - rewrites a UDP broadcast (255.255.255.255 or the interface's subnet
 *     broadcast) to one of the configured ports into SSDP multicast:
 *     destination 239.255.255.250, destination MAC 01:00:5e:7f:ff:fa, IP and
 *     UDP checksums updated, before the IP stack sees it;
 *   - copies SSDP multicast (239.255.255.250:1900 or a configured port,
 *     ff02::c and ff05::c port 1900), whatever its TTL, out of the zone's
 *     other interfaces the pair's policy allows for this kind of message
 *     (M-SEARCH, NOTIFY, other), with the egress interface's source MAC and
 *     the pair's TTL / hop limit, by bpf_clone_redirect; out of an
 *     interface that is on demand only while a host there has joined the
 *     group of the packet's family (userspace keeps that in its entry);
 *   - relays nothing it sent itself (skb->mark, or a source MAC of one of
 *     the zone's interfaces: "loop"), nothing another relay sent (an IPv4
 *     source outside the interface's subnets, or an IPv6 packet with our
 *     copies' flow label: "foreign_relay"), nothing
 *     beyond a source's rate (GCRA per (interface, source)), nothing a
 *     source filter excludes, no fragment and nothing malformed.
 * It never drops a packet from its own network: every path returns
 * TC_ACT_UNSPEC, so the packet goes on to the next filter (membership) and
 * the stack with, at most, the broadcast rewrite applied.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ssdp_abi.h"

#define IPPROTO_UDP_ 17
#define IPPROTO_FRAGMENT_ 44

#define IP4_OFF_TOS 1
#define IP4_OFF_TTL 8
#define IP4_OFF_CSUM 10
#define IP4_OFF_DADDR 16
#define IP6_OFF_HOPLIMIT 7
#define UDP_OFF_CSUM 6

#define ETH_OFF_SRC 6

#define offsetof_(t, m) __builtin_offsetof(t, m)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JC_SSDP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct jc_ssdp_iface);
} jc_ssdp_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jc_ssdp_port_bits);
} jc_ssdp_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JC_SSDP_MAX_IFACES);
	__type(key, struct jc_ssdp_mac_key);
	__type(value, __u32); /* the interface with that address */
} jc_ssdp_own_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, JC_SSDP_MAX_FILTERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct jc_ssdp_filter_key);
	__type(value, __u32);
} jc_ssdp_filters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JC_SSDP_MAX_SOURCES);
	__type(key, struct jc_ssdp_source_key);
	__type(value, struct jc_ssdp_bucket);
} jc_ssdp_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 2 * JC_SSDP_MAX_IFACES);
	__type(key, struct jc_ssdp_counter_key);
	__type(value, struct jc_ssdp_counters);
} jc_ssdp_counters SEC(".maps");

#define FIELD(name) (offsetof_(struct jc_ssdp_counters, name) / sizeof(__u64))
#define NFIELDS (sizeof(struct jc_ssdp_counters) / sizeof(__u64))

/* Adds n to counter `field` of (ifindex, direction), creating the entry.
 * No result: a full counters map loses the count, never the packet. */
static __noinline void bump(__u32 ifindex, __u32 direction, __u32 field, __u32 n)
{
	struct jc_ssdp_counter_key key = {.ifindex = ifindex, .direction = direction};
	struct jc_ssdp_counters zero = {};
	__u64 *c;

	if (field >= NFIELDS)
		return;
	c = bpf_map_lookup_elem(&jc_ssdp_counters, &key);
	if (!c) {
		bpf_map_update_elem(&jc_ssdp_counters, &key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&jc_ssdp_counters, &key);
		if (!c)
			return;
	}
	c[field] += n;
}

#define COUNT_IN(ifindex, name) bump(ifindex, JC_SSDP_IN, FIELD(name), 1)

/* What the relay needs to know about one packet. */
struct pkt {
	__u32 ifindex;   /* ingress */
	__u32 l4;        /* offset of the UDP header */
	__u8 v6;
	__u8 kind;       /* enum jc_ssdp_kind */
	__u8 hop;        /* TTL / hop limit as received */
	__u8 pad;
	__be32 vtcfl;    /* IPv6: version, traffic class, flow label as received */
	__u8 src[JC_SSDP_ADDR_LEN] __attribute__((aligned(4)));
	__u8 mac[8] __attribute__((aligned(4))); /* source MAC, padded */
};

/* 1 if port (host order) is one of the interface's zone ports, or 1900
 * when ssdp_too; else 0. */
static __always_inline int is_port(const struct jc_ssdp_iface *in, __u16 port, int ssdp_too)
{
	if (ssdp_too && port == JC_SSDP_PORT)
		return 1;
	for (int i = 0; i < JC_SSDP_MAX_PORTS; i++)
		if (in->ports[i] && in->ports[i] == port)
			return 1;
	return 0;
}

/* M-SEARCH, NOTIFY or anything else, by the first bytes of the payload:
 * returns JC_SSDP_SEARCH, JC_SSDP_NOTIFY or JC_SSDP_OTHER (also for other
 * ports and payloads too short or unreadable). */
static __always_inline __u8 classify(struct __sk_buff *skb, __u32 payload, __u32 len, __u16 port)
{
	char m[9];

	if (port != JC_SSDP_PORT || len < sizeof(m) ||
	    bpf_skb_load_bytes(skb, payload, m, sizeof(m)) < 0)
		return JC_SSDP_OTHER;
	if (m[0] == 'M' && m[1] == '-' && m[2] == 'S' && m[3] == 'E' && m[4] == 'A' &&
	    m[5] == 'R' && m[6] == 'C' && m[7] == 'H' && m[8] == ' ')
		return JC_SSDP_SEARCH;
	if (m[0] == 'N' && m[1] == 'O' && m[2] == 'T' && m[3] == 'I' && m[4] == 'F' &&
	    m[5] == 'Y' && m[6] == ' ')
		return JC_SSDP_NOTIFY;
	return JC_SSDP_OTHER;
}

/* Source filter: 1 if the source address, or else the source MAC, is
 * listed for the ingress interface; 0 if neither is. */
static __always_inline int source_allowed(const struct pkt *p)
{
	struct jc_ssdp_filter_key k = {};

	k.prefixlen = 8 * (sizeof(k) - offsetof_(struct jc_ssdp_filter_key, ifindex) - sizeof(k.pad));
	k.ifindex = bpf_htonl(p->ifindex);
	__builtin_memcpy(k.addr, p->src, JC_SSDP_ADDR_LEN);
	if (bpf_map_lookup_elem(&jc_ssdp_filters, &k))
		return 1;
	__builtin_memset(k.addr, 0, JC_SSDP_ADDR_LEN);
	__builtin_memcpy(k.addr, p->mac, 6);
	k.is_mac = 1;
	return bpf_map_lookup_elem(&jc_ssdp_filters, &k) != 0;
}

/* GCRA: 1 if the source may have this packet relayed now, 0 if it is over
 * its rate (or no bucket can be had). */
static __noinline int rate_allows(__u32 ifindex, const __u8 *src, __u64 interval, __u32 burst)
{
	struct jc_ssdp_source_key key = {.ifindex = ifindex};
	struct jc_ssdp_bucket fresh = {};
	struct jc_ssdp_bucket *b;
	__u64 now = bpf_ktime_get_ns();
	__u64 tau = interval * (burst ? burst - 1 : 0);
	int ok;

	__builtin_memcpy(key.addr, src, JC_SSDP_ADDR_LEN);
	b = bpf_map_lookup_elem(&jc_ssdp_buckets, &key);
	if (!b) {
		bpf_map_update_elem(&jc_ssdp_buckets, &key, &fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&jc_ssdp_buckets, &key);
	}
	if (!b) {
		/* The table is full (a flood of forged sources): they share
		 * one bucket, the interface's, at address ::. */
		__builtin_memset(key.addr, 0, JC_SSDP_ADDR_LEN);
		bpf_map_update_elem(&jc_ssdp_buckets, &key, &fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&jc_ssdp_buckets, &key);
		if (!b)
			return 0;
	}
	bpf_spin_lock(&b->lock);
	{
		__u64 tat = b->tat_ns < now ? now : b->tat_ns;

		ok = tat - now <= tau;
		if (ok) {
			b->tat_ns = tat + interval;
			b->passed++;
		} else {
			b->limited++;
		}
	}
	bpf_spin_unlock(&b->lock);
	return ok;
}

/* Sets the TTL (IPv4, with the header checksum) or hop limit from `from`
 * to `to`. No result: a failed store leaves the copy as received. */
static __always_inline void set_hop(struct __sk_buff *skb, int v6, __u8 from, __u8 to)
{
	if (v6) {
		bpf_skb_store_bytes(skb, ETH_HLEN + IP6_OFF_HOPLIMIT, &to, 1, 0);
		return;
	}
	/* The checksum covers TTL as the high byte of the TTL/protocol word. */
	bpf_l3_csum_replace(skb, ETH_HLEN + IP4_OFF_CSUM, bpf_htons((__u16)from << 8),
			    bpf_htons((__u16)to << 8), 2);
	bpf_skb_store_bytes(skb, ETH_HLEN + IP4_OFF_TTL, &to, 1, 0);
}

/* The checks every SSDP packet passes, then one copy per allowed peer;
 * the packet itself is left as it came. No result: the verdict is always
 * TC_ACT_UNSPEC, what happened is in the counters. */
static __noinline void relay(struct __sk_buff *skb, const struct jc_ssdp_iface *in, struct pkt *p)
{
	struct jc_ssdp_mac_key mk = {};
	__u32 mark = skb->mark;
	__u32 sent = 0, allowed = 0;
	__u8 hop = p->hop;

	COUNT_IN(p->ifindex, ssdp);
	__builtin_memcpy(mk.mac, p->mac, 6);
	if (mark == JC_SSDP_MARK || bpf_map_lookup_elem(&jc_ssdp_own_macs, &mk)) {
		COUNT_IN(p->ifindex, loop);
		return;
	}
	if (!p->v6) {
		__be32 s = *(__be32 *)&p->src[12];
		int subnets = 0, inside = 0;

		for (int i = 0; i < JC_SSDP_MAX_SUBNETS; i++) {
			if (!in->mask[i])
				continue;
			subnets = 1;
			if ((s & in->mask[i]) == (in->subnet[i] & in->mask[i]))
				inside = 1;
		}
		if (subnets && !inside) {
			COUNT_IN(p->ifindex, foreign_relay);
			return;
		}
	} else if ((bpf_ntohl(p->vtcfl) & 0xfffff) == JC_SSDP_FLOW_LABEL) {
		COUNT_IN(p->ifindex, foreign_relay);
		return;
	}
	if ((in->flags & JC_SSDP_F_SOURCE_FILTER) && !source_allowed(p)) {
		COUNT_IN(p->ifindex, filtered);
		return;
	}
	for (int i = 0; i < JC_SSDP_MAX_PEERS; i++) {
		if (i >= in->peer_count)
			break;
		if (in->peers[i].kinds & p->kind)
			allowed++;
	}
	if (!allowed) {
		COUNT_IN(p->ifindex, policy);
		return;
	}
	if (in->interval_ns && !rate_allows(p->ifindex, p->src, in->interval_ns, in->burst)) {
		COUNT_IN(p->ifindex, rate_limited);
		return;
	}

	if (p->v6) {
		__be32 marked = bpf_htonl((bpf_ntohl(p->vtcfl) & 0xfff00000) | JC_SSDP_FLOW_LABEL);

		bpf_skb_store_bytes(skb, ETH_HLEN, &marked, sizeof(marked), 0);
	}
	for (int i = 0; i < JC_SSDP_MAX_PEERS; i++) {
		__u32 out_ifindex;
		__u8 want;
		struct jc_ssdp_iface *out;

		if (i >= in->peer_count)
			break;
		if (!(in->peers[i].kinds & p->kind))
			continue;
		out_ifindex = in->peers[i].ifindex;
		want = in->peers[i].ttl ? in->peers[i].ttl : p->hop;
		out = bpf_map_lookup_elem(&jc_ssdp_ifaces, &out_ifindex);
		if (!out || out_ifindex == p->ifindex)
			continue;
		/* On demand: only while a host there listens to the group. */
		if ((out->flags & JC_SSDP_F_ON_DEMAND) &&
		    !(out->listening & (p->v6 ? JC_SSDP_LISTEN_V6 : JC_SSDP_LISTEN_V4))) {
			bump(out_ifindex, JC_SSDP_OUT, FIELD(no_listeners), 1);
			continue;
		}
		bpf_skb_store_bytes(skb, ETH_OFF_SRC, out->mac, 6, 0);
		if (want != hop) {
			set_hop(skb, p->v6, hop, want);
			hop = want;
		}
		skb->mark = JC_SSDP_MARK;
		if (bpf_clone_redirect(skb, out_ifindex, 0) == 0) {
			bump(out_ifindex, JC_SSDP_OUT, FIELD(relayed), 1);
			sent++;
		} else {
			bump(out_ifindex, JC_SSDP_OUT, FIELD(errors), 1);
		}
	}
	/* The packet goes on into its own network as it came. */
	skb->mark = mark;
	bpf_skb_store_bytes(skb, ETH_OFF_SRC, p->mac, 6, 0);
	if (hop != p->hop)
		set_hop(skb, p->v6, hop, p->hop);
	if (p->v6)
		bpf_skb_store_bytes(skb, ETH_HLEN, &p->vtcfl, sizeof(p->vtcfl), 0);
	if (sent)
		COUNT_IN(p->ifindex, relayed);
}

struct ip4 {
	__u8 vhl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__be32 saddr;
	__be32 daddr;
};

struct udp {
	__be16 source;
	__be16 dest;
	__be16 len;
	__be16 check;
};

/* 1 if daddr is 255.255.255.255 or the broadcast address of one of the
 * interface's subnets; else 0. */
static __always_inline int is_broadcast(const struct jc_ssdp_iface *in, __be32 daddr)
{
	if (daddr == 0xffffffff)
		return 1;
	for (int i = 0; i < JC_SSDP_MAX_SUBNETS; i++)
		if (in->mask[i] && in->mask[i] != 0xffffffff &&
		    daddr == ((in->subnet[i] & in->mask[i]) | ~in->mask[i]))
			return 1;
	return 0;
}

/* IPv4: validates, rewrites a zone broadcast, relays SSDP multicast.
 * No result (see relay()). */
static __noinline void handle_ipv4(struct __sk_buff *skb, const struct jc_ssdp_iface *in, struct pkt *p)
{
	struct ip4 ip;
	struct udp udp;
	__u32 ihl, tot, ulen;
	__u16 port;
	int group, bcast;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return;
	group = ip.daddr == bpf_htonl(JC_SSDP_GROUP4);
	bcast = !group && is_broadcast(in, ip.daddr);
	if ((!group || !(in->flags & JC_SSDP_F_IPV4)) &&
	    (!bcast || !(in->flags & JC_SSDP_F_REWRITE)))
		return;
	if (ip.protocol != IPPROTO_UDP_)
		return;
	ihl = (ip.vhl & 0x0f) * 4;
	tot = bpf_ntohs(ip.tot_len);
	if ((ip.vhl >> 4) != 4 || ihl < 20) {
		if (group)
			COUNT_IN(p->ifindex, malformed);
		return;
	}
	/* Any fragment: the first has the port, the others not; neither is
	 * relayed or rewritten. */
	if (ip.frag_off & bpf_htons(0x3fff)) {
		if (group)
			COUNT_IN(p->ifindex, fragment);
		return;
	}
	if (ETH_HLEN + tot > skb->len || tot < ihl + sizeof(udp)) {
		if (group)
			bump(p->ifindex, JC_SSDP_IN, tot < ihl + sizeof(udp) ? FIELD(malformed) : FIELD(truncated), 1);
		return;
	}
	p->l4 = ETH_HLEN + ihl;
	if (bpf_skb_load_bytes(skb, p->l4, &udp, sizeof(udp)) < 0)
		return;
	port = bpf_ntohs(udp.dest);
	if (!is_port(in, port, group))
		return;
	ulen = bpf_ntohs(udp.len);
	if (ulen < sizeof(udp) || ulen > tot - ihl) {
		bump(p->ifindex, JC_SSDP_IN, ulen < sizeof(udp) ? FIELD(malformed) : FIELD(truncated), 1);
		return;
	}
	if (tot > JC_SSDP_MAX_LEN) {
		COUNT_IN(p->ifindex, oversized);
		return;
	}
	if (bcast) {
		static const __u8 mcast_mac[6] = {0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa};
		__be32 to = bpf_htonl(JC_SSDP_GROUP4);

		if (bpf_l4_csum_replace(skb, p->l4 + UDP_OFF_CSUM, ip.daddr, to,
					BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(to)) < 0 ||
		    bpf_l3_csum_replace(skb, ETH_HLEN + IP4_OFF_CSUM, ip.daddr, to, sizeof(to)) < 0 ||
		    bpf_skb_store_bytes(skb, ETH_HLEN + IP4_OFF_DADDR, &to, sizeof(to), 0) < 0 ||
		    bpf_skb_store_bytes(skb, 0, mcast_mac, sizeof(mcast_mac), 0) < 0) {
			COUNT_IN(p->ifindex, errors);
			return;
		}
		bpf_skb_change_type(skb, PACKET_MULTICAST);
		COUNT_IN(p->ifindex, rewritten);
		if (!(in->flags & JC_SSDP_F_IPV4))
			return;
	}
	p->v6 = 0;
	p->hop = ip.ttl;
	__builtin_memset(p->src, 0, 10);
	p->src[10] = 0xff;
	p->src[11] = 0xff;
	__builtin_memcpy(&p->src[12], &ip.saddr, 4);
	p->kind = classify(skb, p->l4 + sizeof(udp), ulen - sizeof(udp), port);
	relay(skb, in, p);
}

/* IPv6 to ff02::c / ff05::c port 1900: validates and relays. No result. */
static __noinline void handle_ipv6(struct __sk_buff *skb, const struct jc_ssdp_iface *in, struct pkt *p)
{
	struct {
		__be32 vtcfl;
		__be16 payload_len;
		__u8 nexthdr;
		__u8 hop_limit;
		__u8 saddr[16];
		__u8 daddr[16];
	} ip;
	struct udp udp;
	__u32 plen, ulen;
	__u8 scope;

	if (!(in->flags & JC_SSDP_F_IPV6))
		return;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return;
	/* ff02::c or ff05::c */
	scope = ip.daddr[1];
	if (ip.daddr[0] != 0xff || (scope != 0x02 && scope != 0x05) || ip.daddr[15] != 0x0c)
		return;
	for (int i = 2; i < 15; i++)
		if (ip.daddr[i])
			return;
	if ((bpf_ntohl(ip.vtcfl) >> 28) != 6) {
		COUNT_IN(p->ifindex, malformed);
		return;
	}
	if (ip.nexthdr == IPPROTO_FRAGMENT_) {
		COUNT_IN(p->ifindex, fragment);
		return;
	}
	/* SSDP has no use for extension headers: not relayed. */
	if (ip.nexthdr != IPPROTO_UDP_)
		return;
	plen = bpf_ntohs(ip.payload_len);
	if (ETH_HLEN + sizeof(ip) + plen > skb->len) {
		COUNT_IN(p->ifindex, truncated);
		return;
	}
	p->l4 = ETH_HLEN + sizeof(ip);
	if (plen < sizeof(udp) || bpf_skb_load_bytes(skb, p->l4, &udp, sizeof(udp)) < 0) {
		COUNT_IN(p->ifindex, malformed);
		return;
	}
	if (bpf_ntohs(udp.dest) != JC_SSDP_PORT)
		return;
	ulen = bpf_ntohs(udp.len);
	if (ulen < sizeof(udp) || ulen > plen) {
		bump(p->ifindex, JC_SSDP_IN, ulen < sizeof(udp) ? FIELD(malformed) : FIELD(truncated), 1);
		return;
	}
	if (sizeof(ip) + plen > JC_SSDP_MAX_LEN) {
		COUNT_IN(p->ifindex, oversized);
		return;
	}
	p->v6 = 1;
	p->hop = ip.hop_limit;
	p->vtcfl = ip.vtcfl;
	__builtin_memcpy(p->src, ip.saddr, 16);
	p->kind = classify(skb, p->l4 + sizeof(udp), ulen - sizeof(udp), JC_SSDP_PORT);
	relay(skb, in, p);
}

SEC("tc")
int jc_ssdp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__be16 proto = skb->protocol;
	struct jc_ssdp_iface *in;
	struct pkt p = {};
	__u8 *eth = data;
	__u32 ifindex;

	/* Fast path: only UDP (or IPv6 fragments) to the SSDP or the
	 * broadcast MAC goes further. */
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return TC_ACT_UNSPEC;
	if ((void *)(eth + ETH_HLEN + 10) > data_end)
		return TC_ACT_UNSPEC; /* shorter than any SSDP packet */
	if (proto == bpf_htons(ETH_P_IP)) {
		if (eth[ETH_HLEN + 9] != IPPROTO_UDP_)
			return TC_ACT_UNSPEC;
		if (!(eth[0] == 0xff && eth[1] == 0xff && eth[2] == 0xff && eth[3] == 0xff &&
		      eth[4] == 0xff && eth[5] == 0xff) &&
		    !(eth[0] == 0x01 && eth[1] == 0x00 && eth[2] == 0x5e && eth[3] == 0x7f &&
		      eth[4] == 0xff && eth[5] == 0xfa))
			return TC_ACT_UNSPEC;
		/* A whole datagram with a plain 20-byte header to a port no
		 * zone takes (a DHCP broadcast): gone after one array lookup.
		 * Anything else is looked at in full. */
		if (eth[ETH_HLEN] == 0x45 && (void *)(eth + ETH_HLEN + 24) <= data_end &&
		    !(eth[ETH_HLEN + 6] & 0x3f) && !eth[ETH_HLEN + 7]) {
			__u32 zero = 0;
			__u32 dport = ((__u32)eth[ETH_HLEN + 22] << 8) | eth[ETH_HLEN + 23];
			__u32 byte = dport >> 3;
			struct jc_ssdp_port_bits *ports = bpf_map_lookup_elem(&jc_ssdp_ports, &zero);

			/* Linux 6.1's verifier loses the bounds of the OR above
			 * ("R0 unbounded memory access"); the mask, kept by the
			 * barrier, gives them back. */
			barrier_var(byte);
			byte &= sizeof(ports->bits) - 1;
			if (ports && !(ports->bits[byte] & (1 << (dport & 7))))
				return TC_ACT_UNSPEC;
		}
	} else {
		if (!(eth[0] == 0x33 && eth[1] == 0x33 && eth[2] == 0 && eth[3] == 0 &&
		      eth[4] == 0 && eth[5] == 0x0c))
			return TC_ACT_UNSPEC;
	}

	ifindex = skb->ingress_ifindex ? skb->ingress_ifindex : skb->ifindex;
	in = bpf_map_lookup_elem(&jc_ssdp_ifaces, &ifindex);
	if (!in)
		return TC_ACT_UNSPEC;
	/* 802.1Q tags are in skb->vlan_tci, not the data, on a VLAN device;
	 * on a trunk the tagged frames are not the zone's. */
	if (skb->vlan_present)
		return TC_ACT_UNSPEC;
	p.ifindex = ifindex;
	__builtin_memcpy(p.mac, eth + ETH_OFF_SRC, 6);
	if (proto == bpf_htons(ETH_P_IP))
		handle_ipv4(skb, in, &p);
	else
		handle_ipv6(skb, in, &p);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
