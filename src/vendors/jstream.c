/* jstream: the streaming element reader (see jstream.h). One byte-level state
 * machine over whatever chunks arrive; strings are skipped with memchr, and
 * the bytes of the element being read are copied in runs (one per chunk), or
 * not at all when the element lies whole inside one chunk. The reader owns
 * its element buffer, its stack and a copy of opts.container; callers own
 * nothing it returns. */
#include "jstream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JS_PREFIX  256  /* bytes of a bad element kept for on_bad */
#define JS_KEY_MAX 4096 /* raw bytes of a member name that are kept */
#define JS_BASE    2    /* stack levels outside elements: root and container */

enum js_state {
    S_ROOT,      /* before the root value */
    S_VALUE,     /* a value must come (after ':' or an array's ',') */
    S_ARR_FIRST, /* after '[': a value or ']' */
    S_OBJ_FIRST, /* after '{': a member name or '}' */
    S_KEY,       /* after an object's ',': a member name */
    S_COLON,     /* after a member name */
    S_AFTER,     /* after a value: ',' or the closing bracket */
    S_END,       /* after the root value: whitespace only */
    S_STR,       /* inside a string */
    S_ESC,       /* after a backslash in a string */
    S_UHEX,      /* inside the four hex digits of \uXXXX */
    S_NUM,       /* inside a number */
    S_LIT,       /* inside true, false or null */
    S_DEEP,      /* inside a value nested too deep: brackets counted only */
};

enum { STR_VALUE, STR_KEY, STR_DEEP };               /* where a string returns to */
enum { CAP_NONE, CAP_ELEM, CAP_MEMBER };             /* what is being captured */
enum { CONT_NONE, CONT_OPEN, CONT_DONE, CONT_NULL }; /* the container so far */

struct jstream {
    /* Options, defaults applied. */
    char *container; /* owned copy; NULL = the root is the container */
    size_t container_len;
    size_t max_element, max_member, buf_max;
    int max_depth;
    jstream_element_fn on_element;
    jstream_member_fn on_member;
    jstream_bad_fn on_bad;
    void *arg;

    /* Lexer and structure. */
    enum js_state state;
    int str_kind;
    int hexleft;
    const char *lit; /* the literal being matched, at litpos */
    int litpos;
    unsigned char *stack; /* '{' or '[' per open container; JS_BASE + max_depth */
    int depth;            /* open containers on the stack */
    int limit;            /* depth at which an opening bracket is too deep */
    int elem_depth;       /* deepest level at which roles are decided (1 or 2) */
    size_t deep;          /* brackets open beyond the stack (S_DEEP) */

    /* The document. */
    int cont_state;
    int cont_depth; /* depth inside the container (parent depth of elements) */
    int cont_obj;   /* the container is an object: elements have keys */
    int kind;       /* opts.kind: JSTREAM_ARRAY / JSTREAM_OBJECT / any */
    size_t index;   /* index of the next element */
    size_t count;   /* elements handed to on_element or on_bad */
    size_t off;     /* bytes fed before the current chunk */
    int failed;
    struct ss_err fail;

    /* The element or member being captured. */
    int cap;
    int cap_depth;        /* depth at which it started (its parent's) */
    int cap_bad;          /* too big or deep: only the prefix is kept (elements) */
    size_t cap_max;       /* its size cap */
    size_t cap_index;     /* its index (elements) */
    size_t cap_off;       /* its first byte's offset in the body */
    const char *cap_from; /* its first byte in this chunk, or NULL: chunk start */
    char *buf;
    size_t buf_len, buf_cap;
    char reason[96];

    /* The last member name at a level that matters (root or container). */
    int key_cap; /* capturing the member name now */
    const char *key_from;
    size_t key_len;
    int key_over; /* longer than JS_KEY_MAX: truncated */
    char key[JS_KEY_MAX + 1];
};

/* Characters that may continue a number; json-c checks the exact grammar. */
static const unsigned char js_num[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1, ['+'] = 1, ['-'] = 1,
};

static int js_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* ---- errors ---- */

static int js_fail(struct jstream *s, const char *data, const char *p, struct ss_err *err,
                   const char *expected)
{
    unsigned char c = (unsigned char)*p;
    char got[16];
    if (c >= 0x20 && c < 0x7f)
        snprintf(got, sizeof got, "'%c'", c);
    else
        snprintf(got, sizeof got, "byte 0x%02x", c);
    return err_set(err, SS_EINVAL, "invalid JSON at byte %zu: %s, got %s",
                   s->off + (size_t)(p - data), expected, got);
}

/* ---- member names ---- */

static size_t js_put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static long js_hex4(const char *b)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = js_hex((unsigned char)b[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Decodes a string body in place (the text never grows: an escape of 6 or 12
 * bytes makes at most 3 or 4). Lone surrogates become U+FFFD; an escape cut
 * off by truncation ends the text. */
static size_t js_unescape(char *b, size_t n)
{
    size_t i = 0, o = 0;
    while (i < n) {
        if (b[i] != '\\') {
            b[o++] = b[i++];
            continue;
        }
        if (i + 1 >= n)
            break;
        char e = b[i + 1];
        i += 2;
        switch (e) {
        case 'b':
            b[o++] = '\b';
            break;
        case 'f':
            b[o++] = '\f';
            break;
        case 'n':
            b[o++] = '\n';
            break;
        case 'r':
            b[o++] = '\r';
            break;
        case 't':
            b[o++] = '\t';
            break;
        case 'u': {
            if (i + 4 > n)
                goto out;
            long cp = js_hex4(b + i);
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= n && b[i] == '\\' && b[i + 1] == 'u') {
                long lo = js_hex4(b + i + 2);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp < 0 || (cp >= 0xD800 && cp < 0xE000)) {
                cp = 0xFFFD;
            }
            o += js_put_utf8(b + o, (unsigned)cp);
            break;
        }
        default: /* '"', '\\', '/' (others were refused while reading) */
            b[o++] = e;
        }
    }
out:
    b[o] = '\0';
    return o;
}

static void js_key_put(struct jstream *s, const char *from, size_t n)
{
    if (n > JS_KEY_MAX - s->key_len) {
        n = JS_KEY_MAX - s->key_len;
        s->key_over = 1;
    }
    memcpy(s->key + s->key_len, from, n);
    s->key_len += n;
}

/* ---- capture of elements and members ---- */

static int js_buf_put(struct jstream *s, const char *from, size_t n, struct ss_err *err)
{
    if (n == 0)
        return 0;
    size_t need = s->buf_len + n;
    if (need > s->buf_cap) {
        size_t cap = s->buf_cap ? s->buf_cap : 4096;
        while (cap < need && cap <= (size_t)-1 / 2)
            cap *= 2;
        if (cap > s->buf_max)
            cap = need > s->buf_max ? need : s->buf_max;
        char *nb = realloc(s->buf, cap);
        if (!nb)
            return err_set(err, SS_ENOMEM, "jstream: out of memory for a %zu-byte element", need);
        s->buf = nb;
        s->buf_cap = cap;
    }
    memcpy(s->buf + s->buf_len, from, n);
    s->buf_len = need;
    return 0;
}

/* The element being captured will not be handed over whole: keep its prefix
 * and say why. Without on_bad that is the end of the document. */
static int js_mark_bad(struct jstream *s, struct ss_err *err, const char *fmt, ...) SS_PRINTF(3, 4);
static int js_mark_bad(struct jstream *s, struct ss_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof s->reason, fmt, ap);
    va_end(ap);
    s->cap_bad = 1;
    if (s->buf_len > JS_PREFIX)
        s->buf_len = JS_PREFIX;
    if (!s->on_bad)
        return err_set(err, SS_ETOOBIG, "element %zu at byte %zu%s%s%s: %s", s->cap_index,
                       s->cap_off, s->cont_obj ? " (member \"" : "", s->cont_obj ? s->key : "",
                       s->cont_obj ? "\")" : "", s->reason);
    return 0;
}

/* Adds a run of the captured value's bytes, within its cap. */
static int js_cap_put(struct jstream *s, const char *from, size_t n, struct ss_err *err)
{
    if (!s->cap_bad) {
        if (n <= s->cap_max - s->buf_len)
            return js_buf_put(s, from, n, err);
        if (s->cap == CAP_MEMBER) {
            s->cap_bad = 1; /* too big for on_member: skipped */
            s->buf_len = 0;
            return 0;
        }
        if (js_mark_bad(s, err, "larger than %zu bytes", s->max_element))
            return -1;
    }
    if (s->cap == CAP_ELEM && s->buf_len < JS_PREFIX)
        return js_buf_put(s, from, n < JS_PREFIX - s->buf_len ? n : JS_PREFIX - s->buf_len, err);
    return 0;
}

static void js_cap_start(struct jstream *s, const char *data, const char *p, int what)
{
    s->cap = what;
    s->cap_depth = s->depth;
    s->cap_bad = 0;
    s->cap_from = p;
    s->cap_off = s->off + (size_t)(p - data);
    s->buf_len = 0;
    s->limit = s->depth + s->max_depth;
    if (what == CAP_ELEM) {
        s->cap_max = s->max_element;
        s->cap_index = s->index++;
    } else {
        s->cap_max = s->max_member;
        s->cap_bad = s->on_member == NULL || s->key_over;
    }
}

/* The captured value ends before q: hand it over. */
static int js_cap_end(struct jstream *s, const char *data, const char *q, struct ss_err *err)
{
    const char *from = s->cap_from ? s->cap_from : data;
    size_t n = (size_t)(q - from);
    const char *txt;
    if (s->cap_from && !s->cap_bad && n <= s->cap_max) {
        txt = from; /* whole in this chunk: no copy */
    } else {
        if (js_cap_put(s, from, n, err))
            return -1;
        txt = s->buf;
        n = s->buf_len;
    }
    int what = s->cap, rc = 0;
    s->cap = CAP_NONE;
    s->cap_from = NULL;
    s->limit = JS_BASE;
    err_clear(err);
    if (what == CAP_ELEM) {
        const char *key = s->cont_obj ? s->key : NULL;
        s->count++;
        if (s->cap_bad)
            rc = s->on_bad(s->arg, key, s->cap_index, s->reason, txt, n, err);
        else if (s->on_element)
            rc = s->on_element(s->arg, key, s->cap_index, txt, n, err);
    } else if (!s->cap_bad) {
        rc = s->on_member(s->arg, s->key, txt, n, err);
    }
    s->buf_len = 0;
    if (rc != 0) {
        if (err->code == SS_OK)
            err_set(err, SS_EINVAL, "jstream: a callback stopped reading at byte %zu",
                    s->off + (size_t)(q - data));
        return -1;
    }
    return 0;
}

/* ---- roles: what a value or member name at the top levels is ---- */

static int js_key_wanted(const struct jstream *s)
{
    return (s->cont_state == CONT_OPEN && s->depth == s->cont_depth && s->cont_obj) ||
           (s->container && s->depth == 1);
}

/* The container opens with c but the caller asked for the other kind. */
static int js_wrong_kind(const struct jstream *s, int c)
{
    return (s->kind == JSTREAM_ARRAY && c != '[') || (s->kind == JSTREAM_OBJECT && c != '{');
}

/* A value starts with c at p, at depth <= elem_depth. */
static int js_value_start(struct jstream *s, const char *data, const char *p, int c,
                          struct ss_err *err)
{
    if (s->depth == 0) {
        if (s->container) {
            if (c == '[')
                return err_set(err, SS_EINVAL,
                               "invalid JSON at byte %zu: the root is an array; expected an "
                               "object with member \"%s\"",
                               s->off + (size_t)(p - data), s->container);
            if (c != '{')
                return js_fail(s, data, p, err, "expected '{'");
            return 0;
        }
        if (c != '{' && c != '[')
            return js_fail(s, data, p, err, "expected '[' or '{'");
        if (js_wrong_kind(s, c))
            return js_fail(s, data, p, err,
                           s->kind == JSTREAM_ARRAY ? "expected '['" : "expected '{'");
        s->cont_state = CONT_OPEN;
        s->cont_depth = 1;
        s->cont_obj = c == '{';
        return 0;
    }
    if (s->cont_state == CONT_OPEN && s->depth == s->cont_depth) {
        js_cap_start(s, data, p, CAP_ELEM);
        if (s->cont_obj && s->key_over)
            return js_mark_bad(s, err, "member name longer than %d bytes", JS_KEY_MAX);
        return 0;
    }
    if (s->container && s->depth == 1) {
        if (!s->key_over && s->key_len == s->container_len &&
            memcmp(s->key, s->container, s->key_len) == 0) {
            size_t at = s->off + (size_t)(p - data);
            if (s->cont_state != CONT_NONE)
                return err_set(err, SS_EINVAL, "invalid JSON at byte %zu: member \"%s\" repeated",
                               at, s->container);
            if ((c == '[' || c == '{') && js_wrong_kind(s, c)) {
                return err_set(err, SS_EINVAL, "invalid JSON at byte %zu: member \"%s\" is not %s",
                               at, s->container,
                               s->kind == JSTREAM_ARRAY ? "an array" : "an object");
            } else if (c == '[' || c == '{') {
                s->cont_state = CONT_OPEN;
                s->cont_depth = 2;
                s->cont_obj = c == '{';
            } else if (c == 'n') {
                s->cont_state = CONT_NULL;
            } else {
                return err_set(err, SS_EINVAL,
                               "invalid JSON at byte %zu: member \"%s\" is not an array or object",
                               at, s->container);
            }
            return 0;
        }
        js_cap_start(s, data, p, CAP_MEMBER);
    }
    return 0;
}

/* An opening bracket at the depth limit: the captured value is skipped. */
static int js_too_deep(struct jstream *s, struct ss_err *err)
{
    if (s->cap == CAP_MEMBER) {
        s->cap_bad = 1;
        s->buf_len = 0;
        return 0;
    }
    if (s->cap_bad)
        return 0;
    return js_mark_bad(s, err, "nested deeper than %d levels", s->max_depth);
}

/* ---- the state machine ---- */

#define JS_WS(c) ((c) == ' ' || (c) == '\n' || (c) == '\r' || (c) == '\t')

/* A value ended just before q. */
#define JS_VALUE_DONE(q)                                                                           \
    do {                                                                                           \
        if (s->cap && s->depth == s->cap_depth) {                                                  \
            if (js_cap_end(s, data, (q), err))                                                     \
                return -1;                                                                         \
            stop = end;                                                                            \
        }                                                                                          \
    } while (0)

/* Where in [data, end) the value being captured passes its cap: the scan
 * pauses there, so "too big" happens at the same byte however the body is
 * cut into chunks (and so does the error when there is no on_bad). */
static const char *js_stop(const struct jstream *s, const char *data, const char *end)
{
    if (!s->cap || s->cap_bad)
        return end;
    const char *from = s->cap_from ? s->cap_from : data;
    size_t room = s->cap_max - s->buf_len; /* bytes it may still have */
    if ((size_t)(end - from) <= room)
        return end;
    return from + room + 1;
}

static int js_run(struct jstream *s, const char *data, const char *end, struct ss_err *err)
{
    const char *p = data;
    const char *stop = js_stop(s, data, end); /* scan up to here, then look at the cap */
    const char *nq = NULL, *nb = NULL;        /* next '"' and '\\' at or after p (end: none) */
    int c;

    while (p < end) {
        if (p == stop) {
            /* Still open after cap_max + 1 bytes: too big (js_cap_put decides). */
            if (s->cap && !s->cap_bad) {
                const char *from = s->cap_from ? s->cap_from : data;
                if (js_cap_put(s, from, (size_t)(p - from), err))
                    return -1;
                s->cap_from = p;
            }
            stop = end;
        }
        switch (s->state) {
        case S_STR:
            if (!nq || nq < p) {
                nq = memchr(p, '"', (size_t)(end - p));
                if (!nq)
                    nq = end;
            }
            if (!nb || nb < p) {
                nb = memchr(p, '\\', (size_t)(end - p));
                if (!nb)
                    nb = end;
            }
            if (nb < nq && nb < stop) {
                p = nb + 1;
                s->state = S_ESC;
                continue;
            }
            if (nq >= stop) {
                p = stop;
                continue;
            }
            p = nq + 1;
            if (s->str_kind == STR_VALUE) {
                s->state = S_AFTER;
                JS_VALUE_DONE(p);
            } else if (s->str_kind == STR_KEY) {
                s->state = S_COLON;
                if (s->key_cap) {
                    const char *from = s->key_from ? s->key_from : data;
                    js_key_put(s, from, (size_t)(nq - from));
                    s->key_len = js_unescape(s->key, s->key_len);
                    s->key_cap = 0;
                }
            } else {
                s->state = S_DEEP;
            }
            continue;

        case S_ESC:
            c = (unsigned char)*p;
            switch (c) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                s->state = S_STR;
                break;
            case 'u':
                s->hexleft = 4;
                s->state = S_UHEX;
                break;
            default:
                return js_fail(s, data, p, err, "invalid escape in a string");
            }
            p++;
            continue;

        case S_UHEX:
            while (p < stop && s->hexleft > 0) {
                if (js_hex((unsigned char)*p) < 0)
                    return js_fail(s, data, p, err, "expected a hex digit in \\u escape");
                p++;
                s->hexleft--;
            }
            if (s->hexleft == 0)
                s->state = S_STR;
            continue;

        case S_NUM:
            while (p < stop && js_num[(unsigned char)*p])
                p++;
            if (p == stop)
                continue;
            s->state = S_AFTER;
            JS_VALUE_DONE(p);
            continue;

        case S_LIT:
            while (p < stop && s->lit[s->litpos]) {
                if (*p != s->lit[s->litpos])
                    return js_fail(s, data, p, err, "invalid literal");
                p++;
                s->litpos++;
            }
            if (!s->lit[s->litpos]) {
                s->state = S_AFTER;
                JS_VALUE_DONE(p);
            }
            continue;

        case S_DEEP:
            while (p < stop) {
                c = (unsigned char)*p++;
                if (c == '"') {
                    s->str_kind = STR_DEEP;
                    s->state = S_STR;
                    break;
                }
                if (c == '[' || c == '{') {
                    s->deep++;
                } else if ((c == ']' || c == '}') && --s->deep == 0) {
                    s->state = S_AFTER;
                    JS_VALUE_DONE(p);
                    break;
                }
            }
            continue;

        default:
            break;
        }

        /* Structural states: skip whitespace, then one token. */
        c = (unsigned char)*p;
        if (JS_WS(c)) {
            do
                p++;
            while (p < stop && JS_WS(*p));
            continue;
        }
        switch (s->state) {
        case S_AFTER:
            if (c == ',') {
                s->state = s->stack[s->depth - 1] == '{' ? S_KEY : S_VALUE;
                p++;
                continue;
            }
            if (c == (s->stack[s->depth - 1] == '{' ? '}' : ']'))
                goto close;
            return js_fail(s, data, p, err,
                           s->stack[s->depth - 1] == '{' ? "expected ',' or '}'"
                                                         : "expected ',' or ']'");
        case S_COLON:
            if (c != ':')
                return js_fail(s, data, p, err, "expected ':'");
            s->state = S_VALUE;
            p++;
            continue;
        case S_OBJ_FIRST:
            if (c == '}')
                goto close;
            /* fall through */
        case S_KEY:
            if (c != '"')
                return js_fail(s, data, p, err,
                               s->state == S_KEY ? "expected a member name"
                                                 : "expected a member name or '}'");
            p++;
            if (s->depth <= s->elem_depth && js_key_wanted(s)) {
                s->key_cap = 1;
                s->key_from = p;
                s->key_len = 0;
                s->key_over = 0;
            }
            s->str_kind = STR_KEY;
            s->state = S_STR;
            continue;
        case S_ARR_FIRST:
            if (c == ']')
                goto close;
            break;
        case S_END:
            return js_fail(s, data, p, err, "trailing data after the root value");
        default: /* S_ROOT, S_VALUE */
            break;
        }

        /* A value starts. */
        if (s->depth <= s->elem_depth) {
            if (js_value_start(s, data, p, c, err))
                return -1;
            stop = js_stop(s, data, end); /* an element or member may start here */
        }
        switch (c) {
        case '"':
            s->str_kind = STR_VALUE;
            s->state = S_STR;
            p++;
            continue;
        case '{':
        case '[':
            if (s->depth >= s->limit) {
                if (js_too_deep(s, err))
                    return -1;
                s->deep = 1;
                s->state = S_DEEP;
            } else {
                s->stack[s->depth++] = (unsigned char)c;
                s->state = c == '{' ? S_OBJ_FIRST : S_ARR_FIRST;
            }
            p++;
            continue;
        case 't':
            s->lit = "true";
            break;
        case 'f':
            s->lit = "false";
            break;
        case 'n':
            s->lit = "null";
            break;
        default:
            if (c == '-' || (c >= '0' && c <= '9')) {
                s->state = S_NUM;
                p++;
                continue;
            }
            return js_fail(s, data, p, err, "expected a value");
        }
        s->litpos = 1;
        s->state = S_LIT;
        p++;
        continue;

    close: /* c closes the innermost container */
        s->depth--;
        p++;
        if (s->cont_state == CONT_OPEN && s->depth == s->cont_depth - 1)
            s->cont_state = CONT_DONE;
        if (s->depth == 0) {
            s->state = S_END;
            continue;
        }
        s->state = S_AFTER;
        JS_VALUE_DONE(p);
    }

    /* The chunk ends: keep what the open element or member name has so far. */
    if (s->cap) {
        const char *from = s->cap_from ? s->cap_from : data;
        if (js_cap_put(s, from, (size_t)(end - from), err))
            return -1;
        s->cap_from = NULL;
    }
    if (s->key_cap) {
        const char *from = s->key_from ? s->key_from : data;
        js_key_put(s, from, (size_t)(end - from));
        s->key_from = NULL;
    }
    return 0;
}

/* ---- the interface ---- */

struct jstream *jstream_new(const struct jstream_opts *opts)
{
    struct jstream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->max_element = opts->max_element ? opts->max_element : (size_t)16 << 20;
    s->max_member = opts->max_member ? opts->max_member : (size_t)64 << 10;
    s->max_depth = opts->max_depth > 0 ? opts->max_depth : 64;
    s->buf_max = s->max_element > s->max_member ? s->max_element : s->max_member;
    if (s->buf_max < JS_PREFIX)
        s->buf_max = JS_PREFIX;
    s->kind = opts->kind;
    s->on_element = opts->on_element;
    s->on_member = opts->on_member;
    s->on_bad = opts->on_bad;
    s->arg = opts->arg;
    s->elem_depth = opts->container ? 2 : 1;
    s->stack = malloc((size_t)JS_BASE + (size_t)s->max_depth);
    if (opts->container) {
        s->container_len = strlen(opts->container);
        s->container = malloc(s->container_len + 1);
        if (s->container)
            memcpy(s->container, opts->container, s->container_len + 1);
    }
    if (!s->stack || (opts->container && !s->container)) {
        jstream_free(s);
        return NULL;
    }
    jstream_reset(s);
    return s;
}

void jstream_free(struct jstream *s)
{
    if (!s)
        return;
    free(s->stack);
    free(s->container);
    free(s->buf);
    free(s);
}

void jstream_reset(struct jstream *s)
{
    s->state = S_ROOT;
    s->depth = 0;
    s->limit = JS_BASE;
    s->deep = 0;
    s->cont_state = CONT_NONE;
    s->cont_depth = 0;
    s->cont_obj = 0;
    s->index = 0;
    s->count = 0;
    s->off = 0;
    s->failed = 0;
    err_clear(&s->fail);
    s->cap = CAP_NONE;
    s->cap_from = NULL;
    s->buf_len = 0;
    s->key_cap = 0;
    s->key_from = NULL;
    s->key_len = 0;
    s->key_over = 0;
    s->key[0] = '\0';
    if (s->buf_cap > ((size_t)1 << 20)) { /* one huge element need not stay resident */
        free(s->buf);
        s->buf = NULL;
        s->buf_cap = 0;
    }
}

int jstream_feed(struct jstream *s, const char *data, size_t len, struct ss_err *err)
{
    struct ss_err local;
    if (!err)
        err = &local;
    if (s->failed) {
        *err = s->fail;
        return -1;
    }
    if (len == 0)
        return 0;
    int rc = js_run(s, data, data + len, err);
    s->off += len;
    if (rc) {
        s->failed = 1;
        s->fail = *err;
    }
    return rc;
}

int jstream_finish(struct jstream *s, int missing_ok, struct ss_err *err)
{
    if (s->failed) {
        if (err)
            *err = s->fail;
        return -1;
    }
    if (s->state == S_ROOT)
        return err_set(err, SS_EINVAL, "invalid JSON at byte %zu: %s", s->off,
                       s->off ? "no value, only whitespace" : "empty body");
    if (s->state != S_END) {
        const char *where = s->state == S_STR || s->state == S_ESC || s->state == S_UHEX
                                ? "inside a string"
                            : s->cap == CAP_ELEM ? "inside an element"
                                                 : "before the root value is closed";
        return err_set(err, SS_EINVAL, "invalid JSON at byte %zu: truncated %s (depth %zu)", s->off,
                       where, (size_t)s->depth + s->deep);
    }
    if (s->container && s->cont_state != CONT_DONE && !missing_ok)
        return err_set(err, SS_EINVAL, "invalid JSON: %s \"%s\" in the root object",
                       s->cont_state == CONT_NULL ? "null member" : "no member", s->container);
    return 0;
}

size_t jstream_count(const struct jstream *s)
{
    return s->count;
}

size_t jstream_bytes(const struct jstream *s)
{
    return s->off;
}
