/* The table of vendors scoresync can sync. Adding one: write vendors/<name>.c
 * defining `const struct vendor_ops <name>_vendor`, declare it here, list it. */
#include <string.h>
#include "vendor.h"

extern const struct vendor_ops emmersion_vendor;

const struct vendor_ops *const vendor_registry[] = {
    &emmersion_vendor,
    NULL,
};

const struct vendor_ops *vendor_find(const char *name)
{
    for (size_t i = 0; vendor_registry[i]; i++)
        if (strcmp(vendor_registry[i]->name, name) == 0)
            return vendor_registry[i];
    return NULL;
}

int vendor_has_stream(const struct vendor_ops *v, const char *stream)
{
    for (size_t i = 0; v->streams[i]; i++)
        if (strcmp(v->streams[i], stream) == 0)
            return 1;
    return 0;
}
