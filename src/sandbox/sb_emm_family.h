/* sb_emm_family: the Emmersion/TrueNorth Enterprise API family as the
 * sandbox serves it. Both vendors are versions of one API (TrueNorth 2020q1
 * was renamed Emmersion by 2020q3); this module holds what they share — the
 * data (sb_data), /assessments, /groups, POST /scores, POST /score,
 * POST /assignments, the report JSON, the admin endpoints — and a version
 * table saying what each version has. sb_emmersion.c and sb_truenorth.c only
 * pick their version and declare their sb_vendor.
 *
 * A version without completed-date filters is synced by start date: its data
 * gets an index by started time, its expected counts unfinished attempts,
 * and it has the complete-in-progress admin endpoint.
 *
 * Threading: handlers take a read lock on the state; the admin endpoints
 * that change data (score-pending, complete-in-progress) and lazy generation
 * take the write lock.
 *
 * Ownership: emf_init() creates the state, freed by emf_free(). */
#ifndef SS_SB_EMM_FAMILY_H
#define SS_SB_EMM_FAMILY_H

#include <stdint.h>

#include "sb_vendor.h"

/* What a version has. */
enum {
    EMF_COMPLETED_FILTERS = 1u << 0, /* completedOnOrAfter/Before on POST /scores */
    EMF_ASSIGNMENTS = 1u << 1,       /* POST /assignments */
    EMF_WRITING_RESPONSES = 1u << 2, /* "writingOpenResponses" in reports */
    EMF_CERTIFICATE_URL = 1u << 3,   /* "certificateUrl" in reports */
    EMF_LAZY_DATA = 1u << 4,         /* an account's data is generated on first use */
};

struct emf_version {
    const char *vendor; /* "truenorth": log lines, error prefixes */
    const char *api;    /* "2020q1": the start of response URLs */
    uint64_t salt;      /* 0: data from the seed as is; else the seed is mixed with it */
    unsigned features;  /* EMF_* */
};

extern const struct emf_version emf_emmersion_2020q3;
extern const struct emf_version emf_truenorth_2020q1;

/* The family's documented limits: 5 per second and 2,000 per 20 minutes. */
#define EMF_LIMITS                                                                                 \
    {                                                                                              \
        {5, 1000000LL},                                                                            \
        {                                                                                          \
            2000, 1200LL * 1000000LL                                                               \
        }                                                                                          \
    }
#define EMF_NLIMITS 2

int emf_init(const struct emf_version *v, const struct sb_init *in, void **state,
             struct ss_err *err);
void emf_free(void *state);
int emf_handle(const struct sb_req *req, struct sb_resp *resp);
/* expected, score-pending, hostile (serve the hostile-input cases from now
 * on; see sb_emm_family.c); complete-in-progress for start-date versions. */
int emf_admin(void *state, const struct sb_admin_req *req, struct sb_resp *resp);

#endif
