/* community_id.h - Community ID flow hashing, version 1 (corelight/community-id-spec).
 *
 * "1:" + base64(SHA-1(seed:2 | saddr | daddr | proto:1 | 0:1 [| sport:2 | dport:2])),
 * all big-endian, the endpoint pair put in canonical order first. For ICMP and
 * ICMPv6 the "ports" are the type and the code, or the counterpart type when
 * the message has one (echo request <-> reply ...), which makes both halves of
 * an exchange hash alike. Ports are hashed only for TCP, UDP, SCTP, ICMP and
 * ICMPv6; every other protocol hashes addresses and protocol only.
 *
 * Pure functions, no allocation, thread-safe. SHA-1 is our own small
 * implementation (FIPS 180-4), exposed for tests.
 */
#ifndef CS_PACKET_COMMUNITY_ID_H
#define CS_PACKET_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

#include "citysoc/event.h"

/* "1:" + 28 base64 characters + NUL. */
#define CS_COMMUNITY_ID_SIZE 31

/* SHA-1 of len bytes into out[20]. */
void cs_sha1(const void *data, size_t len, uint8_t out[20]);

/* Writes the NUL-terminated ID into out (>= CS_COMMUNITY_ID_SIZE bytes) and
 * returns its length (30), or 0 when the addresses are not of one family or
 * out is too small. For ICMP/ICMPv6 pass sport = type and dport = code. */
size_t cs_community_id_v1(uint16_t seed, const cs_ip *src, const cs_ip *dst, uint8_t proto,
                          uint16_t sport, uint16_t dport, char *out, size_t outsz);

#endif
