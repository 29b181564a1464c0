/* cmd_systems.c - `citysoc systems`: the city's information systems (the
 * inventory) from a terminal.
 *
 * The inventory is read from a file (--inventory) or from the `inventory:`
 * key of a configuration (-c); one of the two is required, so a script always
 * says which inventory it means.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/json.h"
#include "cli.h"

static const char usage[] =
    "usage: citysoc systems list (--inventory FILE | -c CONFIG) [--json] [--lang vi|en]\n"
    "       citysoc systems show ID (--inventory FILE | -c CONFIG) [--json] [--lang vi|en]\n"
    "\n"
    "The city's information systems: list them, or show one with every field\n"
    "(owner, contact, security level, asset value, address ranges, hosts, and the\n"
    "sensors and log sources that watch it).\n"
    "  --inventory FILE   the inventory (YAML, like etc/inventory.yaml)\n"
    "  -c, --config FILE  take the inventory from a configuration's inventory: key\n"
    "  --json             one JSON object per system and line instead of text\n"
    "  --lang vi|en       the language of names in the table (default en)\n"
    "exit status: 0 success, 1 failure (explained on stderr, or no such system), 2 usage error.\n";

/* Columns on a terminal: UTF-8 code points, not counting combining marks
 * (U+0300..U+036F, as in decomposed Vietnamese). */
static size_t text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    while (*p) {
        if ((*p & 0xC0) != 0x80) {
            bool combining = p[0] == 0xCC || (p[0] == 0xCD && p[1] >= 0x80 && p[1] <= 0xAF);
            if (!combining) {
                w++;
            }
        }
        p++;
    }
    return w;
}

static void put_padded(const char *s, size_t width)
{
    size_t w = text_width(s);
    fputs(s, stdout);
    for (; w < width; w++) {
        putchar(' ');
    }
}

static void format_range(const cs_system *s, size_t k, char *buf, size_t size)
{
    char ip[64];
    cs_ip_format(&s->nets[k], ip, sizeof ip);
    snprintf(buf, size, "%s/%u", ip, (unsigned)s->prefix[k]);
}

/* Ranges joined by ", " into b (reset first); "-" when there are none. */
static void ranges_text(const cs_system *s, cs_buf *b)
{
    char r[80];
    cs_buf_reset(b);
    for (size_t k = 0; k < s->nnets; k++) {
        format_range(s, k, r, sizeof r);
        cs_buf_printf(b, "%s%s", k ? ", " : "", r);
    }
    if (s->nnets == 0) {
        cs_buf_append_cstr(b, "-");
    }
}

static void json_opt_str(cs_buf *b, const char *key, const char *v)
{
    cs_buf_printf(b, ",\"%s\":", key);
    if (v == NULL) {
        cs_buf_append_cstr(b, "null");
    } else {
        cs_buf_json_str(b, v, strlen(v));
    }
}

static void json_list(cs_buf *b, const char *key, char *const *v, size_t n)
{
    cs_buf_printf(b, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i) {
            cs_buf_putc(b, ',');
        }
        cs_buf_json_str(b, v[i], strlen(v[i]));
    }
    cs_buf_putc(b, ']');
}

/* One system as one JSON object (no newline), every field. */
static void system_json(const cs_system *s, cs_buf *b)
{
    char r[80];
    cs_buf_reset(b);
    cs_buf_append_cstr(b, "{\"id\":");
    cs_buf_json_str(b, s->id, strlen(s->id));
    cs_buf_append_cstr(b, ",\"name\":{\"vi\":");
    if (s->name_vi) {
        cs_buf_json_str(b, s->name_vi, strlen(s->name_vi));
    } else {
        cs_buf_append_cstr(b, "null");
    }
    cs_buf_append_cstr(b, ",\"en\":");
    if (s->name_en) {
        cs_buf_json_str(b, s->name_en, strlen(s->name_en));
    } else {
        cs_buf_append_cstr(b, "null");
    }
    cs_buf_putc(b, '}');
    json_opt_str(b, "owner", s->owner);
    json_opt_str(b, "contact", s->contact);
    cs_buf_printf(b, ",\"security_level\":%d,\"asset_value\":%d,\"ranges\":[", s->security_level, s->asset_value);
    for (size_t k = 0; k < s->nnets; k++) {
        format_range(s, k, r, sizeof r);
        cs_buf_printf(b, "%s\"%s\"", k ? "," : "", r);
    }
    cs_buf_putc(b, ']');
    json_list(b, "hosts", s->hosts, s->nhosts);
    json_list(b, "sensors", s->sensors, s->nsensors);
    json_list(b, "log_sources", s->log_sources, s->nlog_sources);
    cs_buf_putc(b, '}');
}

static void print_list(char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("%s%s", i ? ", " : "", v[i]);
    }
    puts(n ? "" : "-");
}

static void show_text(const cs_system *s, cs_buf *b)
{
    ranges_text(s, b);
    printf("id:             %s\n", s->id);
    printf("name (vi):      %s\n", s->name_vi ? s->name_vi : "-");
    printf("name (en):      %s\n", s->name_en ? s->name_en : "-");
    printf("owner:          %s\n", s->owner ? s->owner : "-");
    printf("contact:        %s\n", s->contact ? s->contact : "-");
    printf("security level: %d\n", s->security_level);
    printf("asset value:    %d\n", s->asset_value);
    printf("ranges:         %s\n", b->data);
    fputs("hosts:          ", stdout);
    print_list(s->hosts, s->nhosts);
    fputs("sensors:        ", stdout);
    print_list(s->sensors, s->nsensors);
    fputs("log sources:    ", stdout);
    print_list(s->log_sources, s->nlog_sources);
}

static void list_text(const cs_inventory *inv, const char *lang, cs_buf *b)
{
    size_t n = cs_inventory_count(inv);
    size_t wid = strlen("ID"), wname = strlen("NAME"), wowner = strlen("OWNER");
    for (size_t i = 0; i < n; i++) {
        const cs_system *s = cs_inventory_get(inv, i);
        size_t w;
        if ((w = text_width(s->id)) > wid) {
            wid = w;
        }
        if ((w = text_width(cs_system_name(s, lang))) > wname) {
            wname = w;
        }
        if (s->owner != NULL && (w = text_width(s->owner)) > wowner) {
            wowner = w;
        }
    }
    put_padded("ID", wid + 2);
    put_padded("NAME", wname + 2);
    put_padded("OWNER", wowner + 2);
    puts("LEVEL  VALUE  RANGES");
    for (size_t i = 0; i < n; i++) {
        const cs_system *s = cs_inventory_get(inv, i);
        ranges_text(s, b);
        put_padded(s->id, wid + 2);
        put_padded(cs_system_name(s, lang), wname + 2);
        put_padded(s->owner ? s->owner : "-", wowner + 2);
        printf("%5d  %5d  %s\n", s->security_level, s->asset_value, b->data);
    }
}

int cs_cmd_systems(int argc, char **argv)
{
    static const struct option opts[] = {
        {"inventory", required_argument, NULL, 'i'}, {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},            {"lang", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *inventory = NULL;
    const char *config = NULL;
    const char *lang = "en";
    const char *sub;
    const char *id = NULL;
    bool json = false;
    cs_config *cfg = NULL;
    cs_inventory *inv = NULL;
    cs_buf b;
    int status = CS_EXIT_OK;
    int c;
    cs_rc rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)) {
        fputs(usage, stdout);
        return CS_EXIT_OK;
    }
    if (argc < 2 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "show") != 0)) {
        if (argc >= 2) {
            cs_cli_error("unknown systems command '%s' (list or show)", argv[1]);
        }
        fputs(usage, stderr);
        return CS_EXIT_USAGE;
    }
    sub = argv[1];
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            inventory = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'l':
            if (strcmp(optarg, "vi") != 0 && strcmp(optarg, "en") != 0) {
                cs_cli_error("--lang takes vi or en, not '%s'", optarg);
                return CS_EXIT_USAGE;
            }
            lang = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return CS_EXIT_OK;
        default:
            fputs(usage, stderr);
            return CS_EXIT_USAGE;
        }
    }
    if (strcmp(sub, "show") == 0) {
        if (optind >= argc) {
            cs_cli_error("systems show needs a system id");
            fputs(usage, stderr);
            return CS_EXIT_USAGE;
        }
        id = argv[optind++];
    }
    if (optind < argc) {
        cs_cli_error("unexpected argument '%s'", argv[optind]);
        return CS_EXIT_USAGE;
    }
    if ((inventory == NULL) == (config == NULL)) {
        if (inventory != NULL) {
            cs_cli_error("give --inventory or -c, not both");
        } else {
            cs_cli_error("say which inventory: --inventory FILE or -c CONFIG");
        }
        fputs(usage, stderr);
        return CS_EXIT_USAGE;
    }

    cs_buf_init(&b);
    if (config != NULL) {
        if ((rc = cs_config_load(config, &cfg)) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            status = CS_EXIT_FAIL;
            goto out;
        }
        if (cfg->inventory_path == NULL) {
            cs_cli_error("%s has no inventory (the inventory: key names the file)", config);
            status = CS_EXIT_FAIL;
            goto out;
        }
        inventory = cfg->inventory_path;
    }
    if ((rc = cs_inventory_load(inventory, &inv)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    if (id != NULL) {
        const cs_system *s = cs_inventory_find(inv, id);
        if (s == NULL) {
            cs_cli_error("no system '%s' in %s", id, inventory);
            status = CS_EXIT_FAIL;
            goto out;
        }
        if (json) {
            system_json(s, &b);
            printf("%s\n", b.data);
        } else {
            show_text(s, &b);
        }
    } else if (json) {
        for (size_t i = 0; i < cs_inventory_count(inv); i++) {
            system_json(cs_inventory_get(inv, i), &b);
            printf("%s\n", b.data);
        }
    } else {
        list_text(inv, lang, &b);
    }
    if (b.failed) {
        cs_cli_error("out of memory");
        status = CS_EXIT_FAIL;
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        cs_cli_error("cannot write the output");
        status = CS_EXIT_FAIL;
    }
out:
    cs_buf_free(&b);
    cs_inventory_free(inv);
    cs_config_free(cfg);
    return status;
}
