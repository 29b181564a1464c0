/* demo_gen.h - citysoc's own synthetic demo data set (`citysoc demo-data DIR`).
 *
 * One call writes a small, self-consistent half hour of a city security
 * operations center: a packet capture of the city network (DNS, HTTP, TLS,
 * ICMP, NTP, an SSH brute force, a port scan, SQL-injection and path
 * traversal requests) and the host logs that go with it. Nothing comes from
 * third parties; every byte is generated here.
 *
 * Addresses (the inventory and the rules rely on them):
 *   10.10.1.10 portal-web01 (dichvucong.city.example, :80 :443)
 *   10.10.2.20 popdb01 (SSH :22)      10.10.3.15 cam-ctl01
 *   10.10.4.30 hotline01              10.10.5.40 ehealth01 (:443)
 *   10.10.6.50 school01 (:443)        10.10.7.60 opendata01 (:80)
 *   10.10.0.53 city DNS/NTP resolver  10.20.x.x staff workstations
 *   192.0.2.10-40 citizens            203.0.113.45 SSH brute force
 *   198.51.100.77 port scan           198.51.100.23 web attacks
 */
#ifndef CS_DEMO_GEN_H
#define CS_DEMO_GEN_H

#include "../runtime/err.h"

#include <stdint.h>

/* Writes DIR/demo.pcap, DIR/auth.log, DIR/syslog, DIR/nginx-access.log
 * (creates DIR if missing, but not its parents; existing files are replaced).
 * start_us: UTC microseconds of the first packet/log line; the data spans
 * about 30 minutes from there. It must lie in 0 .. about year 2106, because
 * the classic pcap format stores 32-bit seconds.
 * Deterministic: the same start_us gives byte-identical files.
 * Log timestamps are UTC (syslog lines carry no zone, nginx says +0000).
 * Returns CS_OK, or an error code with the sentence set by cs_err_set
 * (naming the file and what failed). Needs about 4.5 MB of heap while it
 * runs; error sentences use strerror(), so call it from one thread. */
cs_rc cs_demo_generate(const char *dir, int64_t start_us);

#endif
