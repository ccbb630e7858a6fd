/* prefetch: runs any pager with the two halves of the work on two cores. A
 * reader thread asks the pager for the next page and reads it (HTTP, JSON
 * parse) while the caller's thread loads the previous parts (normalise,
 * COPY, PostgreSQL). Parts are handed over one at a time, in order, so
 * checkpoints still advance page by page: a part that ends a page carries
 * the page's cursor, the others none. Memory: three parts at most (one
 * being filled, one waiting, one loading), whatever the response size. */
#ifndef SS_PREFETCH_H
#define SS_PREFETCH_H

#include "fetch.h"
#include "pager.h"
#include "vendor.h"

/* Reads one page: builds the vendor's request for req and calls
 * vendor_fetch(ctx, ..., out, res, err). Runs on the reader thread. */
typedef int (*page_fetch_fn)(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                             struct page_out *out, struct page_res *res, struct ss_err *err);

/* Reads every page the pager gives, emitting through ctx->emit. Returns 0
 * when the pager is done or *ctx->stop was set, -1 with err when a page
 * failed (everything before it is loaded) or emit failed. */
int prefetch_run(struct vendor_ctx *ctx, struct pager *p, page_fetch_fn fetch, void *arg,
                 struct ss_err *err) SS_MUSTCHECK;

#endif
