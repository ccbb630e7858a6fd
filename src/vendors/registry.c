/* The table of vendors scoresync can sync. Adding one: write vendors/<name>.c
 * defining `const struct vendor_ops <name>_vendor` (with its config schema),
 * declare it here and list it in both tables. */
#include <string.h>
#include "vendor.h"

extern const struct vendor_ops emmersion_vendor;
extern const struct vendor_ops truenorth_vendor;
extern const struct vendor_ops cepa_vendor;
extern const struct vendor_ops etest_vendor;
extern const struct vendor_ops testello_vendor;

/* One vendor a line. */
// clang-format off
const struct vendor_ops *const vendor_registry[] = {
    &emmersion_vendor,
    &truenorth_vendor,
    &cepa_vendor,
    &etest_vendor,
    &testello_vendor,
    NULL,
};

/* The same vendors' config schemas, for config.c (which knows no vendor). */
const struct cfg_vendor_schema *const cfg_vendor_schemas[] = {
    &emmersion_vendor.config,
    &truenorth_vendor.config,
    &cepa_vendor.config,
    &etest_vendor.config,
    &testello_vendor.config,
    NULL,
};
// clang-format on

const struct vendor_ops *vendor_find(const char *name)
{
    for (size_t i = 0; vendor_registry[i]; i++)
        if (strcmp(vendor_registry[i]->name, name) == 0)
            return vendor_registry[i];
    return NULL;
}

const struct vendor_stream *vendor_stream(const struct vendor_ops *v, const char *name)
{
    for (const struct vendor_stream *s = v->streams; s && s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

int vendor_auth(const struct vendor_ops *v, const struct cfg_account *acct, struct http_auth *out,
                struct ss_err *err)
{
    memset(out, 0, sizeof *out);
    switch (v->auth) {
    case VA_BEARER:
        out->place = HTTP_AUTH_HEADER;
        out->name = "Authorization";
        out->prefix = "Bearer ";
        out->value = acct->api_key ? acct->api_key : "";
        return 0;
    case VA_API_KEY:
        if (!v->auth_setup)
            return err_set(err, SS_ECONFIG, "%s: no auth_setup for an API-key vendor", v->name);
        return v->auth_setup(acct, out, err);
    case VA_SIGNED:
        if (!v->sign)
            return err_set(err, SS_ECONFIG, "%s: no sign function for a signing vendor", v->name);
        if (v->auth_setup && v->auth_setup(acct, out, err) != 0)
            return -1;
        out->sign = v->sign;
        out->sign_arg = (void *)acct;
        return 0;
    }
    return err_set(err, SS_ECONFIG, "%s: unknown auth kind", v->name);
}
