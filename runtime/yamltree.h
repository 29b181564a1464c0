/* yamltree.h - YAML documents as a small tree that remembers line numbers.
 *
 * Built on libyaml's event parser. Every node knows its line and column so a
 * config or rule error can name file:line. Aliases and anchors are refused
 * (that is the whole "billion laughs" defence: no alias, no expansion), and
 * depth, node count and scalar size are capped.
 *
 * Ownership: cs_yaml_load_*() return a cs_yaml_file the caller frees with
 * cs_yaml_free(); every node and string inside belongs to it.
 */
#ifndef CS_YAMLTREE_H
#define CS_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CS_YAML_MAX_DEPTH 64
#define CS_YAML_MAX_NODES 1000000
#define CS_YAML_MAX_FILE (64u * 1024u * 1024u)

typedef enum cs_yaml_type { CS_YAML_SCALAR, CS_YAML_SEQ, CS_YAML_MAP } cs_yaml_type;

typedef struct cs_yaml_node cs_yaml_node;
struct cs_yaml_node {
    cs_yaml_type type;
    int line;            /* 1-based */
    int col;             /* 1-based */
    /* scalar */
    char *str;           /* NUL-terminated; may contain NULs before len */
    size_t len;
    bool plain;          /* unquoted: only plain scalars can be null/bool/number */
    /* seq: items[n]; map: keys[n] (scalars) and items[n] (values) */
    size_t n;
    cs_yaml_node **keys;
    cs_yaml_node **items;
};

typedef struct cs_yaml_file {
    char *path;              /* as given, for messages */
    size_t ndocs;
    cs_yaml_node **docs;     /* root of each document ("---" separated) */
} cs_yaml_file;

cs_rc cs_yaml_load_file(const char *path, cs_yaml_file **out);
/* name is used in messages in place of a path. */
cs_rc cs_yaml_load_string(const char *name, const char *text, size_t len, cs_yaml_file **out);
void cs_yaml_free(cs_yaml_file *f);

/* Value for key in a map node, or NULL. */
const cs_yaml_node *cs_yaml_get(const cs_yaml_node *map, const char *key);
/* Plain null, "~", "null" or empty plain scalar. */
bool cs_yaml_is_null(const cs_yaml_node *n);
bool cs_yaml_scalar_eq(const cs_yaml_node *n, const char *s);
/* Typed reads of a scalar; set a file:line error on a wrong type. */
cs_rc cs_yaml_bool(const cs_yaml_file *f, const cs_yaml_node *n, bool *out);
cs_rc cs_yaml_int(const cs_yaml_file *f, const cs_yaml_node *n, int64_t min, int64_t max, int64_t *out);
cs_rc cs_yaml_str(const cs_yaml_file *f, const cs_yaml_node *n, const char **out);
const char *cs_yaml_type_name(cs_yaml_type t);
/* A hash of the node's content (types, keys, scalars and their quoting),
 * not of where it sits: the same YAML text moved in a file hashes the same.
 * Rule reloads use it to tell unchanged rules. */
uint64_t cs_yaml_hash(const cs_yaml_node *n);

#endif
