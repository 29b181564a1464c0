/* A well-formed plugin that also has an internal helper: with hidden
 * visibility only cs_plugin_entry may be exported (checked with dlsym). */
#include "citysoc/plugin.h"

int internal_helper(int x);
int internal_helper(int x)
{
    return x + 1;
}

static int on_event(void *state, const cs_event *ev)
{
    (void)ev;
    (*(int *)state) = internal_helper(*(int *)state);
    return CS_PLUGIN_OK;
}

static int counter;

static int init(const cs_host_api *host, cs_plugin_ctx *ctx, void **state)
{
    (void)host;
    (void)ctx;
    *state = &counter;
    return CS_PLUGIN_OK;
}

static const cs_plugin_cfg_key keys[] = {
    {"flag", CS_PCFG_BOOL, "false", 0, 0, "a boolean"},
    {"label", CS_PCFG_STR, "x", 0, 0, "a label"},
};

static const cs_plugin d = {
    CS_PLUGIN_HEADER,
    .name = "hidden_symbols",
    .version = "1",
    .config_keys = keys,
    .nconfig_keys = 2,
    .init = init,
    .on_event = on_event,
};

CS_PLUGIN_EXPORT const cs_plugin *cs_plugin_entry(void)
{
    return &d;
}
