/* secrets: environment and file look-ups behind config values. Private to
 * src/config/. Every string returned is malloc'd and the caller's; secret
 * values are released with sec_free(), which wipes them first. Error messages
 * name variables and files, never a secret's value. */
#ifndef SS_SECRETS_PRIV_H
#define SS_SECRETS_PRIV_H

#include "../core/err.h"

enum sec_ref {
    SEC_LITERAL = 0,     /* not a reference: a secret written into the file */
    SEC_ENV = 1,         /* exactly "${NAME}" */
    SEC_ENV_DEFAULT = 2, /* "${NAME:-...}": defaults are refused for secrets */
};

/* Classifies a secret's text; for SEC_ENV and SEC_ENV_DEFAULT *name is set
 * (caller frees). */
enum sec_ref sec_classify(const char *text, char **name);

/* Reads secret NAME from the environment: unset, empty or multi-line is an error. */
int sec_from_env(const char *name, char **out, struct ss_err *err) SS_MUSTCHECK;

/* Reads a secret file and strips one trailing newline. *loose_mode is set to 1
 * when group or others may read the file (the caller warns). */
int sec_from_file(const char *path, char **out, int *loose_mode, struct ss_err *err) SS_MUSTCHECK;

/* Expands ${NAME} and ${NAME:-default} anywhere in a non-secret value; an
 * unset or empty NAME without a default expands to "". NULL + err on a
 * malformed reference. */
char *sec_expand(const char *text, struct ss_err *err);

/* Wipes and frees a secret value. */
void sec_free(char *s);

#endif
