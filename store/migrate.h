/* migrate.h - the store's versioned schema (see migrate.c).
 *
 * Ownership: nothing is allocated for the caller; the store is borrowed.
 */
#ifndef CS_STORE_MIGRATE_H
#define CS_STORE_MIGRATE_H

#include "store.h"

/* Bring a writable store from its PRAGMA user_version up to target (at most
 * CS_STORE_SCHEMA_VERSION), one transaction per step, so a failed step
 * leaves the file at the last version that completed. A file newer than
 * CS_STORE_SCHEMA_VERSION is refused. cs_store_open() calls this with
 * CS_STORE_SCHEMA_VERSION for writers; tests call it with lower targets. */
cs_rc cs_store_migrate(cs_store *s, int target);

/* The schema version of the open file (PRAGMA user_version). */
cs_rc cs_store_schema_version(cs_store *s, int *version);

#endif
