/* sb_emmersion: the Emmersion Enterprise API 2020q3 as the sandbox serves it
 * (/work/shared/seeds/003_*.txt): GET /assessments, GET /groups, POST /scores
 * (started and completed filters), POST /score, POST /assignments; reports
 * with writingOpenResponses and certificateUrl. The API itself is the
 * family's (sb_emm_family.c); this file picks the version, the limits and
 * the auth. */
#include "sb_emm_family.h"
#include "sb_vendor.h"

static int emm_init(const struct sb_init *in, void **state, struct ss_err *err)
{
    return emf_init(&emf_emmersion_2020q3, in, state, err);
}

const struct sb_vendor sb_emmersion_vendor = {
    .name = "emmersion",
    .version_prefix = "/emmersion/2020q3",
    .help = "  /emmersion/2020q3   Emmersion: /assessments /groups /scores /score /assignments\n"
            "  /_sandbox/emmersion/expected?account=A    what a full sync must load\n"
            "  /_sandbox/emmersion/score-pending?account=A  score every ScorePending report\n",
    .limits = EMF_LIMITS,
    .nlimits = EMF_NLIMITS,
    /* "never as a query string parameter" */
    .auth = sb_auth_bearer,
    .auth_challenge = "Bearer",
    .init = emm_init,
    .free_state = emf_free,
    .handle = emf_handle,
    .admin = emf_admin,
};
