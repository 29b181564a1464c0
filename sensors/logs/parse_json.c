/* parse_json.c - JSON lines: Suricata EVE, Zeek JSON logs and any other
 * JSON object (see logparse.h for the common contract).
 *
 * Design note.
 *
 * The line is read by cs_json_read_event() (jansson; nested objects become
 * dotted names, arrays become repeated fields), so every original key stays
 * on the event under its own name: SigmaHQ's Zeek rules use Zeek's names
 * (query, id.orig_h, ...), and anything a rule or an analyst wants from EVE
 * is there as Suricata wrote it. On top of that the well-known keys are
 * mapped to the canonical ECS names the packet sensor puts on its flow
 * events (sensors/packet/packet.h), so one rule on source.ip or
 * dns.question.name sees packets, EVE and Zeek alike:
 *   source/destination .ip .port .bytes .packets, network.transport
 *   (lowercase) / iana_number / type / protocol / community_id,
 *   citysoc.flow.id, dns.question.name/type, dns.response_code,
 *   http.request.method, url.original/path/query/domain, user_agent.original,
 *   http.response.status_code, tls.client.server_name, tls.version ("1.2",
 *   as the packet sensor writes it), tls.client.ja3, ...
 *
 * The mapped fields are built into a fresh event while the reader's event is
 * only read: a string copied from an event into itself would be read from a
 * block that the add may have just moved. That costs one more allocation per
 * line, next to jansson's many.
 *
 * EVE alerts are NOT citysoc alerts. The event keeps kind CS_KIND_JSON (so
 * event.kind is written as "event" and event.dataset "citysoc.json"); the
 * verdict is in fields: event_type "alert", rule.id (signature_id), rule.name,
 * rule.category, event.severity (Suricata's 1 = high .. 3 = low, as is),
 * event.action (alert.action), event.category "intrusion_detection". A Sigma
 * rule or a plugin decides whether it becomes a citysoc alert, so the alert
 * queue, risk scoring and aggregation stay ours.
 *
 * Time: EVE `timestamp`; Zeek `ts` (epoch seconds as a number, or ISO 8601);
 * other JSON: @timestamp (read by the reader), then timestamp / time / ts.
 * Numbers are epoch seconds, or ms / us / ns when too large to be seconds.
 *
 * The reader's own refusals (not JSON, not an object, a non-ISO @timestamp,
 * nesting or name limits) give an unparsed event with the reason in
 * error.message; only running out of memory is an error.
 *
 * event.created, citysoc.log.format, log.file.path (when the input names a
 * file) and the logsource fields are left out of the copy, because
 * cs_log_common() sets them for this line.
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/json.h"
#include "../../runtime/timeutil.h"
#include "logbuild.h"
#include "logparse.h"

/* ------------------------------------------------------------ names -- */

#define JSON_NAMES(X)                                                                                  \
    /* Suricata EVE */                                                                                 \
    X(EVENT_TYPE, "event_type") X(TIMESTAMP, "timestamp") X(SRC_IP, "src_ip") X(DEST_IP, "dest_ip")   \
    X(SRC_PORT, "src_port") X(DEST_PORT, "dest_port") X(PROTO, "proto") X(FLOW_ID, "flow_id")          \
    X(COMMUNITY_ID, "community_id") X(APP_PROTO, "app_proto") X(HOST, "host") X(IN_IFACE, "in_iface")  \
    X(VLAN, "vlan") X(A_SID, "alert.signature_id") X(A_SIG, "alert.signature")                         \
    X(A_CAT, "alert.category") X(A_SEV, "alert.severity") X(A_ACTION, "alert.action")                  \
    X(DNS_RRNAME, "dns.rrname") X(DNS_RRTYPE, "dns.rrtype") X(DNS_RCODE, "dns.rcode")                  \
    X(DNS_QS_RRNAME, "dns.queries.rrname") X(DNS_QS_RRTYPE, "dns.queries.rrtype")                      \
    X(DNS_Q_RRNAME, "dns.query.rrname") X(DNS_Q_RRTYPE, "dns.query.rrtype")                            \
    X(H_HOSTNAME, "http.hostname") X(H_URL, "http.url") X(H_METHOD, "http.http_method")                \
    X(H_STATUS, "http.status") X(H_UA, "http.http_user_agent") X(H_REFER, "http.http_refer")           \
    X(H_PROTOCOL, "http.protocol") X(H_LENGTH, "http.length") X(H_CTYPE, "http.http_content_type")     \
    X(T_SNI, "tls.sni") X(T_JA3, "tls.ja3.hash") X(T_JA3S, "tls.ja3s.hash") X(T_SUBJECT, "tls.subject") \
    X(T_ISSUER, "tls.issuerdn") X(F_PKTS_TS, "flow.pkts_toserver") X(F_PKTS_TC, "flow.pkts_toclient")  \
    X(F_BYTES_TS, "flow.bytes_toserver") X(F_BYTES_TC, "flow.bytes_toclient") X(F_START, "flow.start") \
    X(F_END, "flow.end") X(F_STATE, "flow.state")                                                      \
    /* Zeek */                                                                                         \
    X(UID, "uid") X(ORIG_H, "id.orig_h") X(RESP_H, "id.resp_h") X(ORIG_P, "id.orig_p")                 \
    X(RESP_P, "id.resp_p") X(TS, "ts") X(PATH, "_path") X(SERVICE, "service")                          \
    X(CONN_STATE, "conn_state") X(DURATION, "duration") X(ORIG_BYTES, "orig_bytes")                    \
    X(RESP_BYTES, "resp_bytes") X(ORIG_IP_BYTES, "orig_ip_bytes") X(RESP_IP_BYTES, "resp_ip_bytes")    \
    X(ORIG_PKTS, "orig_pkts") X(RESP_PKTS, "resp_pkts") X(QUERY, "query") X(QTYPE_NAME, "qtype_name")  \
    X(RCODE_NAME, "rcode_name") X(METHOD, "method") X(URI, "uri") X(USER_AGENT, "user_agent")          \
    X(STATUS_CODE, "status_code") X(REFERRER, "referrer") X(VERSION, "version")                        \
    X(SERVER_NAME, "server_name") X(CIPHER, "cipher") X(JA3, "ja3") X(JA3S, "ja3s")                    \
    X(SUBJECT, "subject") X(ISSUER, "issuer") X(USERNAME, "username")                                  \
    X(RESP_BODY_LEN, "response_body_len") X(NOTE, "note") X(MSG, "msg")                                \
    /* Zeek log recognition (keys only one log has) */                                                 \
    X(TRANS_ID, "trans_id") X(CALL_ID, "call_id") X(MAILFROM, "mailfrom") X(RCPTTO, "rcptto")          \
    X(HELO, "helo") X(CLIENT_PROTOCOLS, "client_protocols") X(SUBPROTOCOL, "subprotocol")              \
    X(REQ_BODY_LEN, "request_body_len") X(TRANS_DEPTH, "trans_depth")                                  \
    X(CLIENT_INITIAL_DCID, "client_initial_dcid") X(ESTABLISHED, "established")                       \
    X(SSL_HISTORY, "ssl_history") X(AUTH_ATTEMPTS, "auth_attempts") X(HOST_KEY_ALG, "host_key_alg")    \
    X(REQUEST_TYPE, "request_type") X(NAMED_PIPE, "named_pipe") X(ENDPOINT, "endpoint")                \
    X(OPERATION, "operation") X(COOKIE, "cookie") X(SECURITY_PROTOCOL, "security_protocol")            \
    X(SHARE_TYPE, "share_type") X(TUNNEL_TYPE, "tunnel_type") X(ACTION, "action") X(ZPATH, "path")     \
    X(NAME, "name") X(FUID, "fuid") X(SEEN_BYTES, "seen_bytes") X(CERT_SUBJECT, "certificate.subject")  \
    X(MSG_TYPES, "msg_types") X(COMMAND, "command") X(GET_REQUESTS, "get_requests")                   \
    X(BOUND_HOST, "bound.host") X(FACILITY, "facility") X(SEVERITY, "severity")                        \
    X(FC_REQUEST, "fc_request") X(PEER, "peer") X(NB_COMPUTER, "server_nb_computer_name")              \
    X(SOFTWARE_TYPE, "software_type") X(HISTORY, "history")                                            \
    /* other JSON, and names we write */                                                               \
    X(TIME, "time") X(TLS_VERSION_PROTOCOL, "tls.version_protocol")

enum {
#define X(e, s) J_##e,
    JSON_NAMES(X)
#undef X
    J__COUNT
};

static const char *const jnames[J__COUNT] = {
#define X(e, s) s,
    JSON_NAMES(X)
#undef X
};

static cs_fid jf[J__COUNT];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void intern_names(void)
{
    for (int i = 0; i < J__COUNT; i++) {
        jf[i] = cs_field_intern(jnames[i], strlen(jnames[i]));   /* CS_F_NONE if the registry is full */
    }
}

/* Zeek logs recognised by the keys only they have, in this order (earlier
 * entries win: sip and smtp also have http's method/uri, kerberos has ssl's
 * cipher, websocket has http's host/uri). b < 0: one key is enough.
 * strong: the key is Zeek's alone, so `ts` plus that key is a Zeek record
 * even without uid/id.* (dhcp, notice, x509, ...). */
static const struct {
    int a, b;
    bool strong;
    const char *path;
} zeek_paths[] = {
    {J_CONN_STATE, -1, true, "conn"},
    {J_QTYPE_NAME, -1, true, "dns"},
    {J_RCODE_NAME, -1, true, "dns"},
    {J_TRANS_ID, -1, false, "dns"},
    {J_CALL_ID, -1, true, "sip"},
    {J_MAILFROM, -1, true, "smtp"},
    {J_RCPTTO, -1, true, "smtp"},
    {J_HELO, -1, false, "smtp"},
    {J_CLIENT_PROTOCOLS, -1, true, "websocket"},
    {J_SUBPROTOCOL, -1, false, "websocket"},
    {J_REQUEST_TYPE, -1, false, "kerberos"},
    {J_STATUS_CODE, -1, false, "http"},
    {J_METHOD, -1, false, "http"},
    {J_URI, -1, false, "http"},
    {J_REQ_BODY_LEN, -1, false, "http"},
    {J_CLIENT_INITIAL_DCID, -1, true, "quic"},
    {J_ESTABLISHED, -1, false, "ssl"},
    {J_SSL_HISTORY, -1, true, "ssl"},
    {J_AUTH_ATTEMPTS, -1, true, "ssh"},
    {J_HOST_KEY_ALG, -1, true, "ssh"},
    {J_NOTE, -1, true, "notice"},
    {J_NAMED_PIPE, -1, true, "dce_rpc"},
    {J_ENDPOINT, J_OPERATION, false, "dce_rpc"},
    {J_COOKIE, -1, false, "rdp"},
    {J_SECURITY_PROTOCOL, -1, true, "rdp"},
    {J_SHARE_TYPE, -1, true, "smb_mapping"},
    {J_TUNNEL_TYPE, -1, true, "tunnel"},
    {J_ACTION, J_ZPATH, false, "smb_files"},
    {J_ACTION, J_NAME, false, "smb_files"},
    {J_SEEN_BYTES, -1, true, "files"},
    {J_CERT_SUBJECT, -1, true, "x509"},
    {J_MSG_TYPES, -1, true, "dhcp"},
    {J_COMMAND, -1, false, "ftp"},
    {J_GET_REQUESTS, -1, true, "snmp"},
    {J_BOUND_HOST, -1, true, "socks"},
    {J_FACILITY, J_SEVERITY, false, "syslog"},
    {J_FC_REQUEST, -1, true, "dnp3"},
    {J_NB_COMPUTER, -1, true, "ntlm"},
    {J_SOFTWARE_TYPE, -1, true, "software"},
    {J_NAME, J_PEER, false, "weird"},
    {J_HISTORY, J_ORIG_PKTS, false, "conn"},
    {J_SERVER_NAME, -1, false, "ssl"},
    {J_QUERY, -1, false, "dns"},
};

/* ---------------------------------------------------------- helpers -- */

static const cs_field *get(const cs_event *src, int name)
{
    return jf[name] != CS_F_NONE ? cs_event_find(src, jf[name]) : NULL;
}

static bool has(const cs_event *src, int name)
{
    return get(src, name) != NULL;
}

static bool get_str(const cs_event *src, int name, const char **s, size_t *n)
{
    const cs_field *f = get(src, name);
    if (f == NULL || f->type != CS_T_STR) {
        return false;
    }
    *s = cs_event_strval(src, f);
    *n = f->len;
    return true;
}

static bool str_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Integer from an int, a whole float or a decimal string. */
static bool get_int(const cs_event *src, int name, int64_t *v)
{
    const cs_field *f = get(src, name);
    if (f == NULL) {
        return false;
    }
    switch ((cs_type)f->type) {
    case CS_T_INT:
        *v = f->v.i;
        return true;
    case CS_T_FLOAT:
        if (!isfinite(f->v.f) || fabs(f->v.f) > 9e18) {
            return false;
        }
        *v = (int64_t)f->v.f;
        return true;
    case CS_T_STR: {
        const char *s = cs_event_strval(src, f);
        int64_t x = 0;
        if (f->len == 0 || f->len > 18) {
            return false;
        }
        for (uint32_t i = 0; i < f->len; i++) {
            if (s[i] < '0' || s[i] > '9') {
                return false;
            }
            x = x * 10 + (s[i] - '0');
        }
        *v = x;
        return true;
    }
    default:
        return false;
    }
}

static void map_str(bld *b, const cs_event *src, int name, cs_fid to)
{
    const char *s;
    size_t n;
    if (get_str(src, name, &s, &n) && n > 0) {
        add_str(b, to, s, n);
    }
}

static void map_int(bld *b, const cs_event *src, int name, cs_fid to)
{
    int64_t v;
    if (get_int(src, name, &v)) {
        add_int(b, to, v);
    }
}

/* An address field (string in foreign JSON); returns its family or 0. */
static int map_ip(bld *b, const cs_event *src, int name, cs_fid to)
{
    const cs_field *f = get(src, name);
    cs_ip ip;
    if (f == NULL) {
        return 0;
    }
    if (f->type == CS_T_IP) {
        ip = f->v.ip;
    } else if (f->type != CS_T_STR || !cs_ip_parse(cs_event_strval(src, f), f->len, &ip)) {
        return 0;
    }
    add_ip(b, to, &ip);
    return ip.family;
}

static void add_lower(bld *b, cs_fid to, const char *s, size_t n)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        tmp[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    }
    add_str(b, to, tmp, n);
}

/* url.original plus its path and query, kept URL-encoded. */
static void map_url(bld *b, const cs_event *src, int name)
{
    const char *s, *q;
    size_t n;
    if (!get_str(src, name, &s, &n) || n == 0) {
        return;
    }
    add_str(b, CS_F_URL_ORIGINAL, s, n);
    q = memchr(s, '?', n);
    if (q == NULL) {
        add_str(b, CS_F_URL_PATH, s, n);
        return;
    }
    if (q > s) {
        add_str(b, CS_F_URL_PATH, s, (size_t)(q - s));
    }
    if (q + 1 < s + n) {
        add_str(b, CS_F_URL_QUERY, q + 1, n - (size_t)(q - s) - 1);
    }
}

/* network.transport (lowercase) and network.iana_number, from a name
 * ("TCP", "udp", "IPv6-ICMP") or a number ("6", 17). */
static void map_transport(bld *b, const cs_event *src, int name)
{
    static const struct {
        const char *name;
        int num;
    } protos[] = {{"icmp", 1}, {"igmp", 2}, {"tcp", 6}, {"udp", 17}, {"gre", 47},
                  {"esp", 50}, {"ah", 51},  {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132}};
    const char *s;
    size_t n;
    int64_t num = -1;
    char low[16];
    size_t ln = 0;
    if (get_str(src, name, &s, &n) && n > 0 && n < sizeof low) {
        for (size_t i = 0; i < n; i++) {
            low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
        }
        ln = n;
    }
    if (!get_int(src, name, &num)) {
        num = -1;
    }
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        if ((ln > 0 && str_is(low, ln, protos[i].name)) || num == protos[i].num) {
            add_cstr(b, CS_F_NETWORK_TRANSPORT, protos[i].name);
            add_int(b, CS_F_NETWORK_IANA_NUMBER, protos[i].num);
            return;
        }
    }
    if (ln > 0 && num < 0) {
        add_str(b, CS_F_NETWORK_TRANSPORT, low, ln);
    } else if (num >= 0 && num < 256) {
        add_int(b, CS_F_NETWORK_IANA_NUMBER, num);
    }
}

/* "TLS 1.2", "TLSv1", "TLSv12", "SSLv3", "DTLS 1.0", "DTLSv12" -> "1.2" etc.
 * (the packet sensor's form) and the protocol name. */
static bool tls_version(const char *s, size_t n, char out[8], const char **proto)
{
    size_t i;
    if (n >= 4 && memcmp(s, "DTLS", 4) == 0) {
        *proto = "dtls";
        i = 4;
    } else if (n >= 3 && memcmp(s, "TLS", 3) == 0) {
        *proto = "tls";
        i = 3;
    } else if (n >= 3 && memcmp(s, "SSL", 3) == 0) {
        *proto = "ssl";
        i = 3;
    } else {
        return false;
    }
    if (i < n && (s[i] == 'v' || s[i] == ' ')) {
        i++;
    }
    s += i;
    n -= i;
    if (n == 1 && s[0] >= '0' && s[0] <= '9') {
        out[0] = s[0];
        memcpy(out + 1, ".0", 3);
        return true;
    }
    if (n == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9') {
        out[0] = s[0];
        out[1] = '.';
        out[2] = s[1];
        out[3] = '\0';
        return true;
    }
    if (n == 3 && s[0] >= '0' && s[0] <= '9' && s[1] == '.' && s[2] >= '0' && s[2] <= '9') {
        memcpy(out, s, 3);
        out[3] = '\0';
        return true;
    }
    return false;
}

/* Epoch number in s, ms, us or ns: whichever keeps it a plausible date. */
static bool epoch_us(double v, int64_t *us)
{
    double a = fabs(v);
    if (!isfinite(v) || a >= 9e18) {
        return false;
    }
    if (a >= 1e17) {
        *us = (int64_t)(v / 1000.0);
    } else if (a >= 1e14) {
        *us = (int64_t)v;
    } else if (a >= 1e11) {
        *us = (int64_t)llround(v * 1000.0);
    } else {
        *us = (int64_t)llround(v * 1e6);
    }
    return true;
}

static bool field_time(const cs_event *src, int name, int64_t *us)
{
    const cs_field *f = get(src, name);
    int64_t v;
    if (f == NULL) {
        return false;
    }
    switch ((cs_type)f->type) {
    case CS_T_TIME:
        *us = f->v.i;
        return true;
    case CS_T_INT:
        return epoch_us((double)f->v.i, us);
    case CS_T_FLOAT:
        return epoch_us(f->v.f, us);
    case CS_T_STR:
        if (cs_time_parse(cs_event_strval(src, f), f->len, us)) {
            return true;
        }
        if (get_int(src, name, &v)) {
            return epoch_us((double)v, us);
        }
        return false;
    default:
        return false;
    }
}

/* ------------------------------------------------------------- EVE --- */

static void map_eve(bld *b, const cs_event *src, bool *tls_done)
{
    const char *et = "", *s;
    size_t etn = 0, n;
    int64_t us, v;
    int fam;

    (void)get_str(src, J_EVENT_TYPE, &et, &etn);
    if (field_time(src, J_TIMESTAMP, &us)) {
        b->ev->ts_us = us;
    }
    fam = map_ip(b, src, J_SRC_IP, CS_F_SOURCE_IP);
    (void)map_ip(b, src, J_DEST_IP, CS_F_DESTINATION_IP);
    if (fam != 0) {
        add_cstr(b, CS_F_NETWORK_TYPE, fam == 4 ? "ipv4" : "ipv6");
    }
    map_int(b, src, J_SRC_PORT, CS_F_SOURCE_PORT);
    map_int(b, src, J_DEST_PORT, CS_F_DESTINATION_PORT);
    map_transport(b, src, J_PROTO);
    map_int(b, src, J_FLOW_ID, CS_F_CS_FLOW_ID);
    map_str(b, src, J_COMMUNITY_ID, CS_F_NETWORK_COMMUNITY_ID);
    if (get_str(src, J_APP_PROTO, &s, &n) && !str_is(s, n, "failed") && !str_is(s, n, "unknown")) {
        add_lower(b, CS_F_NETWORK_PROTOCOL, s, n);
    }
    map_str(b, src, J_HOST, CS_F_OBSERVER_NAME);   /* EVE "host" is the sensor name */
    map_str(b, src, J_IN_IFACE, CS_F_OBSERVER_INGRESS_INTERFACE);
    map_int(b, src, J_VLAN, CS_F_NETWORK_VLAN_ID);   /* first (outer) tag */
    add_cstr(b, CS_F_OBSERVER_VENDOR, "OISF");
    add_cstr(b, CS_F_OBSERVER_PRODUCT, "Suricata");
    add_cstr(b, CS_F_EVENT_MODULE, "suricata");
    add_cstr(b, CS_F_EVENT_CATEGORY, str_is(et, etn, "alert")      ? "intrusion_detection"
                                     : str_is(et, etn, "fileinfo") ? "file"
                                                                   : "network");
    /* alert verdict (see the design note: the event stays kind JSON) */
    if (get_int(src, J_A_SID, &v)) {
        char id[24];
        int k = snprintf(id, sizeof id, "%lld", (long long)v);
        if (k > 0 && (size_t)k < sizeof id) {
            add_str(b, CS_F_RULE_ID, id, (size_t)k);
        }
    }
    map_str(b, src, J_A_SIG, CS_F_RULE_NAME);
    map_str(b, src, J_A_CAT, CS_F_RULE_CATEGORY);
    map_int(b, src, J_A_SEV, CS_F_EVENT_SEVERITY);
    map_str(b, src, J_A_ACTION, CS_F_EVENT_ACTION);
    /* dns: v2 (rrname at the top), v3 (queries[]), alert metadata (query[]) */
    if (has(src, J_DNS_RRNAME)) {
        map_str(b, src, J_DNS_RRNAME, CS_F_DNS_QUESTION_NAME);
        map_str(b, src, J_DNS_RRTYPE, CS_F_DNS_QUESTION_TYPE);
    } else if (has(src, J_DNS_QS_RRNAME)) {
        map_str(b, src, J_DNS_QS_RRNAME, CS_F_DNS_QUESTION_NAME);
        map_str(b, src, J_DNS_QS_RRTYPE, CS_F_DNS_QUESTION_TYPE);
    } else {
        map_str(b, src, J_DNS_Q_RRNAME, CS_F_DNS_QUESTION_NAME);
        map_str(b, src, J_DNS_Q_RRTYPE, CS_F_DNS_QUESTION_TYPE);
    }
    map_str(b, src, J_DNS_RCODE, CS_F_DNS_RESPONSE_CODE);
    /* http */
    map_str(b, src, J_H_HOSTNAME, CS_F_URL_DOMAIN);
    map_url(b, src, J_H_URL);
    map_str(b, src, J_H_METHOD, CS_F_HTTP_REQUEST_METHOD);
    map_int(b, src, J_H_STATUS, CS_F_HTTP_RESPONSE_STATUS_CODE);
    map_str(b, src, J_H_UA, CS_F_USER_AGENT_ORIGINAL);
    map_str(b, src, J_H_REFER, CS_F_HTTP_REQUEST_REFERRER);
    map_int(b, src, J_H_LENGTH, CS_F_HTTP_RESPONSE_BYTES);
    map_str(b, src, J_H_CTYPE, CS_F_HTTP_RESPONSE_MIME_TYPE);
    if (get_str(src, J_H_PROTOCOL, &s, &n) && n > 5 && memcmp(s, "HTTP/", 5) == 0) {
        add_str(b, CS_F_HTTP_VERSION, s + 5, n - 5);
    }
    /* tls: EVE's own "tls.version" is the ECS name, so it is rewritten */
    map_str(b, src, J_T_SNI, CS_F_TLS_CLIENT_SERVER_NAME);
    map_str(b, src, J_T_JA3, CS_F_TLS_CLIENT_JA3);
    map_str(b, src, J_T_JA3S, CS_F_TLS_SERVER_JA3S);
    map_str(b, src, J_T_SUBJECT, CS_F_TLS_SERVER_SUBJECT);
    map_str(b, src, J_T_ISSUER, CS_F_TLS_SERVER_ISSUER);
    {
        const cs_field *f = cs_event_find(src, CS_F_TLS_VERSION);
        char ver[8];
        const char *proto;
        if (f != NULL && f->type == CS_T_STR && tls_version(cs_event_strval(src, f), f->len, ver, &proto)) {
            add_cstr(b, CS_F_TLS_VERSION, ver);
            add_cstr(b, jf[J_TLS_VERSION_PROTOCOL], proto);
            *tls_done = true;
        }
    }
    /* flow counters: to-server is the client side */
    {
        int64_t ps = -1, pc = -1, bs = -1, bc = -1;
        if (get_int(src, J_F_PKTS_TS, &ps)) {
            add_int(b, CS_F_SOURCE_PACKETS, ps);
        }
        if (get_int(src, J_F_PKTS_TC, &pc)) {
            add_int(b, CS_F_DESTINATION_PACKETS, pc);
        }
        if (get_int(src, J_F_BYTES_TS, &bs)) {
            add_int(b, CS_F_SOURCE_BYTES, bs);
        }
        if (get_int(src, J_F_BYTES_TC, &bc)) {
            add_int(b, CS_F_DESTINATION_BYTES, bc);
        }
        if (ps >= 0 && pc >= 0) {
            add_int(b, CS_F_NETWORK_PACKETS, ps + pc);
        }
        if (bs >= 0 && bc >= 0) {
            add_int(b, CS_F_NETWORK_BYTES, bs + bc);
        }
    }
    if (field_time(src, J_F_START, &us)) {
        add_time(b, CS_F_EVENT_START, us);
    }
    if (field_time(src, J_F_END, &us)) {
        add_time(b, CS_F_EVENT_END, us);
    }
    map_str(b, src, J_F_STATE, CS_F_CS_FLOW_STATE);
}

/* ------------------------------------------------------------ Zeek --- */

static bool is_zeek(const cs_event *src)
{
    if ((has(src, J_UID) && has(src, J_ORIG_H)) || (has(src, J_TS) && (has(src, J_PATH) || has(src, J_FUID)))) {
        return true;
    }
    if (has(src, J_TS)) {
        for (size_t i = 0; i < sizeof zeek_paths / sizeof zeek_paths[0]; i++) {
            if (zeek_paths[i].strong && has(src, zeek_paths[i].a)) {
                return true;
            }
        }
    }
    return false;
}

/* The log path: Zeek's `_path` when the writer kept it, else inferred. */
static void zeek_path(const cs_event *src, char *out, size_t outsz)
{
    const char *s;
    size_t n;
    out[0] = '\0';
    if (get_str(src, J_PATH, &s, &n) && n > 0 && n < outsz) {
        memcpy(out, s, n);
        out[n] = '\0';
        return;
    }
    for (size_t i = 0; i < sizeof zeek_paths / sizeof zeek_paths[0]; i++) {
        if (has(src, zeek_paths[i].a) && (zeek_paths[i].b < 0 || has(src, zeek_paths[i].b))) {
            size_t pl = strlen(zeek_paths[i].path);
            memcpy(out, zeek_paths[i].path, pl + 1 <= outsz ? pl + 1 : 0);
            return;
        }
    }
}

static void map_zeek(bld *b, const cs_event *src, const char *path, bool *tls_done)
{
    const char *s;
    size_t n;
    int64_t us;
    int fam;

    if (field_time(src, J_TS, &us)) {
        b->ev->ts_us = us;
    }
    fam = map_ip(b, src, J_ORIG_H, CS_F_SOURCE_IP);
    (void)map_ip(b, src, J_RESP_H, CS_F_DESTINATION_IP);
    if (fam != 0) {
        add_cstr(b, CS_F_NETWORK_TYPE, fam == 4 ? "ipv4" : "ipv6");
    }
    map_int(b, src, J_ORIG_P, CS_F_SOURCE_PORT);
    map_int(b, src, J_RESP_P, CS_F_DESTINATION_PORT);
    map_transport(b, src, J_PROTO);
    map_str(b, src, J_COMMUNITY_ID, CS_F_NETWORK_COMMUNITY_ID);
    add_cstr(b, CS_F_OBSERVER_PRODUCT, "Zeek");
    add_cstr(b, CS_F_EVENT_MODULE, "zeek");
    add_cstr(b, CS_F_EVENT_CATEGORY, strcmp(path, "notice") == 0 ? "intrusion_detection" : "network");
    if (strcmp(path, "conn") == 0) {
        int64_t ob = -1, rb = -1, op = -1, rp = -1;
        /* source.bytes: IP-level bytes when logged (closest to the packet
         * sensor's wire bytes), else payload bytes */
        if (get_int(src, J_ORIG_IP_BYTES, &ob) || get_int(src, J_ORIG_BYTES, &ob)) {
            add_int(b, CS_F_SOURCE_BYTES, ob);
        }
        if (get_int(src, J_RESP_IP_BYTES, &rb) || get_int(src, J_RESP_BYTES, &rb)) {
            add_int(b, CS_F_DESTINATION_BYTES, rb);
        }
        if (get_int(src, J_ORIG_PKTS, &op)) {
            add_int(b, CS_F_SOURCE_PACKETS, op);
        }
        if (get_int(src, J_RESP_PKTS, &rp)) {
            add_int(b, CS_F_DESTINATION_PACKETS, rp);
        }
        if (ob >= 0 && rb >= 0) {
            add_int(b, CS_F_NETWORK_BYTES, ob + rb);
        }
        if (op >= 0 && rp >= 0) {
            add_int(b, CS_F_NETWORK_PACKETS, op + rp);
        }
        map_str(b, src, J_CONN_STATE, CS_F_CS_FLOW_STATE);
        {
            const cs_field *d = get(src, J_DURATION);
            if (d != NULL && (d->type == CS_T_FLOAT || d->type == CS_T_INT)) {
                double sec = d->type == CS_T_FLOAT ? d->v.f : (double)d->v.i;
                if (isfinite(sec) && sec >= 0 && sec < 9e9) {
                    add_int(b, CS_F_EVENT_DURATION, (int64_t)llround(sec * 1e9));   /* ECS: ns */
                }
            }
        }
        if (get_str(src, J_SERVICE, &s, &n)) {
            /* "ssl,http": one network.protocol per service */
            size_t i = 0;
            while (i < n) {
                const char *c = memchr(s + i, ',', n - i);
                size_t e = c != NULL ? (size_t)(c - s) : n;
                add_lower(b, CS_F_NETWORK_PROTOCOL, s + i, e - i);
                i = e + 1;
            }
        }
    } else if (strcmp(path, "dns") == 0) {
        map_str(b, src, J_QUERY, CS_F_DNS_QUESTION_NAME);
        map_str(b, src, J_QTYPE_NAME, CS_F_DNS_QUESTION_TYPE);
        map_str(b, src, J_RCODE_NAME, CS_F_DNS_RESPONSE_CODE);
        add_cstr(b, CS_F_NETWORK_PROTOCOL, "dns");
    } else if (strcmp(path, "http") == 0) {
        map_str(b, src, J_METHOD, CS_F_HTTP_REQUEST_METHOD);
        map_str(b, src, J_HOST, CS_F_URL_DOMAIN);
        map_url(b, src, J_URI);
        map_str(b, src, J_USER_AGENT, CS_F_USER_AGENT_ORIGINAL);
        map_int(b, src, J_STATUS_CODE, CS_F_HTTP_RESPONSE_STATUS_CODE);
        map_str(b, src, J_REFERRER, CS_F_HTTP_REQUEST_REFERRER);
        map_str(b, src, J_VERSION, CS_F_HTTP_VERSION);
        map_int(b, src, J_RESP_BODY_LEN, CS_F_HTTP_RESPONSE_BYTES);
        map_str(b, src, J_USERNAME, CS_F_USER_NAME);
        add_cstr(b, CS_F_NETWORK_PROTOCOL, "http");
    } else if (strcmp(path, "ssl") == 0) {
        char ver[8];
        const char *proto;
        map_str(b, src, J_SERVER_NAME, CS_F_TLS_CLIENT_SERVER_NAME);
        map_str(b, src, J_CIPHER, CS_F_TLS_CIPHER);
        map_str(b, src, J_JA3, CS_F_TLS_CLIENT_JA3);
        map_str(b, src, J_JA3S, CS_F_TLS_SERVER_JA3S);
        map_str(b, src, J_SUBJECT, CS_F_TLS_SERVER_SUBJECT);
        map_str(b, src, J_ISSUER, CS_F_TLS_SERVER_ISSUER);
        if (get_str(src, J_VERSION, &s, &n) && tls_version(s, n, ver, &proto)) {
            add_cstr(b, CS_F_TLS_VERSION, ver);
            add_cstr(b, jf[J_TLS_VERSION_PROTOCOL], proto);
            *tls_done = true;
        }
        add_cstr(b, CS_F_NETWORK_PROTOCOL, "tls");
    } else if (strcmp(path, "notice") == 0) {
        map_str(b, src, J_NOTE, CS_F_RULE_NAME);
        map_str(b, src, J_MSG, CS_F_MESSAGE);
    }
}

/* ------------------------------------------------------------ entry -- */

static int64_t received(const cs_log_ctx *ctx)
{
    return ctx != NULL && ctx->received_us != 0 ? ctx->received_us : cs_now_us();
}

/* Initial arena: a guess that avoids regrowth, never above the event cap. */
static size_t arena_for(size_t a, size_t b)
{
    return a <= CS_EVENT_MAX_BYTES / 2 && b <= CS_EVENT_MAX_BYTES / 2 && a + b + 1024 <= CS_EVENT_MAX_BYTES
               ? a + b + 1024
               : CS_EVENT_MAX_BYTES;
}

/* Fields cs_log_common() sets for this line are not copied from the JSON. */
static bool skip_copy(cs_fid id, const cs_log_ctx *ctx, bool logsource, bool tls_done)
{
    return id == CS_F_EVENT_CREATED || id == CS_F_CS_LOG_FORMAT ||
           (id == CS_F_LOG_FILE_PATH && ctx != NULL && ctx->file_path != NULL) ||
           (logsource && (id == CS_F_CS_LOGSOURCE_PRODUCT || id == CS_F_CS_LOGSOURCE_CATEGORY ||
                          id == CS_F_CS_LOGSOURCE_SERVICE)) ||
           (tls_done && id == CS_F_TLS_VERSION);
}

/* The mapped event; product/service point at static strings or at path. */
static cs_rc build(bld *b, cs_event *src, size_t len, const cs_log_ctx *ctx, char *path, size_t pathsz,
                   const char **product, const char **service)
{
    bool tls_done = false;
    const cs_field *fs = cs_event_fields(src);
    size_t nf = (size_t)src->nfields + 48;

    b->ev = cs_event_new_sized((cs_kind)src->kind, src->ts_us, nf < CS_EVENT_MAX_FIELDS ? nf : CS_EVENT_MAX_FIELDS,
                               arena_for(2 * (size_t)src->arena_used, len));
    if (b->ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory parsing a log line");
    }
    if (has(src, J_EVENT_TYPE) && get(src, J_EVENT_TYPE)->type == CS_T_STR) {
        map_eve(b, src, &tls_done);
        *product = "suricata";
    } else if (is_zeek(src)) {
        zeek_path(src, path, pathsz);
        map_zeek(b, src, path, &tls_done);
        *product = "zeek";
        *service = path[0] != '\0' ? path : NULL;
    } else if (src->ts_us == 0) {
        int64_t us;
        if (field_time(src, J_TIMESTAMP, &us) || field_time(src, J_TIME, &us) || field_time(src, J_TS, &us)) {
            b->ev->ts_us = us;
        }
    }
    for (uint32_t i = 0; i < src->nfields && b->rc == CS_OK; i++) {
        if (!skip_copy(fs[i].id, ctx, *product != NULL, tls_done)) {
            b->rc = cs_event_add_field(&b->ev, src, &fs[i]);
        }
    }
    if (b->ev->ts_us == 0) {
        b->ev->ts_us = received(ctx);
    }
    return b->rc;
}

/* Not a JSON object we can read (or too big once mapped): kept whole, with the reason. */
static cs_rc build_unparsed(bld *b, const char *line, size_t len, const cs_log_ctx *ctx)
{
    b->rc = CS_OK;
    b->ev = cs_event_new_sized(CS_KIND_LOG, received(ctx), 8, arena_for(len, len));
    if (b->ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory parsing a log line");
    }
    add_str(b, CS_F_MESSAGE, line, len);
    add_cstr(b, CS_F_TAGS, "citysoc.unparsed");
    add_cstr(b, CS_F_ERROR_MESSAGE, cs_err_msg());
    return b->rc;
}

cs_rc cs_parse_json_line(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    bld b = {NULL, CS_OK, NULL, NULL};
    cs_event *src = NULL;
    const char *product = NULL, *service = NULL;
    char path[64];
    cs_rc rc;

    pthread_once(&names_once, intern_names);
    *out = NULL;
    if (line == NULL) {
        return cs_err_set(CS_ERR_INVAL, "NULL log line");
    }
    rc = cs_json_read_event(line, len, ctx != NULL && ctx->file_path != NULL ? ctx->file_path : "json", 0, &src);
    if (rc == CS_OK) {
        rc = build(&b, src, len, ctx, path, sizeof path, &product, &service);
        cs_event_free(src);
        if (rc != CS_OK) {
            /* e.g. more fields than an event holds once mapped: the raw line below */
            cs_event_free(b.ev);
            b.ev = NULL;
            product = service = NULL;
        }
    }
    if (rc != CS_OK && rc != CS_ERR_NOMEM) {
        rc = build_unparsed(&b, line, len, ctx);
    }
    if (rc == CS_OK) {
        rc = cs_log_common(&b.ev, line, len, ctx, CS_LOGFMT_JSON, product, NULL, service);
    }
    if (rc != CS_OK) {
        cs_event_free(b.ev);
        return rc;
    }
    *out = b.ev;
    return CS_OK;
}
