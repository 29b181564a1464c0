/* A plugin that needs a newer minor than the host provides. */
#include "citysoc/plugin.h"

static const cs_plugin d = {
    .size = sizeof(cs_plugin),
    .abi_major = CS_PLUGIN_ABI_MAJOR,
    .abi_minor = CS_PLUGIN_ABI_MINOR + 1,
    .name = "newer_minor",
};

CS_PLUGIN_EXPORT const cs_plugin *cs_plugin_entry(void)
{
    return &d;
}
