/* timeparse: exact parsing of vendor timestamps and durations.
 * All instants are int64 microseconds since the Unix epoch, UTC. Fractions
 * finer than a microsecond (.NET writes 7 digits) are rounded to the nearest
 * microsecond exactly as PostgreSQL reads the same text, so a stored time
 * equals (raw->>'field')::timestamptz. */
#ifndef SS_TIMEPARSE_H
#define SS_TIMEPARSE_H

#include <stdint.h>
#include <stddef.h>
#include "err.h"

#define TS_NULL INT64_MIN /* "no timestamp" in records */

/* ISO 8601 / RFC 3339: "2019-09-10T16:29:29.9074258+00:00", "...Z", 0-9
 * fraction digits, offsets +HH:MM / -HH:MM / Z; also a bare date "2020-01-31"
 * (midnight UTC) and "2022-02-02 02:00:00" (space separator, no zone:
 * taken as `default_offset_min` minutes east of UTC). */
int ts_parse(const char *s, int default_offset_min, int64_t *out_us,
             struct ss_err *err) SS_MUSTCHECK;

/* Writes "2019-09-10T16:29:29.907425Z" (6 digits, UTC) into out (>= 32 bytes).
 * Trailing zero fraction digits are kept so output sorts as text. */
void ts_format(int64_t us, char *out, size_t outlen);
/* Writes the form PostgreSQL accepts for timestamptz: same as ts_format. */

/* .NET TimeSpan "[-][d.]hh:mm:ss[.fffffff]": "00:02:49.6832460" -> 169683246 us. */
int duration_parse(const char *s, int64_t *out_us, struct ss_err *err) SS_MUSTCHECK;

/* Calendar helpers (proleptic Gregorian, UTC). */
struct ts_parts {
    int64_t year;
    int month, day, hour, minute, second, micro;
};
/* Splits an instant into calendar fields (floor semantics before 1970). */
void ts_split(int64_t us, struct ts_parts *p);
int64_t ts_from_civil(int y, int mon, int d, int h, int mi, int s);
/* Parses a CLI date "2020-01-31" or a full timestamp. */
int ts_parse_cli(const char *s, int64_t *out_us, struct ss_err *err) SS_MUSTCHECK;

#endif
