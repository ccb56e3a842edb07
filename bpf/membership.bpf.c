// SPDX-License-Identifier: GPL-2.0
/* membership.bpf.c — who listens to which multicast group.
 *
 * A TC ingress program for the downstream interfaces (bridges included) and
 * uplinks. It reads IGMPv1/v2/v3 and MLDv1/v2 messages, keeps one entry per
 * (interface, group, host) in jc_listeners and a listener count per group in
 * jc_groups, remembers the last query heard from another router in
 * jc_queriers, and reports joins, leaves and group up/down on the jc_events
 * ring buffer. It never drops or changes a packet: every path returns
 * TC_ACT_UNSPEC so filters after it still run.
 *
 * Two programs userspace runs (BPF_PROG_TEST_RUN) change the same state under the same
 * locks: jc_forget (age out a listener, or complete a verified leave) and
 * jc_collect_group (delete an empty group).
 *
 * Listener tracking is explicit (every MLDv2/IGMPv3 host reports for
 * itself), so a v2/v3 leave removes that host at once. An MLDv1 Done or
 * IGMPv2 Leave only marks the host: v1 hosts suppress each other's reports,
 * so userspace queries the group first (RFC 2710 §4, RFC 2236 §3).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/socket.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "jc_packet.h"
#include "membership_abi.h"

#ifndef AF_INET6
#define AF_INET6 10
#endif

/* Loop bounds, named. */
#define JC_MAX_VLAN_DEPTH 2   /* 802.1ad + 802.1Q in the packet data */
#define JC_MAX_EXT_HDRS 4     /* IPv6 extension headers before ICMPv6 */
/* Group records per report (bpf_loop). Enough for every record of a
 * 9000-byte jumbo frame: (9000 - 24 - 8) / 8 = 1121 IGMPv3 records. */
#define JC_MAX_RECORDS 1152
#define JC_GROUP_RETRIES 3    /* create/lookup races on jc_groups */

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_DSTOPTS_ 60

/* IGMP (RFC 2236, RFC 3376) and MLD (RFC 2710, RFC 3810) message types. */
#define IGMP_QUERY 0x11
#define IGMP_V1_REPORT 0x12
#define IGMP_V2_REPORT 0x16
#define IGMP_V2_LEAVE 0x17
#define IGMP_V3_REPORT 0x22
#define MLD_QUERY 130
#define MLD_V1_REPORT 131
#define MLD_V1_DONE 132
#define MLD_V2_REPORT 143

/* Load-time knobs, set through the skeleton's rodata before load. */
const volatile __u8 cfg_track_link_local = 0;
const volatile __u8 cfg_verify_checksum = 1;
/* Group quotas (0: none): see struct jc_quota. */
const volatile __u32 cfg_max_groups_per_host = 0;
const volatile __u32 cfg_max_groups_per_interface = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JC_MAX_LISTENERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct jc_listener_key);
	__type(value, struct jc_listener);
} jc_listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JC_MAX_GROUPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct jc_group_key);
	__type(value, struct jc_group);
} jc_groups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JC_MAX_QUERIERS);
	__type(key, struct jc_querier_key);
	__type(value, struct jc_querier);
} jc_queriers SEC(".maps");

/* No more hosts than listeners: every entry holds at least one group. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JC_MAX_LISTENERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct jc_host_key);
	__type(value, struct jc_quota);
} jc_host_quota SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JC_MAX_QUOTA_INTERFACES);
	__type(key, __u32);
	__type(value, struct jc_quota);
} jc_interface_quota SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jc_counters);
} jc_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, JC_EVENTS_BYTES);
} jc_events SEC(".maps");

/* Returns this CPU's counters; never NULL for index 0 of an array, but the
 * verifier cannot know that, so callers test it. */
static __always_inline struct jc_counters *counters(void)
{
	return bpf_map_lookup_elem(&jc_counters, &jc_zero_key);
}

#define COUNT(field)                                                           \
	do {                                                                   \
		struct jc_counters *c_ = counters();                           \
		if (c_)                                                        \
			c_->field++;                                           \
	} while (0)

/* What the report says about one group, from one host. */
struct jc_report {
	__u64 now;
	__u32 ifindex;
	__u16 vlan;
	__u8 version;
	__u8 family;
	__u8 host[JC_ADDR_LEN] __attribute__((aligned(8)));
};

/* Queues one event. The event is built in the ring buffer itself, not on
 * the stack: the record path is five frames deep and BPF stacks are small. */
static __always_inline void emit(const struct jc_report *r, __u8 type,
				 const __u8 *group, const __u8 *host,
				 __u8 record_type, __u8 mode, __u8 reason,
				 __u32 listeners)
{
	struct jc_event *ev = bpf_ringbuf_reserve(&jc_events, sizeof(*ev), 0);

	if (!ev) {
		COUNT(events_lost);
		return;
	}
	ev->time_ns = r->now;
	ev->ifindex = r->ifindex;
	ev->type = type;
	ev->version = r->version;
	ev->record_type = record_type;
	ev->reason = reason;
	ev->listeners = listeners;
	ev->vlan = r->vlan;
	ev->filter_mode = mode;
	ev->pad = 0;
	__builtin_memcpy(ev->group, group, JC_ADDR_LEN);
	__builtin_memcpy(ev->host, host, JC_ADDR_LEN);
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline int same_addr(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

/* Adds delta (+1 or -1) to a group's listener count, creating the group on
 * the first join. Returns the count after the change, or -1 if the group
 * could not be created (map full) or, for -1, does not exist. */
static __noinline int group_add(const struct jc_group_key *key, int delta, __u64 now)
{
	struct jc_group_key k = *key;

	for (int i = 0; i < JC_GROUP_RETRIES; i++) {
		struct jc_group *g = bpf_map_lookup_elem(&jc_groups, &k);
		int count;

		if (!g) {
			struct jc_group fresh = {};

			if (delta < 0)
				return -1;
			__builtin_memcpy(fresh.group, k.group, JC_ADDR_LEN);
			fresh.first_join_ns = now;
			fresh.last_change_ns = now;
			if (bpf_map_update_elem(&jc_groups, &k, &fresh, BPF_NOEXIST) == 0 ||
			    bpf_map_lookup_elem(&jc_groups, &k))
				continue; /* created (by us or a racing CPU): count it */
			COUNT(groups_full);
			return -1;
		}
		bpf_spin_lock(&g->lock);
		/* Deleted by jc_collect_group after our lookup, or the element
		 * was reused for another group: look again. */
		if (g->dead || !same_addr(g->group, k.group)) {
			bpf_spin_unlock(&g->lock);
			continue;
		}
		if (delta > 0) {
			if (g->listeners == 0)
				g->first_join_ns = now;
			g->listeners++;
		} else if (g->listeners > 0) {
			g->listeners--;
		}
		g->last_change_ns = now;
		count = (int)g->listeners;
		bpf_spin_unlock(&g->lock);
		return count;
	}
	return -1;
}

/* Takes one group from a quota entry (creating it), unless it holds limit
 * already. Returns 0 taken, -1 refused (at the limit, or no entry could be
 * made). The dead flag closes the race with quota_give deleting the entry
 * as it drops to zero, as in group_add. */
static __noinline int quota_take(void *map, const void *key, __u32 limit)
{
	for (int i = 0; i < JC_GROUP_RETRIES; i++) {
		struct jc_quota *q = bpf_map_lookup_elem(map, key);
		int taken = 0;

		if (!q) {
			struct jc_quota fresh = {};

			if (bpf_map_update_elem(map, key, &fresh, BPF_NOEXIST) == 0 ||
			    bpf_map_lookup_elem(map, key))
				continue;
			return -1;
		}
		bpf_spin_lock(&q->lock);
		if (q->dead) {
			bpf_spin_unlock(&q->lock);
			continue;
		}
		if (q->groups < limit) {
			q->groups++;
			taken = 1;
		}
		bpf_spin_unlock(&q->lock);
		return taken ? 0 : -1;
	}
	return -1;
}

/* Gives one group back; the entry goes when it holds none. An entry that
 * is missing (maps pinned by a build without quotas) is left alone. */
static __noinline void quota_give(void *map, const void *key)
{
	struct jc_quota *q = bpf_map_lookup_elem(map, key);
	int last = 0;

	if (!q)
		return;
	bpf_spin_lock(&q->lock);
	if (!q->dead && q->groups > 0 && --q->groups == 0) {
		q->dead = 1;
		last = 1;
	}
	bpf_spin_unlock(&q->lock);
	if (last)
		bpf_map_delete_elem(map, key);
}

/* A new listener entry for (ifindex, host) is about to be made: takes it
 * from the host's and the interface's quotas. Returns 0, or -1 refused
 * (and counted). */
static __always_inline int quotas_take(__u32 ifindex, const __u8 *host)
{
	struct jc_host_key hkey = { .ifindex = ifindex };

	if (cfg_max_groups_per_host) {
		__builtin_memcpy(hkey.host, host, JC_ADDR_LEN);
		if (quota_take(&jc_host_quota, &hkey, cfg_max_groups_per_host) < 0) {
			COUNT(host_quota);
			return -1;
		}
	}
	if (cfg_max_groups_per_interface &&
	    quota_take(&jc_interface_quota, &ifindex, cfg_max_groups_per_interface) < 0) {
		if (cfg_max_groups_per_host)
			quota_give(&jc_host_quota, &hkey);
		COUNT(interface_quota);
		return -1;
	}
	return 0;
}

/* A listener entry for (ifindex, host) is gone: gives its group back. */
static __always_inline void quotas_give(__u32 ifindex, const __u8 *host)
{
	struct jc_host_key hkey = { .ifindex = ifindex };

	if (cfg_max_groups_per_host) {
		__builtin_memcpy(hkey.host, host, JC_ADDR_LEN);
		quota_give(&jc_host_quota, &hkey);
	}
	if (cfg_max_groups_per_interface)
		quota_give(&jc_interface_quota, &ifindex);
}

enum action {
	ACT_NONE,
	ACT_JOIN,
	ACT_LEAVE,         /* explicit v2/v3 leave: forget the host now */
	ACT_LEAVE_PENDING, /* v1 leave or BLOCK: query, then maybe forget */
};

/* Maps a record to what it means for this host's membership
 * (RFC 3810 §6.4 and §7.4, RFC 3376 §6.4, host side seen by the router). */
static __always_inline enum action record_action(__u8 type, __u16 nsrc,
						  __u8 *mode)
{
	switch (type) {
	case JC_REC_IS_EX:
	case JC_REC_TO_EX:
	case JC_REC_V1_REPORT:
		*mode = JC_MODE_EXCLUDE;
		return ACT_JOIN;
	case JC_REC_IS_IN:
	case JC_REC_TO_IN:
		/* INCLUDE({}) is how v2/v3 hosts say "not listening". */
		*mode = JC_MODE_INCLUDE;
		return nsrc ? ACT_JOIN : ACT_LEAVE;
	case JC_REC_ALLOW:
		*mode = JC_MODE_INCLUDE;
		return nsrc ? ACT_JOIN : ACT_NONE;
	case JC_REC_BLOCK:
		return nsrc ? ACT_LEAVE_PENDING : ACT_NONE;
	case JC_REC_V1_LEAVE:
		return ACT_LEAVE_PENDING;
	}
	return ACT_NONE;
}

/* A report from a known listener: it is still there, and any leave being
 * verified is off (RFC 3810 §7.6.2: a report answers the query). */
static __always_inline void refresh(struct jc_listener *l, const struct jc_report *r,
				    __u8 type, __u16 nsrc)
{
	l->last_report_ns = r->now;
	l->leave_ns = 0;
	l->version = r->version;
	l->sources = nsrc;
	l->record_type = type;
}

/* Applies one record for one group. Returns 0 if understood (whether or
 * not it changed anything), -1 if skipped: a group not to be tracked, a
 * record that says nothing (ALLOW or BLOCK of no sources), or a full map. */
static __noinline int apply_record(const struct jc_report *r, const __u8 *group,
				   __u8 type, __u16 nsrc)
{
	struct jc_listener_key key = { .ifindex = r->ifindex };
	struct jc_group_key gkey;
	struct jc_listener *l;
	struct jc_group *g;
	__u8 mode = 0;
	enum action act;
	int count;

	if (!jc_group_trackable(group, r->version < JC_MLDV1, cfg_track_link_local))
		return -1;
	act = record_action(type, nsrc, &mode);
	if (act == ACT_NONE)
		return -1;

	__builtin_memcpy(key.group, group, JC_ADDR_LEN);
	__builtin_memcpy(key.host, r->host, JC_ADDR_LEN);
	__builtin_memcpy(gkey.group, group, JC_ADDR_LEN);
	l = bpf_map_lookup_elem(&jc_listeners, &key);

	if (act == ACT_JOIN) {
		struct jc_listener fresh = {
			.first_report_ns = r->now,
			.last_report_ns = r->now,
			.vlan = r->vlan,
			.filter_mode = mode,
			.version = r->version,
			.sources = nsrc,
			.record_type = type,
		};

		if (l) {
			/* ALLOW adds sources; it does not leave EXCLUDE mode. */
			if (!(type == JC_REC_ALLOW && l->filter_mode == JC_MODE_EXCLUDE))
				l->filter_mode = mode;
			refresh(l, r, type, nsrc);
			return 0;
		}
		if (quotas_take(r->ifindex, r->host) < 0)
			return -1;
		if (bpf_map_update_elem(&jc_listeners, &key, &fresh, BPF_NOEXIST) < 0) {
			quotas_give(r->ifindex, r->host);
			/* EEXIST: another CPU added it a moment ago, fine. */
			if (!bpf_map_lookup_elem(&jc_listeners, &key))
				COUNT(listeners_full);
			return 0;
		}
		count = group_add(&gkey, 1, r->now);
		if (count < 0) {
			/* Keep the maps consistent: no listener without a group. */
			bpf_map_delete_elem(&jc_listeners, &key);
			quotas_give(r->ifindex, r->host);
			return -1;
		}
		emit(r, JC_EV_LISTENER_JOIN, group, r->host, type, mode, 0, count);
		if (count == 1)
			emit(r, JC_EV_GROUP_UP, group, r->host, type, mode, 0, count);
		return 0;
	}

	if (act == ACT_LEAVE) {
		if (!l)
			return 0;
		mode = l->filter_mode;
		if (bpf_map_delete_elem(&jc_listeners, &key) < 0)
			return 0; /* someone else removed it */
		quotas_give(r->ifindex, r->host);
		count = group_add(&gkey, -1, r->now);
		if (count < 0)
			count = 0;
		emit(r, JC_EV_LISTENER_LEAVE, group, r->host, type, mode,
		     JC_LEFT_REPORT, count);
		if (count == 0)
			emit(r, JC_EV_GROUP_DOWN, group, r->host, type, mode,
			     JC_LEFT_REPORT, 0);
		return 0;
	}

	/* ACT_LEAVE_PENDING. A BLOCK only matters to an INCLUDE-mode listener:
	 * its source list may now be empty. In EXCLUDE mode it blocks more
	 * sources but keeps listening, which is a refresh. */
	if (type == JC_REC_BLOCK) {
		if (!l)
			return 0; /* blocks sources of nothing we know */
		if (l->filter_mode == JC_MODE_EXCLUDE) {
			refresh(l, r, type, nsrc);
			return 0;
		}
	}
	/* A v1 leave may come from a host we never heard (v1 hosts suppress
	 * each other's reports), so the group decides: only a group with
	 * members is queried (RFC 2236 §3, RFC 2710 §4). The count is read
	 * without the lock; it only chooses whether to tell userspace. */
	g = bpf_map_lookup_elem(&jc_groups, &gkey);
	count = g ? (int)g->listeners : 0;
	if (!l && count == 0)
		return 0;
	if (l && l->leave_ns == 0)
		l->leave_ns = r->now;
	emit(r, JC_EV_LEAVE_PENDING, group, r->host, type, l ? l->filter_mode : 0,
	     0, count);
	return 0;
}

/* State shared by the record loop's iterations. */
struct records_ctx {
	struct __sk_buff *skb;
	const struct jc_report *report;
	struct jc_cursor cur;
	__u32 nrecs;
	__u32 done;
	__u8 addr_len; /* 4 for IGMPv3, 16 for MLDv2 */
	__u8 failed;   /* 1 truncated */
};

/* One group record (RFC 3810 §5.2.4, RFC 3376 §4.2.4):
 * type, aux data len (32-bit words), number of sources, group, sources, aux.
 * bpf_loop callback: returns 1 to stop. */
static long record_step(__u32 index, struct records_ctx *ctx)
{
	struct {
		__u8 type;
		__u8 aux_words;
		__be16 nsrc;
		__u8 addr[JC_ADDR_LEN];
	} rec = {};
	__u8 group[JC_ADDR_LEN] __attribute__((aligned(8)));
	__u32 skip;
	__u16 nsrc;

	if (index >= ctx->nrecs)
		return 1;
	if (ctx->addr_len == 4) {
		if (jc_read(ctx->skb, &ctx->cur, &rec, 8) < 0)
			goto truncated;
		jc_map_v4(group, *(__be32 *)rec.addr);
	} else {
		if (jc_read(ctx->skb, &ctx->cur, &rec, 20) < 0)
			goto truncated;
		__builtin_memcpy(group, rec.addr, JC_ADDR_LEN);
	}
	nsrc = bpf_ntohs(rec.nsrc);
	skip = (__u32)nsrc * ctx->addr_len + (__u32)rec.aux_words * 4;
	if (ctx->cur.off + skip > ctx->cur.end)
		goto truncated;
	ctx->cur.off += skip;
	ctx->done++;

	if (rec.type < JC_REC_IS_IN || rec.type > JC_REC_BLOCK ||
	    apply_record(ctx->report, group, rec.type, nsrc) < 0)
		COUNT(records_skipped);
	else
		COUNT(records);
	return 0;

truncated:
	ctx->failed = 1;
	return 1;
}

/* Walks the records of an MLDv2 or IGMPv3 report whose 8-byte header ends
 * at cur.off. Returns 0, or -1 if the report was truncated. */
static __always_inline int walk_records(struct __sk_buff *skb,
					const struct jc_report *r,
					struct jc_cursor cur, __u16 nrecs,
					__u8 addr_len)
{
	struct records_ctx ctx = {
		.skb = skb,
		.report = r,
		.cur = cur,
		.nrecs = nrecs,
		.addr_len = addr_len,
	};

	bpf_loop(JC_MAX_RECORDS, record_step, &ctx, 0);
	if (ctx.failed) {
		/* The records before the cut were applied, as Linux's own
		 * snooping does. Records the count promised but the packet
		 * does not hold are not counted as records at all: the count
		 * is the attacker's number. */
		COUNT(truncated);
		return -1;
	}
	if (ctx.done < ctx.nrecs) {
		/* More records than the loop bound: applied what fits. */
		struct jc_counters *c = counters();
		if (c)
			c->records_skipped += ctx.nrecs - ctx.done;
	}
	return 0;
}

/* Records a query from another router (RFC 3810 §7.6.2 querier election
 * is decided in userspace, which also knows its own address). */
static __always_inline void note_query(const struct jc_report *r,
				       __u32 family, __u32 max_resp_ms,
				       __u8 qrv, __u32 qqi_s)
{
	struct jc_querier_key key = { .ifindex = r->ifindex, .family = family };
	struct jc_querier q = {
		.last_seen_ns = r->now,
		.max_resp_ms = max_resp_ms,
		.qqi_s = qqi_s,
		.version = r->version,
		.qrv = qrv,
	};
	struct jc_querier *old = bpf_map_lookup_elem(&jc_queriers, &key);
	int changed = !old || !same_addr(old->addr, r->host);

	__builtin_memcpy(q.addr, r->host, JC_ADDR_LEN);
	bpf_map_update_elem(&jc_queriers, &key, &q, BPF_ANY);
	COUNT(queries);
	if (changed) {
		__u8 none[JC_ADDR_LEN] __attribute__((aligned(8))) = {};

		emit(r, JC_EV_QUERY_SEEN, none, r->host, 0, 0, 0, 0);
	}
}

/* Max Resp Code / QQIC decoding: values >= 128 are floating point
 * (RFC 3376 §4.1.1 and §4.1.7, RFC 3810 §5.1.3 and §5.1.9). */
static __always_inline __u32 float_code8(__u8 c)
{
	if (c < 128)
		return c;
	return ((__u32)(c & 0x0f) | 0x10) << (((c >> 4) & 0x07) + 3);
}

static __always_inline __u32 float_code16(__u16 c)
{
	if (c < 32768)
		return c;
	return ((__u32)(c & 0x0fff) | 0x1000) << (((c >> 12) & 0x07) + 3);
}

/* IPv4: IGMP at l3 offset. Returns nothing; all outcomes are counted. */
static __noinline void handle_igmp(struct __sk_buff *skb, __u32 l3, struct jc_report *r)
{
	struct {
		__u8 ver_ihl;
		__u8 tos;
		__be16 tot_len;
		__be16 id;
		__be16 frag_off;
		__u8 ttl;
		__u8 protocol;
		__sum16 check;
		__be32 saddr;
		__be32 daddr;
	} ip;
	struct {
		__u8 type;
		__u8 code;
		__sum16 csum;
		__be32 group;
		__u8 qrv_s; /* v3 query only: resv:4 S:1 QRV:3 */
		__u8 qqic;
		__be16 nsrc;
	} h = {};
	struct jc_cursor cur = { .off = l3, .end = skb->len };
	__u32 ihl, len;
	__u8 group[JC_ADDR_LEN] __attribute__((aligned(8)));

	if (jc_read(skb, &cur, &ip, sizeof(ip)) < 0) {
		COUNT(truncated);
		return;
	}
	ihl = (ip.ver_ihl & 0x0f) * 4;
	len = bpf_ntohs(ip.tot_len);
	if ((ip.ver_ihl >> 4) != 4 || ihl < 20 || len < ihl) {
		COUNT(malformed);
		return;
	}
	if (bpf_ntohs(ip.frag_off) & 0x3fff) {
		COUNT(malformed); /* IGMP is never fragmented */
		return;
	}
	if (l3 + len > skb->len) {
		COUNT(truncated);
		return;
	}
	cur.off = l3 + ihl;
	cur.end = l3 + len;
	len -= ihl;
	if (jc_read(skb, &cur, &h, 8) < 0) {
		COUNT(truncated);
		return;
	}
	COUNT(messages);
	/* Every IGMP message is a whole number of 32-bit words (RFC 2236 §2,
	 * RFC 3376 §4), and jc_csum() sums words. */
	if (len & 3) {
		COUNT(malformed);
		return;
	}
	if (cfg_verify_checksum && jc_csum(skb, l3 + ihl, len, 0) != 0xffff) {
		COUNT(bad_checksum);
		return;
	}
	jc_map_v4(r->host, ip.saddr);

	switch (h.type) {
	case IGMP_QUERY:
		if (len == 8) {
			r->version = h.code ? JC_IGMPV2 : JC_IGMPV1;
			note_query(r, 2 /* AF_INET */, (__u32)h.code * 100, 0, 0);
		} else if (len >= 12) {
			if (jc_read(skb, &cur, &h.qrv_s, 4) < 0) {
				COUNT(truncated);
				return;
			}
			r->version = JC_IGMPV3;
			note_query(r, 2, float_code8(h.code) * 100, h.qrv_s & 7,
				   float_code8(h.qqic));
		} else {
			COUNT(malformed);
		}
		return;
	case IGMP_V1_REPORT:
	case IGMP_V2_REPORT:
	case IGMP_V2_LEAVE:
		r->version = h.type == IGMP_V1_REPORT ? JC_IGMPV1 : JC_IGMPV2;
		jc_map_v4(group, h.group);
		COUNT(reports);
		if (apply_record(r, group,
				 h.type == IGMP_V2_LEAVE ? JC_REC_V1_LEAVE : JC_REC_V1_REPORT,
				 0) < 0)
			COUNT(records_skipped);
		else
			COUNT(records);
		return;
	case IGMP_V3_REPORT:
		r->version = JC_IGMPV3;
		/* RFC 3376 §4.2: type, reserved, checksum, reserved(16),
		 * number of group records(16): the last two are our "group". */
		if (walk_records(skb, r, cur, (__u16)(bpf_ntohl(h.group) & 0xffff), 4) == 0)
			COUNT(reports);
		return;
	}
	COUNT(malformed);
}

/* ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 §8.1) and len
 * bytes at off. In its own frame so the pseudo-header is off the stack of
 * the record path. Returns 1 if the checksum is right. */
static __noinline int mld_checksum_ok(struct __sk_buff *skb, __u32 l3, __u32 off, __u32 len)
{
	struct {
		__u8 addrs[32]; /* source and destination, as in the IPv6 header */
		__be32 len;
		__u8 zero[3];
		__u8 nexthdr;
	} pseudo = {};

	if (bpf_skb_load_bytes(skb, l3 + 8, pseudo.addrs, sizeof(pseudo.addrs)) < 0)
		return 0;
	pseudo.len = bpf_htonl(len);
	pseudo.nexthdr = IPPROTO_ICMPV6_;
	return jc_csum(skb, off, len,
		       (__u32)bpf_csum_diff(0, 0, (void *)&pseudo, sizeof(pseudo), 0)) == 0xffff;
}

/* IPv6: walks extension headers to ICMPv6 and handles MLD.
 * RFC 3810 §5: MLD messages come with hop limit 1, a link-local source and
 * a Hop-by-Hop Router Alert (value 0); reports from :: are ignored (§7.6). */
static __noinline void handle_mld(struct __sk_buff *skb, __u32 l3, struct jc_report *r)
{
	struct {
		__be32 vtc_flow;
		__be16 payload_len;
		__u8 nexthdr;
		__u8 hop_limit;
		__u8 saddr[16];
		__u8 daddr[16];
	} ip;
	struct {
		__u8 type;
		__u8 code;
		__sum16 csum;
		__be16 max_resp; /* v2 report: reserved */
		__be16 reserved; /* v2 report: number of records */
		__u8 addr[16];
		__u8 s_qrv;      /* v2 query only */
		__u8 qqic;
		__be16 nsrc;
	} h = {};
	struct jc_cursor cur = { .off = l3, .end = skb->len };
	__u32 len, icmp_off;
	__u8 nexthdr;

	if (jc_read(skb, &cur, &ip, sizeof(ip)) < 0) {
		COUNT(truncated);
		return;
	}
	if ((bpf_ntohl(ip.vtc_flow) >> 28) != 6) {
		COUNT(malformed);
		return;
	}
	len = bpf_ntohs(ip.payload_len);
	if (l3 + 40 + len > skb->len) {
		COUNT(truncated);
		return;
	}
	cur.end = l3 + 40 + len;
	nexthdr = ip.nexthdr;

	for (int i = 0; i < JC_MAX_EXT_HDRS; i++) {
		struct {
			__u8 nexthdr;
			__u8 len; /* 8-octet units beyond the first 8 */
		} ext;

		if (nexthdr != IPPROTO_HOPOPTS_ && nexthdr != IPPROTO_ROUTING_ &&
		    nexthdr != IPPROTO_DSTOPTS_)
			break;
		if (bpf_skb_load_bytes(skb, cur.off, &ext, sizeof(ext)) < 0 ||
		    cur.off + ((__u32)ext.len + 1) * 8 > cur.end) {
			COUNT(truncated);
			return;
		}
		cur.off += ((__u32)ext.len + 1) * 8;
		nexthdr = ext.nexthdr;
	}
	if (nexthdr != IPPROTO_ICMPV6_)
		return; /* not MLD (a fragment, or something else with options) */

	icmp_off = cur.off;
	len = cur.end - icmp_off;
	if (jc_read(skb, &cur, &h, 8) < 0) {
		COUNT(truncated);
		return;
	}
	if (h.type != MLD_QUERY && h.type != MLD_V1_REPORT &&
	    h.type != MLD_V1_DONE && h.type != MLD_V2_REPORT)
		return; /* other ICMPv6: neighbour discovery, echo, ... */
	COUNT(messages);
	/* Every MLD message is a whole number of 32-bit words (RFC 3810 §5),
	 * and jc_csum() sums words. */
	if (len & 3) {
		COUNT(malformed);
		return;
	}

	if (cfg_verify_checksum && !mld_checksum_ok(skb, l3, icmp_off, len)) {
		COUNT(bad_checksum);
		return;
	}
	/* Link-local source required, fe80::/10. */
	if (ip.saddr[0] != 0xfe || (ip.saddr[1] & 0xc0) != 0x80) {
		COUNT(bad_source);
		return;
	}
	__builtin_memcpy(r->host, ip.saddr, JC_ADDR_LEN);

	switch (h.type) {
	case MLD_QUERY:
		if (len == 24) {
			r->version = JC_MLDV1;
			note_query(r, AF_INET6, bpf_ntohs(h.max_resp), 0, 0);
		} else if (len >= 28) {
			if (jc_read(skb, &cur, h.addr, 20) < 0) {
				COUNT(truncated);
				return;
			}
			r->version = JC_MLDV2;
			note_query(r, AF_INET6, float_code16(bpf_ntohs(h.max_resp)),
				   h.s_qrv & 7, float_code8(h.qqic));
		} else {
			COUNT(malformed);
		}
		return;
	case MLD_V1_REPORT:
	case MLD_V1_DONE:
		if (jc_read(skb, &cur, h.addr, 16) < 0) {
			COUNT(truncated);
			return;
		}
		r->version = JC_MLDV1;
		COUNT(reports);
		if (apply_record(r, h.addr,
				 h.type == MLD_V1_DONE ? JC_REC_V1_LEAVE : JC_REC_V1_REPORT,
				 0) < 0)
			COUNT(records_skipped);
		else
			COUNT(records);
		return;
	case MLD_V2_REPORT:
		/* RFC 3810 §5.2: type, code, checksum, reserved(16), nr of
		 * multicast address records(16). */
		r->version = JC_MLDV2;
		if (walk_records(skb, r, cur, bpf_ntohs(h.reserved), 16) == 0)
			COUNT(reports);
		return;
	}
}

/* Could this IPv6 packet be MLD? nexthdr is the fixed header's next
 * header, first the byte after the fixed header (the ICMPv6 type when no
 * extension header comes first). Returns 1 if it needs a closer look. */
static __always_inline int mld_candidate(__u8 nexthdr, __u8 first)
{
	if (nexthdr == IPPROTO_HOPOPTS_)
		return 1;
	/* ICMPv6 without options: check the type right away, neighbour
	 * discovery is frequent. */
	return nexthdr == IPPROTO_ICMPV6_ &&
	       ((first >= MLD_QUERY && first <= MLD_V1_DONE) || first == MLD_V2_REPORT);
}

/* Counts and parses a packet that passed the fast path's test, IP header
 * at l3; vlan is the outer tag found in the frame data, 0 if none.
 * Inlined into the program, which calls it once: a BPF call chain may use
 * at most 512 bytes of stack, each frame rounded up to 32, and the chain
 * to a record's group update is deep (on kernels before 6.3 the inlined
 * bpf_loop() adds its own 24 bytes to handle_mld's frame). */
static __always_inline void inspect(struct __sk_buff *skb, __u32 l3, __u32 v6, __u16 vlan)
{
	struct jc_report r;

	COUNT(packets);
	/* An offloaded tag is the outermost one. In the kernel's receive path
	 * even a tag the NIC left in the frame is moved there before TC
	 * (skb_vlan_untag), so frame tags are the inner ones of QinQ. */
	if (skb->vlan_present && (skb->vlan_tci & 0x0fff))
		vlan = skb->vlan_tci & 0x0fff;
	r.now = bpf_ktime_get_ns();
	r.ifindex = skb->ingress_ifindex ? skb->ingress_ifindex : skb->ifindex;
	r.vlan = vlan;
	r.version = 0;
	r.family = 0;
	if (v6)
		handle_mld(skb, l3, &r);
	else
		handle_igmp(skb, l3, &r);
}

/* Where inspect() finds a packet that the slow path located: the IP
 * header's offset, IPv6 or not, the outer VLAN tag. */
#define JC_SLOW_FOUND (1ULL << 63)
#define JC_SLOW_V6 (1ULL << 62)

/* The fast path's test through bpf_skb_load_bytes(), for frames with
 * 802.1Q/802.1ad tags in the data and for IP headers that are not in the
 * linear part of the skb. Returns 0 when the packet is not for us, else
 * JC_SLOW_FOUND | (JC_SLOW_V6) | vlan << 16 | l3: the caller inspects it,
 * so that this function is not one more frame in the deepest call chain. */
static __noinline __u64 inspect_slow(struct __sk_buff *skb, __be16 proto)
{
	__u32 l3 = ETH_HLEN;
	__u16 vlan = 0;

	for (int i = 0; i < JC_MAX_VLAN_DEPTH; i++) {
		struct {
			__be16 tci;
			__be16 proto;
		} tag;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if (bpf_skb_load_bytes(skb, l3, &tag, sizeof(tag)) < 0)
			return 0;
		if (!vlan)
			vlan = bpf_ntohs(tag.tci) & 0x0fff;
		l3 += 4;
		proto = tag.proto;
	}
	/* A third tag leaves proto a TPID: not parsed. */
	if (proto == bpf_htons(ETH_P_IPV6)) {
		__u8 nexthdr, first;

		if (bpf_skb_load_bytes(skb, l3 + 6, &nexthdr, 1) < 0 ||
		    bpf_skb_load_bytes(skb, l3 + 40, &first, 1) < 0 ||
		    !mld_candidate(nexthdr, first))
			return 0;
		return JC_SLOW_FOUND | JC_SLOW_V6 | (__u64)vlan << 16 | l3;
	} else if (proto == bpf_htons(ETH_P_IP)) {
		__u8 protocol;

		if (bpf_skb_load_bytes(skb, l3 + 9, &protocol, 1) < 0 ||
		    protocol != IPPROTO_IGMP)
			return 0;
		return JC_SLOW_FOUND | (__u64)vlan << 16 | l3;
	}
	return 0;
}

SEC("tc")
int jc_membership(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__be16 proto = skb->protocol;

	/* Fast path: anything that is not IPv4 IGMP, or IPv6 with hop-by-hop
	 * options or an MLD-type ICMPv6 message, leaves after a few loads. */
	if (proto == bpf_htons(ETH_P_IP)) {
		__u8 *ip4 = data + ETH_HLEN;

		if ((void *)(ip4 + 10) <= data_end) {
			if (ip4[9] == IPPROTO_IGMP)
				inspect(skb, ETH_HLEN, 0, 0);
			return TC_ACT_UNSPEC;
		}
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		__u8 *ip6 = data + ETH_HLEN;

		if ((void *)(ip6 + 41) <= data_end) {
			if (mld_candidate(ip6[6], ip6[40]))
				inspect(skb, ETH_HLEN, 1, 0);
			return TC_ACT_UNSPEC;
		}
	} else if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) {
		return TC_ACT_UNSPEC;
	}
	/* Tagged, or the headers are beyond the linear data. */
	__u64 found = inspect_slow(skb, proto);

	if (found & JC_SLOW_FOUND)
		inspect(skb, found & 0xffff, !!(found & JC_SLOW_V6), (found >> 16) & 0x0fff);
	return TC_ACT_UNSPEC;
}

/* Userspace's way to remove a listener: aging (RFC 3810 §7.4, the
 * Multicast Address Listening Interval), a leave that queries could not
 * contradict (§7.6.2), or the operator. Runs under the same group lock as
 * the TC program. Returns 0 forgotten, 1 no such listener, 2 kept because
 * it reported after args->unless_reported_after_ns, 3 no argument block.
 *
 * Userspace runs it with BPF_PROG_TEST_RUN, the argument block as the
 * "packet". A classifier, not a BPF_PROG_TYPE_SYSCALL program: those are
 * sleepable, and kernels before 6.6 (Debian 12's 6.1 among them) refuse
 * bpf_spin_lock in sleepable programs. */
SEC("tc")
int jc_forget(struct __sk_buff *skb)
{
	struct jc_forget_args a;
	struct jc_forget_args *args = &a;

	if (bpf_skb_load_bytes(skb, 0, &a, sizeof(a)) < 0)
		return 3;
	struct jc_listener_key key = args->key;
	struct jc_group_key gkey;
	struct jc_listener *l;
	struct jc_report r = {};
	__u8 mode;
	int count;

	l = bpf_map_lookup_elem(&jc_listeners, &key);
	if (!l)
		return 1;
	if (l->last_report_ns > args->unless_reported_after_ns)
		return 2;
	mode = l->filter_mode;
	r.version = l->version;
	r.vlan = l->vlan;
	if (bpf_map_delete_elem(&jc_listeners, &key) < 0)
		return 1;
	quotas_give(key.ifindex, key.host);
	r.now = bpf_ktime_get_ns();
	r.ifindex = key.ifindex;
	__builtin_memcpy(gkey.group, key.group, JC_ADDR_LEN);
	count = group_add(&gkey, -1, r.now);
	if (count < 0)
		count = 0;
	emit(&r, JC_EV_LISTENER_LEAVE, key.group, key.host, 0, mode,
	     (__u8)args->reason, count);
	if (count == 0)
		emit(&r, JC_EV_GROUP_DOWN, key.group, key.host, 0, mode,
		     (__u8)args->reason, 0);
	return 0;
}

/* Deletes a group with no listeners that has not changed since
 * args->idle_since_ns. Returns 0 deleted, 1 no such group, 2 kept. */
SEC("tc")
int jc_collect_group(struct __sk_buff *skb)
{
	struct jc_collect_args a;
	struct jc_collect_args *args = &a;

	if (bpf_skb_load_bytes(skb, 0, &a, sizeof(a)) < 0)
		return 3;
	struct jc_group_key key = args->key;
	struct jc_group *g = bpf_map_lookup_elem(&jc_groups, &key);
	int dead = 0;

	if (!g)
		return 1;
	bpf_spin_lock(&g->lock);
	if (g->listeners == 0 && g->last_change_ns <= args->idle_since_ns) {
		g->dead = 1;
		dead = 1;
	}
	bpf_spin_unlock(&g->lock);
	if (!dead)
		return 2;
	bpf_map_delete_elem(&jc_groups, &key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
