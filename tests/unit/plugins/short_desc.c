/* A descriptor that claims to be smaller than ABI 1.0's. */
#include "citysoc/plugin.h"

static const cs_plugin d = {
    .size = 16,
    .abi_major = CS_PLUGIN_ABI_MAJOR,
    .abi_minor = 0,
    .name = "short_desc",
};

CS_PLUGIN_EXPORT const cs_plugin *cs_plugin_entry(void)
{
    return &d;
}
