/* A shared object without the entry symbol. */
#include "citysoc/plugin.h"

CS_PLUGIN_EXPORT int not_a_plugin(void);
CS_PLUGIN_EXPORT int not_a_plugin(void)
{
    return 42;
}
