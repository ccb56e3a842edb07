/* monitor_abi.h — what bpf/monitor.bpf.c and joincastd's monitor module
 * (daemon/lan/monitor/) share: the keys and values of its maps.
 *
 * The monitor program sits on TC ingress of the interfaces that monitoring
 * traffic arrives on (a management VLAN, say). For every UDP datagram to a
 * (interface, group, port) that a [[monitor]] entry names it counts the
 * datagram, remembers its sender, drops it when the entry lists allowed
 * senders and this one is not among them, and, for NTP, rewrites its
 * destination to the interface's own unicast address so that the local
 * NTP server answers it like any request (chrony and ntpsec do not answer
 * requests sent to a group). Everything else passes untouched.
 *
 * Addresses are 16 bytes: IPv6 as is, IPv4 as an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d), so one key type serves both families.
 */
#ifndef JOINCAST_MONITOR_ABI_H
#define JOINCAST_MONITOR_ABI_H

#include <linux/types.h>

#define JC_MON_MAX_ENTRIES 256  /* (interface, group, port) triples */
#define JC_MON_MAX_SENDERS 1024 /* allowed-sender prefixes, all entries */

/* jc_mon_entries' key: where a datagram is going. */
struct jc_mon_key {
	__u32 ifindex;      /* the interface it arrived on */
	__u16 port;         /* UDP destination port, host byte order */
	__u16 pad;
	__u8 group[16];     /* destination group, IPv4 mapped */
};

/* jc_mon_entry.flags */
#define JC_MON_F_SENDERS 0x1 /* only senders in jc_mon_senders are let through */
#define JC_MON_F_REWRITE 0x2 /* rewrite the destination to local/local_mac (NTP) */

struct jc_mon_entry {
	__u32 id;           /* index into jc_mon_counters and jc_mon_senders */
	__u32 flags;        /* JC_MON_F_* */
	__u8 local[16];     /* the interface's unicast address (REWRITE), IPv4 mapped */
	__u8 local_mac[6];  /* the interface's MAC address (REWRITE) */
	__u8 pad[2];
};

/* jc_mon_senders: an LPM trie. The key is the entry id (big-endian, all 32
 * bits always part of the prefix) followed by the sender's address, IPv4
 * mapped; prefixlen = 32 + the address prefix length (+ 96 for IPv4). */
struct jc_mon_sender_key {
	__u32 prefixlen;
	__u32 id_be;
	__u8 addr[16];
};

/* jc_mon_counters, one per entry id; updated atomically, except the last
 * sender, which is the last writer's. */
struct jc_mon_counters {
	__u64 packets;      /* accepted: let through to the local daemons */
	__u64 bytes;        /* of accepted packets, IP header included */
	__u64 filtered;     /* dropped: sender not allowed */
	__u64 rewritten;    /* accepted and rewritten to the unicast address */
	__u64 last_ns;      /* bpf_ktime_get_ns() of the last accepted packet */
	__u8 last_sender[16]; /* its source address, IPv4 mapped */
	__u64 filtered_ns;  /* the last dropped one */
	__u8 filtered_sender[16];
};

#endif
