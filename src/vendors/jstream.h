/* jstream: a streaming reader for the records of one JSON response
 * (hiredis's redisReaderFeed idea). It is fed bytes as they arrive from
 * curl's write callback and hands each element of the chosen container to a
 * callback as soon as that element is complete, as its own JSON text (the
 * bytes exactly as received). Memory holds one element, never the body.
 *
 * The container is a member of the root object (`{"userScores": [...]}`,
 * opts.container = "userScores"), or the root itself (opts.container = NULL,
 * `[...]`). It may be an array (elements get key NULL) or an object whose
 * member values are the elements (`{"candidates": {"a@x": {...}}}`, each
 * element gets its member name as key). Other members of the root object are
 * handed to on_member when their text is at most max_member bytes (page
 * tokens, totals), and skipped otherwise.
 *
 * jstream checks structure only (brackets, strings and their escapes,
 * commas, colons, literals roughly): each element is parsed strictly by the
 * vendor's own parser. An element larger than max_element or nested deeper
 * than max_depth is not kept: on_bad gets its index and why, and reading goes
 * on (one bad record never sinks a response); without on_bad it is an error.
 *
 * Ownership: jstream_new() -> jstream_free(). Texts passed to callbacks are
 * valid only during the call and are NOT NUL-terminated (use len).
 *
 * Details of the contract:
 * - Elements may be any JSON value (scalars too), handed over as their text
 *   from first to last byte, without surrounding whitespace. An element that
 *   lies whole inside one fed chunk is passed in place (no copy).
 * - Keys (element keys of object containers, on_member keys) are decoded
 *   member names (escapes and \uXXXX resolved to UTF-8; a lone surrogate
 *   becomes U+FFFD). Names longer than 4096 raw bytes are truncated: such an
 *   element goes to on_bad ("member name longer than ..."), such a member is
 *   skipped.
 * - Depth counts the element's own brackets: `{}` is 1 deep, `{"a":[1]}` 2.
 *   The same limit applies to on_member values; deeper ones are skipped.
 * - A container member whose value is `null` counts as missing; a container
 *   member that is another scalar, or appears twice, is an error.
 * - Error messages read "invalid JSON at byte N: ..." with N the 0-based
 *   offset in the body. Oversize is decided at the element's
 *   (max_element + 1)-th byte, whatever the chunking; without on_bad,
 *   oversize or too deep fails there with SS_ETOOBIG ("element I at byte N:
 *   larger than M bytes", N its first byte). A callback that returns -1
 *   without filling err gets a generic message.
 * - Not checked (json-c checks each element): number grammar, control
 *   characters in strings, UTF-8 validity, duplicate keys; inside a value
 *   deeper than max_depth only strings and brackets are followed. */
#ifndef SS_JSTREAM_H
#define SS_JSTREAM_H

#include <stddef.h>
#include "../core/err.h"

/* Return 0 to go on, -1 to stop reading (jstream_feed then returns -1 with
 * the err the callback filled). key: member name for object containers,
 * NUL-terminated, else NULL. index: 0-based position in the container. */
typedef int (*jstream_element_fn)(void *arg, const char *key, size_t index, const char *json,
                                  size_t len, struct ss_err *err);
typedef int (*jstream_member_fn)(void *arg, const char *key, const char *json, size_t len,
                                 struct ss_err *err);
/* prefix: the first bytes of the element (at most 256), for a quarantine row. */
typedef int (*jstream_bad_fn)(void *arg, const char *key, size_t index, const char *reason,
                              const char *prefix, size_t prefix_len, struct ss_err *err);

enum { JSTREAM_ANY = 0, JSTREAM_ARRAY, JSTREAM_OBJECT };

struct jstream_opts {
    const char *container; /* root member holding the records; NULL = the root */
    size_t max_element;    /* 0 = 16 MiB */
    size_t max_member;     /* 0 = 64 KiB */
    int max_depth;         /* nesting inside one element; 0 = 64 */
    /* JSTREAM_ARRAY / JSTREAM_OBJECT: the container must be of that kind (an
     * API documented to send an array that sends an object is malformed);
     * 0 = either. */
    int kind;
    jstream_element_fn on_element;
    jstream_member_fn on_member; /* may be NULL */
    jstream_bad_fn on_bad;       /* may be NULL: oversize/too deep is then an error */
    void *arg;
};

struct jstream;

struct jstream *jstream_new(const struct jstream_opts *opts); /* NULL on out of memory */
void jstream_free(struct jstream *s);
/* Starts a new document (a retried attempt): forgets everything read. */
void jstream_reset(struct jstream *s);
/* Feeds the next bytes. Returns 0, or -1 (SS_EINVAL) when the text is not
 * JSON of the expected shape (err names the byte offset), or a callback
 * stopped. Once it has failed, later feeds fail too until reset. */
int jstream_feed(struct jstream *s, const char *data, size_t len, struct ss_err *err) SS_MUSTCHECK;
/* At the end of the body: -1 (SS_EINVAL) if the document is incomplete
 * (truncated), has trailing garbage, or has no such container. A root that
 * is an object without the container member is an error unless
 * `missing_ok` (an API that omits an empty list). */
int jstream_finish(struct jstream *s, int missing_ok, struct ss_err *err) SS_MUSTCHECK;
/* Elements seen in the current document (good and bad): those handed to
 * on_element or on_bad so far. */
size_t jstream_count(const struct jstream *s);
/* Bytes fed in the current document (all of every chunk passed to feed). */
size_t jstream_bytes(const struct jstream *s);

#endif
