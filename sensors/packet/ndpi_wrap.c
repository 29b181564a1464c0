/* ndpi_wrap.c - nDPI 4.2 behind a small interface (see ndpi_wrap.h).
 *
 * Design: the calls are the ones ndpiReader 4.2 makes, in the same order, so
 * our classification matches its results: init with ndpi_no_prefs, every
 * protocol enabled, optional list files, finalize; per flow a zeroed
 * ndpi_flow_struct fed every packet until the app protocol is known and no
 * extra dissection is possible, or the flow has used its budget (more than 80
 * TCP / 24 UDP packets); then ndpi_detection_giveup(..., 1, &guessed) if the
 * app protocol is still unknown. At flow end a still-running detection gets
 * the same giveup (ndpiReader's end-of-capture walk does this too).
 *
 * When detection completes we copy the result (ids, category, confidence,
 * risks, bounded copies of the strings) and hand the ndpi_flow_struct back to
 * a small free list after ndpi_free_flow_data() + memset, so the steady state
 * does no malloc per flow for nDPI state. Strings are copied with explicit
 * length caps and never assumed to be NUL-terminated beyond their buffers.
 *
 * nDPI's flow union (protos.*) is only read for the protocol family that owns
 * it (DNS fields for DNS, TLS fields for TLS/QUIC/DTLS, SSH, DHCP).
 *
 * Risks are the ones ndpiReader prints: nDPI's flow risks plus the URL check
 * (ndpi_validate_url) ndpiReader runs on HTTP flows when it prints them.
 */
#include "ndpi_wrap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <ndpi/ndpi_api.h>
#pragma GCC diagnostic pop

#define MAX_TCP_DISSECTED 80   /* ndpiReader's max_num_tcp_dissected_pkts */
#define MAX_UDP_DISSECTED 24   /* ndpiReader's max_num_udp_dissected_pkts */
#define FLOW_CACHE_MAX 1024    /* spare ndpi_flow_structs kept for reuse */

#define HOST_MAX 80            /* sizeof(ndpi_flow_struct.host_server_name) */
#define URL_MAX 2048
#define UA_MAX 512
#define JA3_MAX 32
#define DN_MAX 1024            /* certificate subject/issuer, as nDPI formats them */
#define READER_URL_MAX 256     /* sizeof(ndpi_flow_info.http.url) in ndpiReader */

enum {
    META_DNS = 1,
    META_TLS = 2,
    META_HTTP = 4,
    META_DNS_RCODE = 8,
    META_SSH = 16,
    META_DHCP = 32,
    META_TLS_CERT = 64,   /* not_before/not_after are set */
};

/* The copied strings, back to back in cs_dpi_meta.str (not NUL-terminated). */
enum {
    S_HOST, S_URL, S_UA, S_JA3C, S_JA3S, S_SUBJECT, S_ISSUER,
    S_SSH_CLIENT, S_SSH_SERVER, S_HASSH_C, S_HASSH_S, S_DHCP_FP, S_DHCP_CLASS,
    S_COUNT
};

struct cs_dpi_meta {
    uint32_t not_before, not_after;   /* certificate validity, Unix seconds */
    uint16_t dns_qtype;
    uint16_t http_status;
    uint16_t tls_version;
    uint16_t len[S_COUNT];
    uint8_t dns_rcode;
    uint8_t http_method;
    uint8_t kind;        /* META_* bits */
    char str[];
};

struct cs_dpi {
    struct ndpi_detection_module_struct *mod;
    struct ndpi_flow_struct **spare;
    size_t nspare;
};

/* nDPI 4.2: module init/exit "MUST NOT run in parallel" (global tables,
 * libgcrypt start-up). Replays on different threads take turns here; the
 * packet path itself needs no lock. */
static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;

/* Our own readability check first: a clear sentence, and no nDPI printf. */
static cs_rc check_file(const char *path, const char *what)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        return cs_err_set(CS_ERR_CONFIG, "%s: cannot read nDPI %s file: %s", path, what, strerror(errno));
    }
    fclose(fp);
    return CS_OK;
}

cs_rc cs_dpi_open(cs_dpi **out, const cs_dpi_files *files)
{
    cs_dpi *d;
    NDPI_PROTOCOL_BITMASK all;
    cs_rc rc = CS_OK;

    *out = NULL;
    if (files != NULL &&
        ((files->protos != NULL && (rc = check_file(files->protos, "protocols")) != CS_OK) ||
         (files->categories != NULL && (rc = check_file(files->categories, "categories")) != CS_OK) ||
         (files->risky_domains != NULL && (rc = check_file(files->risky_domains, "risky domains")) != CS_OK) ||
         (files->ja3 != NULL && (rc = check_file(files->ja3, "JA3")) != CS_OK) ||
         (files->sha1 != NULL && (rc = check_file(files->sha1, "SHA-1")) != CS_OK))) {
        return rc;
    }
    d = calloc(1, sizeof *d);
    if (d == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory creating the nDPI detector");
    }
    d->spare = calloc(FLOW_CACHE_MAX, sizeof *d->spare);
    pthread_mutex_lock(&g_init_lock);
    d->mod = ndpi_init_detection_module(ndpi_no_prefs);
    if (d->spare == NULL || d->mod == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "nDPI detection module initialisation failed");
        goto fail;
    }
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(d->mod, &all);
    /* Same order as ndpiReader: lists after the bitmask, before finalize. */
    if (files != NULL) {
        if (files->protos != NULL && ndpi_load_protocols_file(d->mod, files->protos) < 0) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s: cannot load nDPI protocols file", files->protos);
            goto fail;
        }
        if (files->categories != NULL && ndpi_load_categories_file(d->mod, files->categories) < 0) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s: cannot load nDPI categories file", files->categories);
            goto fail;
        }
        if (files->risky_domains != NULL &&
            ndpi_load_risk_domain_file(d->mod, files->risky_domains) < 0) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s: cannot load nDPI risky domains file",
                            files->risky_domains);
            goto fail;
        }
        if (files->ja3 != NULL && ndpi_load_malicious_ja3_file(d->mod, files->ja3) < 0) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s: cannot load nDPI JA3 file", files->ja3);
            goto fail;
        }
        if (files->sha1 != NULL && ndpi_load_malicious_sha1_file(d->mod, files->sha1) < 0) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s: cannot load nDPI SHA-1 file", files->sha1);
            goto fail;
        }
    }
    ndpi_finalize_initialization(d->mod);
    pthread_mutex_unlock(&g_init_lock);
    *out = d;
    return CS_OK;
fail:
    pthread_mutex_unlock(&g_init_lock);
    cs_dpi_close(d);
    return rc;
}

void cs_dpi_close(cs_dpi *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->nspare; i++) {
        ndpi_free(d->spare[i]);   /* already emptied by ndpi_free_flow_data */
    }
    free(d->spare);
    if (d->mod != NULL) {
        pthread_mutex_lock(&g_init_lock);
        ndpi_exit_detection_module(d->mod);
        pthread_mutex_unlock(&g_init_lock);
    }
    free(d);
}

static struct ndpi_flow_struct *flow_get(cs_dpi *d)
{
    struct ndpi_flow_struct *nf;
    if (d->nspare > 0) {
        return d->spare[--d->nspare];   /* zeroed when it was put back */
    }
    nf = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
    if (nf != NULL) {
        memset(nf, 0, SIZEOF_FLOW_STRUCT);   /* ndpi_flow_malloc does not zero */
    }
    return nf;
}

static void flow_put(cs_dpi *d, struct ndpi_flow_struct *nf)
{
    if (d->nspare < FLOW_CACHE_MAX) {
        ndpi_free_flow_data(nf);
        memset(nf, 0, SIZEOF_FLOW_STRUCT);
        d->spare[d->nspare++] = nf;
    } else {
        ndpi_free_flow(nf);
    }
}

static int is_proto(const cs_dpi_flow *f, uint16_t id)
{
    return f->master == id || f->app == id;
}

static size_t bounded_len(const char *s, size_t max)
{
    return s == NULL ? 0 : strnlen(s, max);
}

/* Copy what the event needs out of the nDPI flow. */
static void copy_result(cs_dpi_flow *f, const struct ndpi_flow_struct *nf)
{
    const char *src[S_COUNT] = {0};
    size_t len[S_COUNT] = {0};
    size_t total = 0;
    uint8_t kind = 0;
    cs_dpi_meta *m;
    char *w;

    f->confidence = (uint8_t)nf->confidence;
    f->risk = nf->risk;
    src[S_HOST] = nf->host_server_name;
    len[S_HOST] = bounded_len(nf->host_server_name, HOST_MAX - 1);
    src[S_URL] = nf->http.url;
    len[S_URL] = bounded_len(nf->http.url, URL_MAX);
    src[S_UA] = nf->http.user_agent;
    len[S_UA] = bounded_len(nf->http.user_agent, UA_MAX);
    if (is_proto(f, NDPI_PROTOCOL_HTTP) && len[S_URL] > 0) {
        /* ndpiReader's URL check, done when it prints the flow (ndpi_validate_url on
         * its 256-byte copy of the URL): part of the risks it reports. */
        char url[READER_URL_MAX];
        ndpi_risk_enum r;
        size_t n = len[S_URL] < sizeof url - 1 ? len[S_URL] : sizeof url - 1;
        memcpy(url, nf->http.url, n);
        url[n] = '\0';
        r = ndpi_validate_url(url);
        if (r != NDPI_NO_RISK && r < NDPI_MAX_RISK) {
            f->risk |= 1ull << r;
        }
    }
    if (is_proto(f, NDPI_PROTOCOL_DNS) || is_proto(f, NDPI_PROTOCOL_MDNS) ||
        is_proto(f, NDPI_PROTOCOL_LLMNR)) {
        kind |= META_DNS;
        /* The reply code is valid only once a response was parsed (num_queries is set then). */
        if (is_proto(f, NDPI_PROTOCOL_DNS) && !nf->protos.dns.is_query && nf->protos.dns.num_queries > 0) {
            kind |= META_DNS_RCODE;
        }
    } else if (is_proto(f, NDPI_PROTOCOL_TLS) || is_proto(f, NDPI_PROTOCOL_QUIC) ||
               is_proto(f, NDPI_PROTOCOL_DTLS) || is_proto(f, NDPI_PROTOCOL_MAIL_IMAPS) ||
               is_proto(f, NDPI_PROTOCOL_MAIL_POPS) || is_proto(f, NDPI_PROTOCOL_MAIL_SMTPS)) {
        kind |= META_TLS;
        src[S_JA3C] = nf->protos.tls_quic.ja3_client;
        len[S_JA3C] = strnlen(nf->protos.tls_quic.ja3_client, JA3_MAX);
        src[S_JA3S] = nf->protos.tls_quic.ja3_server;
        len[S_JA3S] = strnlen(nf->protos.tls_quic.ja3_server, JA3_MAX);
        src[S_SUBJECT] = nf->protos.tls_quic.subjectDN;
        len[S_SUBJECT] = bounded_len(nf->protos.tls_quic.subjectDN, DN_MAX);
        src[S_ISSUER] = nf->protos.tls_quic.issuerDN;
        len[S_ISSUER] = bounded_len(nf->protos.tls_quic.issuerDN, DN_MAX);
        if (nf->protos.tls_quic.notBefore != 0 || nf->protos.tls_quic.notAfter != 0) {
            kind |= META_TLS_CERT;
        }
    } else if (is_proto(f, NDPI_PROTOCOL_SSH)) {
        kind |= META_SSH;
        src[S_SSH_CLIENT] = nf->protos.ssh.client_signature;
        len[S_SSH_CLIENT] = strnlen(nf->protos.ssh.client_signature, sizeof nf->protos.ssh.client_signature);
        src[S_SSH_SERVER] = nf->protos.ssh.server_signature;
        len[S_SSH_SERVER] = strnlen(nf->protos.ssh.server_signature, sizeof nf->protos.ssh.server_signature);
        src[S_HASSH_C] = nf->protos.ssh.hassh_client;
        len[S_HASSH_C] = strnlen(nf->protos.ssh.hassh_client, sizeof nf->protos.ssh.hassh_client);
        src[S_HASSH_S] = nf->protos.ssh.hassh_server;
        len[S_HASSH_S] = strnlen(nf->protos.ssh.hassh_server, sizeof nf->protos.ssh.hassh_server);
        len[S_HOST] = 0;   /* nDPI puts the client banner there too */
    } else if (is_proto(f, NDPI_PROTOCOL_DHCP)) {
        kind |= META_DHCP;
        src[S_DHCP_FP] = nf->protos.dhcp.fingerprint;
        len[S_DHCP_FP] = strnlen(nf->protos.dhcp.fingerprint, sizeof nf->protos.dhcp.fingerprint);
        src[S_DHCP_CLASS] = nf->protos.dhcp.class_ident;
        len[S_DHCP_CLASS] = strnlen(nf->protos.dhcp.class_ident, sizeof nf->protos.dhcp.class_ident);
    }
    if (len[S_URL] > 0 || len[S_UA] > 0 || nf->http.method != NDPI_HTTP_METHOD_UNKNOWN ||
        nf->http.response_status_code != 0) {
        kind |= META_HTTP;
    }
    for (int i = 0; i < S_COUNT; i++) {
        total += len[i];
    }
    if (kind == 0 && total == 0) {
        return;
    }
    m = malloc(sizeof *m + total);
    if (m == NULL) {
        return;   /* metadata is best effort; the flow record still goes out */
    }
    memset(m, 0, sizeof *m);
    m->kind = kind;
    if (kind & META_DNS) {
        m->dns_qtype = nf->protos.dns.query_type;
        m->dns_rcode = nf->protos.dns.reply_code;
    }
    if (kind & META_TLS) {
        m->tls_version = nf->protos.tls_quic.ssl_version;
    }
    if (kind & META_TLS_CERT) {
        m->not_before = nf->protos.tls_quic.notBefore;
        m->not_after = nf->protos.tls_quic.notAfter;
    }
    m->http_method = (uint8_t)nf->http.method;
    m->http_status = nf->http.response_status_code;
    w = m->str;
    for (int i = 0; i < S_COUNT; i++) {
        m->len[i] = (uint16_t)len[i];
        if (len[i] > 0) {
            memcpy(w, src[i], len[i]);
            w += len[i];
        }
    }
    f->meta = m;
}

/* Record the final verdict, copy the result and recycle the nDPI flow. */
static void finalize(cs_dpi *d, cs_dpi_flow *f, ndpi_protocol p)
{
    struct ndpi_flow_struct *nf = f->nf;
    f->master = p.master_protocol;
    f->app = p.app_protocol;
    f->category = (uint16_t)p.category;
    copy_result(f, nf);
    f->nf = NULL;
    f->done = 1;
    flow_put(d, nf);
}

void cs_dpi_packet(cs_dpi *d, cs_dpi_flow *f, const uint8_t *l3, uint32_t l3_len, uint64_t ts_ms,
                   uint8_t l4proto)
{
    ndpi_protocol p;
    int enough;

    if (f->done) {
        return;
    }
    if (f->nf == NULL) {
        f->nf = flow_get(d);
        if (f->nf == NULL) {
            f->done = 1;   /* out of memory: the flow goes out unclassified */
            return;
        }
    }
    if (f->pkts < UINT16_MAX) {
        f->pkts++;
    }
    /* Counted before processing, as ndpiReader does: the 81st TCP packet is
     * still dissected, then detection stops. */
    enough = l4proto == 6 ? f->pkts > MAX_TCP_DISSECTED : f->pkts > MAX_UDP_DISSECTED;
    p = ndpi_detection_process_packet(d->mod, f->nf, l3,
                                      (unsigned short)(l3_len > 0xffff ? 0xffff : l3_len), ts_ms);
    f->master = p.master_protocol;
    f->app = p.app_protocol;
    f->category = (uint16_t)p.category;
    if (enough || p.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
        if (!enough && ndpi_extra_dissection_possible(d->mod, f->nf)) {
            return;   /* e.g. waiting for the TLS certificate */
        }
        if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
            uint8_t guessed = 0;
            p = ndpi_detection_giveup(d->mod, f->nf, 1, &guessed);
        }
        finalize(d, f, p);
    }
}

void cs_dpi_finish(cs_dpi *d, cs_dpi_flow *f)
{
    uint8_t guessed = 0;

    if (f->done) {
        return;
    }
    if (f->nf == NULL) {
        f->done = 1;   /* nDPI never saw a packet of this flow */
        return;
    }
    /* ndpiReader gives up on every flow still in detection at the end,
     * whether or not an app protocol was already found. */
    finalize(d, f, ndpi_detection_giveup(d->mod, f->nf, 1, &guessed));
}

void cs_dpi_snapshot(cs_dpi *d, const cs_dpi_flow *f, cs_dpi_flow *out)
{
    (void)d;
    memset(out, 0, sizeof *out);
    out->master = f->master;
    out->app = f->app;
    out->category = f->category;
    out->pkts = f->pkts;
    out->done = 1;
    if (f->done) {
        out->confidence = f->confidence;
        out->risk = f->risk;   /* meta stays with f: only live state is copied here */
    } else if (f->nf != NULL) {
        copy_result(out, f->nf);
    }
}

void cs_dpi_flow_clear(cs_dpi *d, cs_dpi_flow *f)
{
    if (f->nf != NULL) {
        flow_put(d, f->nf);
    }
    free(f->meta);
    memset(f, 0, sizeof *f);
}

/* ---- event fields ----------------------------------------------------- */

static const char *dns_type_name(uint16_t t)
{
    switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 17: return "RP";
    case 24: return "SIG";
    case 25: return "KEY";
    case 28: return "AAAA";
    case 29: return "LOC";
    case 33: return "SRV";
    case 35: return "NAPTR";
    case 37: return "CERT";
    case 39: return "DNAME";
    case 41: return "OPT";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 50: return "NSEC3";
    case 52: return "TLSA";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 99: return "SPF";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 255: return "ANY";
    case 256: return "URI";
    case 257: return "CAA";
    default: return NULL;
    }
}

static const char *dns_rcode_name(uint8_t rc)
{
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
        "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
    };
    return rc < sizeof names / sizeof names[0] ? names[rc] : NULL;
}

/* ECS tls.version is the bare number ("1.2"); fall back to nDPI's text. */
static const char *tls_version_text(uint16_t v, char *buf, size_t bufsz)
{
    uint8_t unknown = 0;
    switch (v) {
    case 0x0304: return "1.3";
    case 0x0303: return "1.2";
    case 0x0302: return "1.1";
    case 0x0301: return "1.0";
    case 0x0300: return "3.0";
    case 0x0200: return "2.0";
    case 0xfeff: return "1.0";   /* DTLS 1.0 */
    case 0xfefd: return "1.2";   /* DTLS 1.2 */
    case 0xfefc: return "1.3";   /* DTLS 1.3 */
    default:
        return ndpi_ssl_version2str(buf, (int)bufsz, v, &unknown);
    }
}

/* nDPI stores Host + request target; return the request target alone. */
static void url_target(const char *url, size_t len, const char *host, size_t hlen, const char **out,
                       size_t *outlen)
{
    size_t off = 0;
    if (hlen > 0 && hlen <= len && strncasecmp(url, host, hlen) == 0) {
        off = hlen;
        if (off < len && url[off] == ':') {   /* Host header with a port */
            size_t p = off + 1;
            while (p < len && url[p] >= '0' && url[p] <= '9') {
                p++;
            }
            off = p;
        }
    } else {
        const char *slash = memchr(url, '/', len);
        off = slash != NULL ? (size_t)(slash - url) : 0;
    }
    *out = url + off;
    *outlen = len - off;
}

static const char *slot(const cs_dpi_meta *m, int i)
{
    const char *s = m->str;
    for (int k = 0; k < i; k++) {
        s += m->len[k];
    }
    return s;
}

static cs_rc add_slot(cs_event **ev, cs_fid id, const cs_dpi_meta *m, int i)
{
    return m->len[i] > 0 ? cs_event_add_str(ev, id, slot(m, i), m->len[i]) : CS_OK;
}

/* HASSH as the usual lower-case hex (nDPI prints it upper-case). */
static cs_rc add_hex_lower(cs_event **ev, cs_fid id, const cs_dpi_meta *m, int i)
{
    char buf[64];
    const char *s = slot(m, i);
    size_t n = m->len[i] < sizeof buf ? m->len[i] : sizeof buf;
    if (n == 0) {
        return CS_OK;
    }
    for (size_t k = 0; k < n; k++) {
        buf[k] = (char)(s[k] >= 'A' && s[k] <= 'F' ? s[k] - 'A' + 'a' : s[k]);
    }
    return cs_event_add_str(ev, id, buf, n);
}

/* The protocol metadata fields of one flow. */
static cs_rc add_meta(const cs_dpi_meta *m, cs_event **ev)
{
    char name[128];
    char tmp[64];
    const char *s;
    cs_rc rc = CS_OK;

    if (m->kind & META_DNS) {
        if ((rc = add_slot(ev, CS_F_DNS_QUESTION_NAME, m, S_HOST)) != CS_OK) {
            return rc;
        }
        if (m->dns_qtype != 0) {
            s = dns_type_name(m->dns_qtype);
            if (s == NULL) {
                snprintf(tmp, sizeof tmp, "%u", (unsigned)m->dns_qtype);
                s = tmp;
            }
            if ((rc = cs_event_add_cstr(ev, CS_F_DNS_QUESTION_TYPE, s)) != CS_OK) {
                return rc;
            }
        }
        if (m->kind & META_DNS_RCODE) {
            s = dns_rcode_name(m->dns_rcode);
            if (s == NULL) {
                snprintf(tmp, sizeof tmp, "%u", (unsigned)m->dns_rcode);
                s = tmp;
            }
            if ((rc = cs_event_add_cstr(ev, CS_F_DNS_RESPONSE_CODE, s)) != CS_OK) {
                return rc;
            }
        }
    } else if (m->kind & META_TLS) {
        if ((rc = add_slot(ev, CS_F_TLS_CLIENT_SERVER_NAME, m, S_HOST)) != CS_OK ||
            (rc = add_slot(ev, CS_F_TLS_CLIENT_JA3, m, S_JA3C)) != CS_OK ||
            (rc = add_slot(ev, CS_F_TLS_SERVER_JA3S, m, S_JA3S)) != CS_OK ||
            (rc = add_slot(ev, CS_F_TLS_SERVER_SUBJECT, m, S_SUBJECT)) != CS_OK ||
            (rc = add_slot(ev, CS_F_TLS_SERVER_ISSUER, m, S_ISSUER)) != CS_OK) {
            return rc;
        }
        if ((m->kind & META_TLS_CERT) &&
            ((rc = cs_event_add_time(ev, CS_F_TLS_SERVER_NOT_BEFORE, (int64_t)m->not_before * 1000000)) != CS_OK ||
             (rc = cs_event_add_time(ev, CS_F_TLS_SERVER_NOT_AFTER, (int64_t)m->not_after * 1000000)) != CS_OK)) {
            return rc;
        }
        if (m->tls_version != 0) {
            s = tls_version_text(m->tls_version, name, sizeof name);
            if (s != NULL && (rc = cs_event_add_str(ev, CS_F_TLS_VERSION, s, strnlen(s, sizeof name))) != CS_OK) {
                return rc;
            }
        }
    } else if (m->kind & META_SSH) {
        if ((rc = add_slot(ev, CS_F_CS_SSH_CLIENT_BANNER, m, S_SSH_CLIENT)) != CS_OK ||
            (rc = add_slot(ev, CS_F_CS_SSH_SERVER_BANNER, m, S_SSH_SERVER)) != CS_OK ||
            (rc = add_hex_lower(ev, CS_F_CS_SSH_HASSH_CLIENT, m, S_HASSH_C)) != CS_OK ||
            (rc = add_hex_lower(ev, CS_F_CS_SSH_HASSH_SERVER, m, S_HASSH_S)) != CS_OK) {
            return rc;
        }
    } else {
        /* HTTP and every other protocol that names a host (DHCP, NetBIOS, ...). */
        if ((rc = add_slot(ev, CS_F_URL_DOMAIN, m, S_HOST)) != CS_OK) {
            return rc;
        }
        if ((m->kind & META_DHCP) &&
            ((rc = add_slot(ev, CS_F_CS_DHCP_FINGERPRINT, m, S_DHCP_FP)) != CS_OK ||
             (rc = add_slot(ev, CS_F_CS_DHCP_CLASS_IDENT, m, S_DHCP_CLASS)) != CS_OK)) {
            return rc;
        }
    }
    if (m->kind & META_HTTP) {
        if (m->http_method != NDPI_HTTP_METHOD_UNKNOWN) {
            s = ndpi_http_method2str((ndpi_http_method)m->http_method);
            if (s != NULL && (rc = cs_event_add_str(ev, CS_F_HTTP_REQUEST_METHOD, s, strnlen(s, 32))) != CS_OK) {
                return rc;
            }
        }
        if (m->len[S_URL] > 0) {
            const char *t;
            size_t tl;
            url_target(slot(m, S_URL), m->len[S_URL], slot(m, S_HOST), m->len[S_HOST], &t, &tl);
            if (tl > 0 && (rc = cs_event_add_str(ev, CS_F_URL_ORIGINAL, t, tl)) != CS_OK) {
                return rc;
            }
        }
        if ((rc = add_slot(ev, CS_F_USER_AGENT_ORIGINAL, m, S_UA)) != CS_OK) {
            return rc;
        }
        if (m->http_status != 0 &&
            (rc = cs_event_add_int(ev, CS_F_HTTP_RESPONSE_STATUS_CODE, m->http_status)) != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

cs_rc cs_dpi_add_protocol(cs_dpi *d, const cs_dpi_flow *f, cs_event **ev)
{
    ndpi_protocol p = NDPI_PROTOCOL_NULL;
    char name[128];
    char tmp[64];
    const char *s;
    uint16_t l7;
    cs_rc rc;

    p.master_protocol = f->master;
    p.app_protocol = f->app;
    p.category = (ndpi_protocol_category_t)f->category;

    /* network.protocol: the L7 protocol proper (master of "TLS.Google"). */
    l7 = f->master != NDPI_PROTOCOL_UNKNOWN ? f->master : f->app;
    if (l7 != NDPI_PROTOCOL_UNKNOWN && (s = ndpi_get_proto_name(d->mod, l7)) != NULL) {
        size_t n = strnlen(s, sizeof tmp - 1);
        for (size_t i = 0; i < n; i++) {
            tmp[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
        }
        if ((rc = cs_event_add_str(ev, CS_F_NETWORK_PROTOCOL, tmp, n)) != CS_OK) {
            goto fail;
        }
    }
    s = ndpi_protocol2name(d->mod, p, name, sizeof name);
    return cs_event_add_str(ev, CS_F_CS_NDPI_PROTOCOL, s, strnlen(s, sizeof name));
fail:
    return rc;
}

cs_rc cs_dpi_add_fields(cs_dpi *d, const cs_dpi_flow *f, cs_event **ev)
{
    ndpi_protocol_category_t cat = (ndpi_protocol_category_t)f->category;
    const char *s;
    cs_rc rc;

    if ((rc = cs_dpi_add_protocol(d, f, ev)) != CS_OK) {
        goto fail;
    }
    s = ndpi_category_get_name(d->mod, cat);
    if (s != NULL && (rc = cs_event_add_str(ev, CS_F_CS_NDPI_CATEGORY, s, strnlen(s, 128))) != CS_OK) {
        goto fail;
    }
    s = ndpi_confidence_get_name((ndpi_confidence_t)f->confidence);
    if (s != NULL && (rc = cs_event_add_str(ev, CS_F_CS_NDPI_CONFIDENCE, s, strnlen(s, 128))) != CS_OK) {
        goto fail;
    }
    if (f->risk != 0) {
        uint16_t cli = 0;
        uint16_t srv = 0;
        int sev = -1;   /* the worst severity of the flow's risks */
        for (int r = 1; r < NDPI_MAX_RISK; r++) {
            if (f->risk & (1ull << r)) {
                const ndpi_risk_info *ri = ndpi_risk2severity((ndpi_risk_enum)r);
                if (ri != NULL && (int)ri->severity > sev) {
                    sev = (int)ri->severity;
                }
                s = ndpi_risk2str((ndpi_risk_enum)r);
                if (s != NULL && (rc = cs_event_add_str(ev, CS_F_CS_NDPI_RISKS, s, strnlen(s, 128))) != CS_OK) {
                    goto fail;
                }
            }
        }
        if ((rc = cs_event_add_int(ev, CS_F_CS_NDPI_RISK_SCORE,
                                   ndpi_risk2score(f->risk, &cli, &srv))) != CS_OK) {
            goto fail;
        }
        if (sev >= 0 && (s = ndpi_severity2str((ndpi_risk_severity)sev)) != NULL &&
            (rc = cs_event_add_str(ev, CS_F_CS_NDPI_RISK_SEVERITY, s, strnlen(s, 32))) != CS_OK) {
            goto fail;
        }
    }
    if (f->meta != NULL && cs_dpi_meta_kind(f) == CS_KIND_NONE && (rc = add_meta(f->meta, ev)) != CS_OK) {
        goto fail;
    }
    return CS_OK;
fail:
    return rc;
}

cs_kind cs_dpi_meta_kind(const cs_dpi_flow *f)
{
    const cs_dpi_meta *m = f->meta;
    if (m == NULL) {
        return CS_KIND_NONE;
    }
    /* add_meta's order: one protocol family per flow */
    return (m->kind & META_DNS) ? CS_KIND_DNS
           : (m->kind & META_TLS) ? CS_KIND_TLS
           : (m->kind & META_SSH) ? CS_KIND_SSH
           : (m->kind & META_HTTP) ? CS_KIND_HTTP
                                   : CS_KIND_NONE;
}

cs_rc cs_dpi_add_meta(const cs_dpi_flow *f, cs_event **ev)
{
    return f->meta != NULL ? add_meta(f->meta, ev) : CS_OK;
}

void cs_dpi_meta_release(cs_dpi_flow *f)
{
    free(f->meta);
    f->meta = NULL;
}
