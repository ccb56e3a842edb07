/* membership_abi.h — what the membership TC program and userspace share:
 * the map keys and values, the ring-buffer event, the counters and the
 * argument block of the programs userspace runs (BPF_PROG_TEST_RUN) to change state.
 *
 * This is the only definition of these structs. Fixed-width types, explicit
 * padding, no implicit holes: the C++ side static_asserts every size.
 *
 * Addresses are always 16 bytes: IPv6 as is, IPv4 as IPv4-mapped
 * (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), so one map serves both families and
 * `bpftool map dump` shows one shape.
 */
#ifndef JOINCAST_MEMBERSHIP_ABI_H
#define JOINCAST_MEMBERSHIP_ABI_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

#define JC_ADDR_LEN 16

/* Default sizes; userspace may resize before load. */
#define JC_MAX_LISTENERS 16384
#define JC_MAX_GROUPS 4096
#define JC_MAX_QUERIERS 256
#define JC_MAX_QUOTA_INTERFACES 256 /* interfaces with a group quota entry */
#define JC_EVENTS_BYTES (256 * 1024)

/* Which protocol a listener speaks, stored in jc_listener.version. */
enum jc_version {
	JC_IGMPV1 = 1,
	JC_IGMPV2 = 2,
	JC_IGMPV3 = 3,
	JC_MLDV1 = 11,
	JC_MLDV2 = 12,
};

/* Filter mode of a listener (RFC 3810 §2, RFC 3376 §3.2). */
enum jc_filter_mode {
	JC_MODE_INCLUDE = 1,
	JC_MODE_EXCLUDE = 2,
};

/* Record types, identical in MLDv2 and IGMPv3 (RFC 3810 §5.2.12). */
enum jc_record_type {
	JC_REC_IS_IN = 1,
	JC_REC_IS_EX = 2,
	JC_REC_TO_IN = 3,
	JC_REC_TO_EX = 4,
	JC_REC_ALLOW = 5,
	JC_REC_BLOCK = 6,
	/* Pseudo records for messages without records. */
	JC_REC_V1_REPORT = 16, /* IGMPv1/v2 report, MLDv1 report: IS_EX({}) */
	JC_REC_V1_LEAVE = 17,  /* IGMPv2 Leave, MLDv1 Done */
};

/* listeners: (interface, group, host) -> state */
struct jc_listener_key {
	__u32 ifindex;
	__u8 group[JC_ADDR_LEN];
	__u8 host[JC_ADDR_LEN];
};

struct jc_listener {
	__u64 first_report_ns; /* CLOCK_MONOTONIC */
	__u64 last_report_ns;
	/* Non-zero while a leave is being verified: an MLDv1 Done, an IGMPv2
	 * Leave, or a BLOCK of an INCLUDE-mode listener. Userspace queries the
	 * group and forgets the listener if it stays silent (RFC 3810 §7.6.2). */
	__u64 leave_ns;
	__u16 vlan;        /* outer 802.1Q id the report came with, 0 if none */
	__u8 filter_mode;  /* enum jc_filter_mode */
	__u8 version;      /* enum jc_version */
	__u16 sources;     /* sources in the last record for this group */
	__u8 record_type;  /* last record type seen, enum jc_record_type */
	__u8 pad;
};

/* groups: group -> aggregate over all interfaces */
struct jc_group_key {
	__u8 group[JC_ADDR_LEN];
};

struct jc_group {
	/* Serialises count changes between the TC program on any CPU and the
	 * programs userspace runs. Never touched by userspace directly. */
	struct bpf_spin_lock lock;
	__u32 listeners;
	__u64 first_join_ns;  /* time of the last 0 -> 1 transition */
	__u64 last_change_ns;
	/* A copy of the key, checked under the lock: a hash element that was
	 * deleted and reused for another group is detected, not incremented. */
	__u8 group[JC_ADDR_LEN];
	__u32 dead; /* set under the lock just before userspace deletes it */
	__u32 pad;
};

/* quotas: how many groups one host, or all hosts of one interface, hold
 * in the listeners map, so that one host cannot fill it and deny the others
 * (membership.max_groups_per_host, max_groups_per_interface). An entry
 * exists only while its count is above zero. */
struct jc_host_key {
	__u32 ifindex;
	__u8 host[JC_ADDR_LEN];
};

struct jc_quota {
	struct bpf_spin_lock lock; /* the TC program and jc_forget, jc_collect_group */
	__u32 groups;
	__u32 dead; /* set under the lock just before the entry is deleted */
	__u32 pad;
};

/* queriers: (interface, family) -> the last query heard from another router */
struct jc_querier_key {
	__u32 ifindex;
	__u32 family; /* AF_INET or AF_INET6 */
};

struct jc_querier {
	__u64 last_seen_ns;
	__u8 addr[JC_ADDR_LEN];
	__u32 max_resp_ms; /* Maximum Response Delay of that query */
	__u32 qqi_s;       /* Querier's Query Interval (0 for v1/v2 queries) */
	__u8 version;      /* enum jc_version of the query */
	__u8 qrv;          /* Querier's Robustness Variable (0 if none) */
	__u8 pad[6];
};

/* counters: one per-CPU slot; userspace sums over CPUs. */
struct jc_counters {
	__u64 packets;         /* packets examined past the fast path: IPv4 IGMP, IPv6 with
	                        * hop-by-hop options or an MLD-type ICMPv6 message */
	__u64 messages;        /* IGMP/MLD messages found */
	__u64 reports;         /* reports parsed to the end */
	__u64 queries;         /* queries from other routers */
	__u64 records;         /* group records applied */
	__u64 records_skipped; /* records present but not applied: unknown type, group not
	                        * tracked, ALLOW/BLOCK of no sources, full map, over the bound */
	__u64 malformed;       /* fields no valid message has: IP version or header length,
	                        * fragments, a length that is not whole 32-bit words,
	                        * unknown IGMP types */
	__u64 truncated;       /* the frame, or the length the IP header gives, ends before a
	                        * header, record or source list does (lengths and counts
	                        * that promise more than there is) */
	__u64 bad_checksum;
	__u64 bad_source;      /* MLD not from a link-local source */
	__u64 listeners_full;  /* listener map full: a join was not recorded */
	__u64 groups_full;
	__u64 events_lost;     /* ring buffer full */
	__u64 host_quota;      /* a join refused: the host holds max_groups_per_host */
	__u64 interface_quota; /* a join refused: the interface holds max_groups_per_interface */
};

enum jc_event_type {
	JC_EV_LISTENER_JOIN = 1,
	JC_EV_LISTENER_LEAVE = 2,
	JC_EV_GROUP_UP = 3,
	JC_EV_GROUP_DOWN = 4,
	/* A leave needs verifying: userspace sends group-specific queries and
	 * forgets the listener after the last listener query time. */
	JC_EV_LEAVE_PENDING = 5,
	JC_EV_QUERY_SEEN = 6,
};

/* Why a listener left, in jc_event.reason. */
enum jc_leave_reason {
	JC_LEFT_REPORT = 1,  /* explicit leave in an MLDv2/IGMPv3 report */
	JC_LEFT_TIMEOUT = 2, /* aged out: no report for the listener interval */
	JC_LEFT_QUERY = 3,   /* silent after group-specific queries */
	JC_LEFT_ADMIN = 4,   /* removed by the operator */
};

struct jc_event {
	__u64 time_ns;
	__u32 ifindex;
	__u8 type;        /* enum jc_event_type */
	__u8 version;     /* enum jc_version */
	__u8 record_type; /* enum jc_record_type that caused it */
	__u8 reason;      /* enum jc_leave_reason for leaves, else 0 */
	__u32 listeners;  /* group's listener count after the event */
	__u16 vlan;
	__u8 filter_mode;
	__u8 pad;
	__u8 group[JC_ADDR_LEN];
	__u8 host[JC_ADDR_LEN]; /* for QUERY_SEEN: the querier */
};

/* Argument block of jc_forget, passed as its test-run packet. */
struct jc_forget_args {
	/* Forget only if the listener has not reported since this time:
	 * a report that raced with the decision keeps it. */
	__u64 unless_reported_after_ns;
	struct jc_listener_key key;
	__u32 reason; /* enum jc_leave_reason */
};

/* Argument block of jc_collect_group, passed as its test-run packet. */
struct jc_collect_args {
	struct jc_group_key key;
	/* Delete only if empty and unchanged since this time. */
	__u64 idle_since_ns;
};

#endif /* JOINCAST_MEMBERSHIP_ABI_H */
