/* ssdp_abi.h — what the SSDP relay TC program (bpf/ssdp.bpf.c) and
 * userspace share: the per-interface configuration of a zone, the source
 * filters, the rate-limit buckets and the counters.
 *
 * This is the only definition of these structs. Fixed-width types, explicit
 * padding, no implicit holes: the C++ side static_asserts every size.
 *
 * Addresses are 16 bytes as in membership_abi.h: IPv6 as is, IPv4 as
 * IPv4-mapped (::ffff:a.b.c.d).
 */
#ifndef JOINCAST_SSDP_ABI_H
#define JOINCAST_SSDP_ABI_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

#define JC_SSDP_ADDR_LEN 16

/* Default sizes; userspace may resize before load. */
#define JC_SSDP_MAX_IFACES 256
#define JC_SSDP_MAX_SOURCES 4096 /* rate-limit buckets, one per (interface, source) */
#define JC_SSDP_MAX_FILTERS 1024 /* source prefixes and MAC addresses */

/* Bounds of one interface's entry. */
#define JC_SSDP_MAX_PEERS 8  /* interfaces one interface relays to */
#define JC_SSDP_MAX_PORTS 4  /* UDP ports whose broadcasts become SSDP multicast */
#define JC_SSDP_MAX_SUBNETS 4 /* IPv4 subnets of the interface */

/* 239.255.255.250 and port 1900 (UPnP Device Architecture 2.0 §1.1.2). */
#define JC_SSDP_GROUP4 0xeffffffaU
#define JC_SSDP_PORT 1900

/* skb->mark of the copies the program sends, so that a copy looping back
 * into a TC hook of this host is recognised ("JCSD"). */
#define JC_SSDP_MARK 0x4a435344U

/* The IPv6 flow label of the copies the program sends: a joincast relay on
 * another router recognises them (an IPv6 copy keeps its link-local
 * source, so the subnet test that catches IPv4 copies cannot). A host
 * choosing this label by chance (1 in 2^20 flows) is not relayed. */
#define JC_SSDP_FLOW_LABEL 0x5d5c1U

/* What an SSDP datagram is, by the start of its payload: the policy of an
 * interface pair says which kinds cross. */
enum jc_ssdp_kind {
	JC_SSDP_SEARCH = 1, /* "M-SEARCH " */
	JC_SSDP_NOTIFY = 2, /* "NOTIFY " (ssdp:alive, ssdp:byebye, ssdp:update) */
	JC_SSDP_OTHER = 4,  /* anything else, e.g. the datagrams Sonos sends to 6969 */
};

/* jc_ssdp_iface.flags */
enum jc_ssdp_flags {
	JC_SSDP_F_IPV4 = 1,          /* relay IPv4 (239.255.255.250) */
	JC_SSDP_F_IPV6 = 2,          /* relay IPv6 (ff02::c, ff05::c) */
	JC_SSDP_F_REWRITE = 4,       /* broadcasts on `ports` become 239.255.255.250 */
	JC_SSDP_F_SOURCE_FILTER = 8, /* relay only from sources in jc_ssdp_filters */
	JC_SSDP_F_ON_DEMAND = 16,    /* copies go out of this interface only while a host
	                              * there listens (jc_ssdp_iface.listening) */
};

/* jc_ssdp_iface.listening: which SSDP groups a host on the interface has
 * joined, as the membership module reports (userspace keeps it current). */
enum jc_ssdp_listening {
	JC_SSDP_LISTEN_V4 = 1, /* 239.255.255.250 */
	JC_SSDP_LISTEN_V6 = 2, /* ff02::c or ff05::c */
};

/* One interface a packet received on this interface may be copied to. */
struct jc_ssdp_peer {
	__u32 ifindex;
	__u8 kinds; /* enum jc_ssdp_kind bits allowed from here to there */
	__u8 ttl;   /* IPv4 TTL / IPv6 hop limit of the copy; 0: unchanged */
	__u8 pad[2];
};

/* ifaces: ifindex -> how that interface takes part in its zone. An
 * interface without an entry is not in a zone: the program passes all of
 * its traffic after one lookup. */
struct jc_ssdp_iface {
	__u32 zone;      /* zone number, for userspace; the program ignores it */
	__u8 flags;      /* enum jc_ssdp_flags */
	__u8 peer_count; /* entries used in peers */
	__u8 mac[6];     /* this interface's address: the source MAC of copies sent out of it */
	/* Rate limit per source on this interface (GCRA): one packet per
	 * interval_ns, up to burst at once. interval_ns 0: no limit. */
	__u32 burst;
	__u64 interval_ns;
	__u16 ports[JC_SSDP_MAX_PORTS]; /* host order; 0: unused */
	/* IPv4 subnets on the interface, network order: their broadcast
	 * addresses are rewritten too, and an IPv4 SSDP packet whose source is
	 * in none of them came through another relay. mask 0: unused. */
	__be32 subnet[JC_SSDP_MAX_SUBNETS];
	__be32 mask[JC_SSDP_MAX_SUBNETS];
	struct jc_ssdp_peer peers[JC_SSDP_MAX_PEERS];
	__u8 listening; /* enum jc_ssdp_listening bits; read with JC_SSDP_F_ON_DEMAND */
	__u8 pad[7];
};

/* own_macs: the MAC addresses copies are sent from. A packet arriving from
 * one of them is our own copy come back (a loop). */
struct jc_ssdp_mac_key {
	__u8 mac[6];
	__u8 pad[2];
};

/* filters: an LPM trie of (ingress interface, source prefix) the interface
 * relays from, when JC_SSDP_F_SOURCE_FILTER is set. prefixlen counts the
 * 32 bits of ifindex too. Source MACs are entries with a MAC in the first
 * 6 address bytes and is_mac set, looked up exactly. */
struct jc_ssdp_filter_key {
	__u32 prefixlen;
	__be32 ifindex; /* network order, so that the prefix covers it first */
	__u8 is_mac;    /* 0: addr is an address; 1: addr[0..5] is a MAC */
	__u8 addr[JC_SSDP_ADDR_LEN];
	__u8 pad[3];
};

/* buckets: (ingress interface, source address) -> its rate-limit state. */
struct jc_ssdp_source_key {
	__u32 ifindex;
	__u8 addr[JC_SSDP_ADDR_LEN];
};

struct jc_ssdp_bucket {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tat_ns; /* GCRA theoretical arrival time, CLOCK_MONOTONIC */
	__u64 passed;
	__u64 limited;
};

enum jc_ssdp_direction {
	JC_SSDP_IN = 0,  /* packets received on the interface */
	JC_SSDP_OUT = 1, /* copies sent out of the interface */
};

/* counters: (interface, direction) -> verdicts, one per-CPU slot; userspace
 * sums over CPUs. */
struct jc_ssdp_counter_key {
	__u32 ifindex;
	__u32 direction; /* enum jc_ssdp_direction */
};

struct jc_ssdp_counters {
	__u64 ssdp;          /* IN: SSDP multicast (after a rewrite) examined */
	__u64 rewritten;     /* IN: broadcasts turned into 239.255.255.250 */
	__u64 relayed;       /* IN: packets copied at least once; OUT: copies sent */
	__u64 filtered;      /* IN: source not in the interface's source filter */
	__u64 policy;        /* IN: no peer takes this kind of message */
	__u64 rate_limited;  /* IN: over the source's rate */
	__u64 loop;          /* IN: our own copy come back (mark or source MAC) */
	__u64 foreign_relay; /* IN: another relay's copy: IPv4 from outside the interface's
	                      * subnets, IPv6 with JC_SSDP_FLOW_LABEL */
	__u64 truncated;     /* IN: IP or UDP length beyond the frame */
	__u64 malformed;     /* IN: bad IP header length, UDP length, extension headers */
	__u64 fragment;      /* IN: fragments are never relayed */
	__u64 oversized;     /* IN: longer than JC_SSDP_MAX_LEN */
	__u64 errors;        /* IN: a rewrite failed; OUT: bpf_clone_redirect failed */
	__u64 no_listeners;  /* OUT: copies not sent: the interface is on demand and no host
	                      * there listens to the SSDP group of that family */
};

/* ports: one entry (key 0), a bit per UDP port that any zone interface
 * takes (1900 and every zone's `ports`), which userspace keeps as the union
 * of the interface entries. The program's fast path lets an IPv4 datagram
 * to another port go after reading it, before any other lookup. */
struct jc_ssdp_port_bits {
	__u8 bits[65536 / 8]; /* bit (port & 7) of byte (port >> 3) */
};

/* Largest IP packet relayed: an Ethernet MTU. */
#define JC_SSDP_MAX_LEN 1500

#endif /* JOINCAST_SSDP_ABI_H */
