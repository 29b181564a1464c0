/* A plugin built for a future ABI major: the host must refuse it. */
#include "citysoc/plugin.h"

static const cs_plugin d = {
    .size = sizeof(cs_plugin),
    .abi_major = CS_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = "bad_major",
};

CS_PLUGIN_EXPORT const cs_plugin *cs_plugin_entry(void)
{
    return &d;
}
