/* sb_truenorth: the TrueNorth Enterprise API 2020q1 as the sandbox serves it
 * (/work/shared/seeds/002_*.txt), the older version of Emmersion's API:
 * GET /assessments, GET /groups, POST /scores filtered only by
 * startedOnOrAfter/startedOnOrBefore, groupIds and
 * includeIncompleteAssessments, POST /score; no /assignments, and reports
 * without writingOpenResponses and certificateUrl. Same limits and Bearer
 * auth. The API itself is the family's (sb_emm_family.c), with its data
 * generated on first use and the complete-in-progress admin endpoint. */
#include "sb_emm_family.h"
#include "sb_vendor.h"

static int tn_init(const struct sb_init *in, void **state, struct ss_err *err)
{
    return emf_init(&emf_truenorth_2020q1, in, state, err);
}

const struct sb_vendor sb_truenorth_vendor = {
    .name = "truenorth",
    .version_prefix = "/truenorth/2020q1",
    .help = "  /truenorth/2020q1   TrueNorth: /assessments /groups /scores (started filters,\n"
            "                      includeIncompleteAssessments) /score; data made on first use\n"
            "  /_sandbox/truenorth/expected?account=A    what a full sync must load, with\n"
            "                      unfinished attempts\n"
            "  /_sandbox/truenorth/complete-in-progress?account=A[&n=N]\n"
            "                      finish the N (default 1) oldest InProgress attempts now\n",
    .limits = EMF_LIMITS,
    .nlimits = EMF_NLIMITS,
    .auth = sb_auth_bearer,
    .auth_challenge = "Bearer",
    .init = tn_init,
    .free_state = emf_free,
    .handle = emf_handle,
    .admin = emf_admin,
};
