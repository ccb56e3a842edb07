/* jc_packet.h — verifier-friendly helpers for reading packets in TC
 * programs: an offset cursor over the skb, checksums, address tests.
 *
 * The slow path reads through bpf_skb_load_bytes() with scalar offsets
 * rather than direct packet pointers: offsets that grow by attacker-chosen
 * amounts (source lists, aux data) keep precise bounds that way, and
 * non-linear skbs are handled by the helper. The fast path in the program
 * itself uses direct access for its two or three loads.
 */
#ifndef JOINCAST_JC_PACKET_H
#define JOINCAST_JC_PACKET_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Largest message whose checksum we verify: a 9000-byte jumbo frame. */
#define JC_CSUM_CHUNK 512
#define JC_MAX_CSUM_CHUNKS 18

/* A read position in the packet and the end of the current message. */
struct jc_cursor {
	__u32 off;
	__u32 end;
};

/* Reads len bytes at the cursor into dst and advances it.
 * Returns 0, or -1 if the message (cursor end) or the packet ends first. */
static __always_inline int jc_read(struct __sk_buff *skb, struct jc_cursor *c,
				   void *dst, __u32 len)
{
	if (c->off + len > c->end)
		return -1;
	if (bpf_skb_load_bytes(skb, c->off, dst, len) < 0)
		return -1;
	c->off += len;
	return 0;
}

/* Folds a 32-bit one's complement partial sum to 16 bits. */
static __always_inline __u16 jc_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The key of single-slot arrays, in .rodata rather than on the stack: a
 * stack slot written with a small scalar after the compiler reused it from
 * a spilled pointer is "corrupting a spilled pointer" to a verifier that
 * runs without CAP_PERFMON, which joincastd's systemd unit does not grant. */
static const __u32 jc_zero_key = 0;

/* Scratch space for checksumming, one per CPU. */
struct jc_scratch {
	__u8 buf[JC_CSUM_CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jc_scratch);
} jc_scratch SEC(".maps");

/* One's complement sum of len bytes at off, continuing from seed.
 * len must be a multiple of 4 (every IGMP and MLD message is).
 * Returns the folded 16-bit sum; a valid message including its checksum
 * field sums to 0xffff. Returns 0 (never a valid sum) if the data cannot
 * be read or is longer than JC_CSUM_CHUNK * JC_MAX_CSUM_CHUNKS. */
static __always_inline __u16 jc_csum(struct __sk_buff *skb, __u32 off,
				     __u32 len, __u32 seed)
{
	struct jc_scratch *s = bpf_map_lookup_elem(&jc_scratch, &jc_zero_key);
	__s64 sum = seed;

	if (!s || (len & 3))
		return 0;
	for (int i = 0; i < JC_MAX_CSUM_CHUNKS; i++) {
		__u64 n = len;

		if (n == 0)
			return jc_csum_fold((__u64)sum);
		if (n > JC_CSUM_CHUNK)
			n = JC_CSUM_CHUNK;
		/* Bounds the verifier can see, in instructions the compiler
		 * cannot drop: clang otherwise tests a zero-extended copy and
		 * hands the helper the original register, whose bounds the
		 * verifier does not know. n is already in [1, 512], so this
		 * changes nothing; it gives n a minimum of 1 without relying
		 * on the verifier learning it from a != 0 test, which kernels
		 * before 6.8 (Debian 12's 6.1) do not do ("invalid access to
		 * map value ... size=0"). */
		asm volatile("%[n] += -1\n\t%[n] &= 0x1ff\n\t%[n] += 1" : [n] "+r"(n));
		if (bpf_skb_load_bytes(skb, off, s->buf, (__u32)n) < 0)
			return 0;
		sum = bpf_csum_diff(0, 0, (void *)s->buf, (__u32)n, (__u32)sum);
		if (sum < 0)
			return 0;
		off += (__u32)n;
		len -= (__u32)n;
	}
	return len == 0 ? jc_csum_fold((__u64)sum) : 0;
}

/* Address tests on 16-byte addresses (IPv4 is IPv4-mapped). */
static __always_inline int jc_is_v4mapped(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;

	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

static __always_inline void jc_map_v4(__u8 *dst, __be32 v4)
{
	__u32 *w = (__u32 *)dst;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0x0000ffff);
	w[3] = v4;
}

/* Is this a group worth tracking? Multicast of the message's own family
 * (an MLD record naming ::ffff:239.1.2.3 is not an IPv4 listener), and
 * beyond link scope unless link-scope tracking is on: every host reports
 * its solicited-node groups (ff02::1:ffXX:XXXX), which would fill the
 * table with noise. Returns 1 to track, 0 to skip. */
static __always_inline int jc_group_trackable(const __u8 *g, int v4, int link_local_too)
{
	if (v4) {
		__u32 a = bpf_ntohl(((const __u32 *)g)[3]);

		if (!jc_is_v4mapped(g) || (a & 0xf0000000) != 0xe0000000)
			return 0;
		/* 224.0.0.0/24 is link-local control (RFC 5771 §4). */
		return link_local_too || (a & 0xffffff00) != 0xe0000000;
	}
	if (g[0] != 0xff)
		return 0;
	/* ff01::/16 is interface-local and never reported (RFC 3810 §6). */
	if ((g[1] & 0x0f) <= 1)
		return 0;
	return link_local_too || (g[1] & 0x0f) > 2;
}

#endif /* JOINCAST_JC_PACKET_H */
