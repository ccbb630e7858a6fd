/* TrueNorth Enterprise API 2020q1 (seeds/002): the older version of the
 * Emmersion family, so this file is its version table and vendor_ops; the
 * extractor and record parser are emmersion.c's. What 2020q1 lacks: the
 * completedOnOrAfter/Before filters (only startedOnOrAfter/Before), POST
 * /assignments, writingOpenResponses and certificateUrl.
 *
 * With start-date windows only, an attempt started before the checkpoint
 * and finished after it would never be read again. So /scores is read with
 * includeIncompleteAssessments, unfinished attempts are stored as results,
 * and each sync re-reads the start windows of those still unfinished (the
 * vendor_stream recheck, clustered and capped per run) until they are final
 * or older than recheck_days. */
#include "emmersion.h"

static const struct emm_version tn_2020q1 = {
    .after_key = "startedOnOrAfter",
    .before_key = "startedOnOrBefore",
    .incomplete_filter = 1,
    .has_assignments = 0,
};

/* Attempts that can still change; a NotStarted one has no start date to
 * window on, and appears in a later window once started. */
static const char *const tn_recheck[] = {"in_progress", "score_pending", "needs_review", NULL};

static const struct vendor_stream tn_streams[] = {
    {"scores", 0, tn_recheck, "started_at"},
    {NULL, 0, NULL, NULL},
};

static const char *const tn_stream_names[] = {"scores", NULL};
static const char *const tn_secrets[] = {"api_key", NULL};

static const struct cfg_opt_def tn_opts[] = {
    {"scores_path", CFG_OPT_STRING, "/scores/", NULL, "path of POST scores under base_url"},
    {"include_incomplete", CFG_OPT_BOOL, "true", NULL,
     "read unfinished attempts too (includeIncompleteAssessments), so one that finishes "
     "after its start window was read is caught by the re-checks"},
    {NULL, CFG_OPT_STRING, NULL, NULL, NULL},
};

const struct vendor_ops truenorth_vendor = {
    .name = "truenorth",
    .title = "TrueNorth Enterprise API 2020q1",
    .streams = tn_streams,
    .config =
        {
            .name = "truenorth",
            .base_url = "https://api.truenorthtest.com/2020q1",
            .streams = tn_stream_names,
            .default_streams = NULL,
            .rate_limits = "5/1,2000/1200",
            .secrets = tn_secrets,
            .opts = tn_opts,
        },
    .statuses = NULL,
    .auth = VA_BEARER,
    .variant = &tn_2020q1,
    .extract = emm_family_extract,
    .parse_body = emm_family_parse_body,
    .reparse = emm_family_reparse,
    .check = emm_family_check,
    .plan = emm_family_plan,
};
