/* sb_data: the deterministic data behind the sandbox's Emmersion/TrueNorth
 * family of APIs. Everything derives from (seed, account): the same inputs
 * give byte-identical responses. Reports are compact structs generated at
 * init and sorted by completed time, so a window is a binary search; strings
 * (ids, names, levels) are rendered on output from hashes of the indexes.
 *
 * Times are .NET ticks (100 ns) since the Unix epoch. Completed times are
 * strictly increasing even at microsecond resolution, so any partition of
 * the range into windows (clients parse to microseconds) sees each report
 * exactly once.
 *
 * Reports without a completed time (NotStarted, InProgress) follow, sorted
 * by assigned time. sb_data_index_started() adds an index by started time
 * for APIs whose only date filter is the start (TrueNorth 2020q1), and
 * sb_data_complete() finishes an InProgress report in place (it keeps its
 * position, so completed-time windows do not see it: only for such APIs).
 *
 * Ownership: sb_data_generate() fills a caller-owned struct sb_dataset whose
 * arrays are released by sb_data_free(). */
#ifndef SS_SB_DATA_H
#define SS_SB_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

#define SB_NONE          INT64_MIN
#define SB_TICKS_PER_US  10
#define SB_TICKS_PER_SEC 10000000LL

enum sb_status {
    SB_ST_NOT_STARTED = 0,
    SB_ST_IN_PROGRESS,
    SB_ST_SCORE_PENDING,
    SB_ST_COMPLETED,
    SB_ST_NEEDS_REVIEW,
};

enum sb_assessment {
    SB_AS_EN_SPEAKING = 0, /* TrueNorth */
    SB_AS_EN_WRITING,
    SB_AS_ES_SPEAKING,
    SB_AS_EN_GRAMMAR, /* WebCAPE */
    SB_AS_ES_GRAMMAR,
    SB_AS_COUNT,
};

/* How a deliberately bad record is broken (p_bad_record). */
enum sb_bad {
    SB_BAD_NONE = 0,
    SB_BAD_CEFR,       /* "cefrSpeakingLevel": "B7" */
    SB_BAD_SCORE_TYPE, /* "score": "eight" */
    SB_BAD_NO_ID,      /* userAssessmentId missing */
    SB_BAD_DATE,       /* "completed": unparseable */
};

struct sb_report {
    int64_t completed; /* ticks or SB_NONE */
    int64_t started;
    int64_t assigned;
    uint32_t user;  /* index into users */
    uint32_t index; /* generation index: ids and details derive from it */
    uint16_t score; /* TrueNorth: tenths (0..100); WebCAPE: 0..1000 */
    uint8_t assessment;
    uint8_t status;
    uint8_t bad;
};

#define SB_U_NO_UID     0x01 /* uniqueIdentifier null */
#define SB_U_NO_STUDENT 0x02 /* studentId null */
#define SB_U_NO_EMAIL   0x04 /* email null (username = uniqueIdentifier) */
#define SB_U_SID_IS_UID 0x08 /* studentId equals uniqueIdentifier */

struct sb_user {
    uint32_t first; /* into by_user */
    uint16_t count;
    uint8_t groups; /* bitmask over SB_NGROUPS groups */
    uint8_t flags;
};

#define SB_NGROUPS 5

struct sb_uid_entry {
    uint64_t h;
    uint32_t user;
};

struct sb_dataset {
    uint64_t key; /* hash of (seed, account): the root of every derived value */
    struct sb_report *reports;
    size_t nreports;
    size_t ncompleted;     /* reports[0, ncompleted) have a completed time, ascending */
    uint32_t *by_user;     /* report positions grouped by user, ascending within */
    uint32_t *by_assigned; /* report positions by assigned time */
    uint32_t *by_started;  /* positions of reports with a start time, by started
                              time then generation index; NULL until indexed */
    size_t nstarted;
    struct sb_user *users;
    size_t nusers;
    struct sb_uid_entry *uid_index; /* sorted by h, for userId look-ups */
};

int sb_data_generate(uint64_t seed, const char *account, long reports, double p_bad_record,
                     struct sb_dataset *ds, struct ss_err *err) SS_MUSTCHECK;
void sb_data_free(struct sb_dataset *ds);

/* First position in [0, ncompleted) whose completed time, truncated to
 * microseconds, is >= us (or > us with strict). */
size_t sb_data_completed_bound(const struct sb_dataset *ds, int64_t us, int strict);
/* First position in by_assigned whose assigned time (us) is >= us / > us. */
size_t sb_data_assigned_bound(const struct sb_dataset *ds, int64_t us, int strict);
/* Builds by_started (about 0.15 s per million reports). */
int sb_data_index_started(struct sb_dataset *ds, struct ss_err *err) SS_MUSTCHECK;
/* First position in by_started whose started time (us) is >= us / > us. */
size_t sb_data_started_bound(const struct sb_dataset *ds, int64_t us, int strict);
/* The report at `pos` becomes Completed at `completed` (ticks) with the score
 * its index derives, as if it had been generated so. */
void sb_data_complete(struct sb_dataset *ds, size_t pos, int64_t completed);

/* User by userId / uniqueIdentifier; -1 if none. */
long sb_data_find_user_id(const struct sb_dataset *ds, const char *user_id);
long sb_data_find_unique(const struct sb_dataset *ds, const char *unique_id);

/* Derived strings. */
void sb_report_id(const struct sb_dataset *ds, uint32_t index, char out[37]);
void sb_user_id(const struct sb_dataset *ds, uint32_t user, char out[37]);
void sb_group_id(const struct sb_dataset *ds, int group, char out[37]);
const char *sb_group_name(int group);
/* uniqueIdentifier / studentId into out (>= 16 bytes); returns 0 if null. */
int sb_user_unique(const struct sb_dataset *ds, uint32_t user, char *out, size_t n);
int sb_user_student(const struct sb_dataset *ds, uint32_t user, char *out, size_t n);
struct sb_user_names {
    const char *given;
    const char *surname;
    char username[96];
    char email[96]; /* "" = null */
};
void sb_user_names(const struct sb_dataset *ds, uint32_t user, struct sb_user_names *n);

/* Hashing used for every derived value. */
uint64_t sb_mix64(uint64_t x);
uint64_t sb_hash3(uint64_t key, uint64_t a, uint64_t b);
uint64_t sb_str_hash(const char *s);
void sb_uuid(uint64_t key, uint64_t kind, uint64_t idx, char out[37]);

/* .NET renderings: "2019-09-10T16:29:29.9074258+00:00" and "00:02:49.6832460". */
void sb_fmt_ticks(int64_t ticks, char *out, size_t n);
void sb_fmt_duration(int64_t ticks, char *out, size_t n);

#endif
