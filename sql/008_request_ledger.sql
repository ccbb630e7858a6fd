-- 008_request_ledger: an account's request budget, shared by every process that
-- sends for it (issue 14: a backfill and the nightly sync of one account side by
-- side). The vendor counts requests per account, whoever sends them, in strict
-- sliding windows ("never more than L requests in ANY span of P"), so the budget
-- lives here rather than in each process's own limiter.
--
-- One row per request granted, stamped with the SERVER's clock at the moment of
-- the grant, which is the moment the request is sent (the client sends right
-- after the grant's round trip). Stamping a block of future requests now and
-- sending them later would be unsafe: another process could then fit requests
-- into a span the ledger believes empty. Server time only, so processes on hosts
-- whose clocks disagree still agree on the order and spacing of grants.
--
-- Any process, tool or host takes part by calling scoresync_request_grant() (the
-- scoresync client: src/load/ledger.c). Rows are history, never reservations of
-- the future: a process that dies leaves only requests it really (may have) sent,
-- which count until they leave the longest window, then are pruned.

CREATE TABLE request_ledger (
    account_id bigint      NOT NULL,  -- vendor_accounts.id (no foreign key: rows live minutes,
                                      -- and the grant path stays one index insert)
    at         timestamptz NOT NULL,  -- server clock (clock_timestamp()) at the grant
    holder     int         NOT NULL   -- pg_backend_pid() of the granting connection
);
CREATE INDEX request_ledger_account_at_idx ON request_ledger (account_id, at);

COMMENT ON TABLE request_ledger IS
    'One row per vendor request granted to any process of an account, stamped with the database server''s clock when sent (scoresync_request_grant). Pruned once older than the longest window any caller declared (request_ledger_accounts.keep_ms).';

CREATE TABLE request_ledger_accounts (
    account_id    bigint PRIMARY KEY,
    -- The longest window plus margin any caller has declared for the account, in ms:
    -- rows are kept that long. It only grows, so a caller with a short window never
    -- prunes rows that a caller with a longer one still counts.
    keep_ms       bigint NOT NULL,
    -- A vendor's 429 with Retry-After: no grant before this time (server clock).
    blocked_until timestamptz
);

-- Who is waiting for the budget, so a slot that opens goes to the holder that has
-- waited longest (first come, first served), not to whichever asks fastest once it
-- opens: a process on a farther host, or one whose sleep is coarser, would
-- otherwise lose every race to two local processes.
CREATE TABLE request_ledger_waiters (
    account_id bigint      NOT NULL,
    holder     int         NOT NULL,  -- pg_backend_pid() of the waiting connection
    since      timestamptz NOT NULL,  -- when it was first told to wait for its request
    next_ask   timestamptz NOT NULL,  -- when it said it would ask again (now + the wait)
    PRIMARY KEY (account_id, holder)
);

COMMENT ON TABLE request_ledger_waiters IS
    'Holders told to wait by scoresync_request_grant, oldest first served. A waiter not back within 50 ms of its next_ask is passed over (it stopped asking or died).';

COMMENT ON TABLE request_ledger_accounts IS
    'Per account: how long request_ledger rows are kept (the longest declared window + margin) and a block a vendor''s 429 asked for (scoresync_request_block).';

-- Grants p_n requests to the calling connection if every window allows them now
-- and no holder that has waited longer is due back, or returns how long to wait. p_limits[i] requests per p_periods_ms[i] ms, all at
-- once; p_margin_ms is added to every period (jitter between the grant and the
-- vendor's receipt). Returns 0 when granted (p_n rows inserted at the server's
-- clock_timestamp(): send them now, within p_margin_ms), else the microseconds
-- until the grant would be possible (> 0), nothing recorded.
--
-- Serialised per account by a transaction-level advisory lock, so the check and
-- the insert are atomic across callers; the lock is released when the calling
-- transaction ends, so call it in its own transaction (autocommit), or commit
-- right after. clock_timestamp() is read after the lock is held: every grant
-- committed before is older, and no later grant can be stamped before it.
CREATE FUNCTION scoresync_request_grant(p_account bigint, p_limits int[], p_periods_ms int[],
                                        p_margin_ms int, p_n int DEFAULT 1)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    -- How late a waiter may come back and still keep its turn (its sleep and
    -- round trip); a departed waiter delays a free slot at most this long, once.
    grace   constant interval := interval '50 ms';
    me      constant int := pg_backend_pid();
    k       int := coalesce(cardinality(p_limits), 0);
    t_now   timestamptz;
    v_since timestamptz;
    v_next  timestamptz;
    mine_ms bigint := 0;
    v_keep  bigint;
    v_block timestamptz;
    v_nth   timestamptz;
    span    interval;
    wait_us bigint := 0;
BEGIN
    IF p_account IS NULL OR p_n IS NULL OR p_n < 1 OR p_margin_ms IS NULL OR p_margin_ms < 0
       OR k <> coalesce(cardinality(p_periods_ms), 0) THEN
        RAISE EXCEPTION 'scoresync_request_grant: bad arguments (account %, % limits, % periods, margin %, n %)',
            p_account, k, cardinality(p_periods_ms), p_margin_ms, p_n;
    END IF;
    FOR i IN 1 .. k LOOP
        IF p_limits[i] IS NULL OR p_periods_ms[i] IS NULL OR p_limits[i] < 1 OR p_periods_ms[i] < 1 THEN
            RAISE EXCEPTION 'scoresync_request_grant: window % (% per % ms) is not positive',
                i, p_limits[i], p_periods_ms[i];
        END IF;
        IF p_n > p_limits[i] THEN
            RAISE EXCEPTION 'scoresync_request_grant: a block of % exceeds the window of % per % ms',
                p_n, p_limits[i], p_periods_ms[i];
        END IF;
        mine_ms := greatest(mine_ms, p_periods_ms[i]::bigint + p_margin_ms);
    END LOOP;

    PERFORM pg_advisory_xact_lock(1397967943, p_account::int);  -- "SSLG", the account
    t_now := clock_timestamp();

    SELECT a.keep_ms, a.blocked_until INTO v_keep, v_block
      FROM request_ledger_accounts a WHERE a.account_id = p_account;
    IF NOT FOUND THEN
        INSERT INTO request_ledger_accounts (account_id, keep_ms) VALUES (p_account, mine_ms);
        v_keep := mine_ms;
    ELSIF v_keep < mine_ms THEN
        UPDATE request_ledger_accounts SET keep_ms = mine_ms WHERE account_id = p_account;
        v_keep := mine_ms;
    END IF;

    -- Rows past every window anyone declared count for nobody.
    DELETE FROM request_ledger
     WHERE account_id = p_account AND at < t_now - v_keep * interval '1 millisecond';

    IF v_block > t_now THEN
        wait_us := ceil(extract(epoch FROM v_block - t_now) * 1000000)::bigint;
    END IF;
    FOR i IN 1 .. k LOOP
        -- The (L - n + 1)-th most recent grant: if it is inside the span, n more
        -- would make L + 1 in a span of P + margin.
        span := (p_periods_ms[i]::bigint + p_margin_ms) * interval '1 millisecond';
        SELECT l.at INTO v_nth FROM request_ledger l
         WHERE l.account_id = p_account AND l.at > t_now - span
         ORDER BY l.at DESC OFFSET p_limits[i] - p_n LIMIT 1;
        IF FOUND THEN
            wait_us := greatest(wait_us, ceil(extract(epoch FROM v_nth + span - t_now) * 1000000)::bigint);
        END IF;
    END LOOP;

    -- First come, first served: the budget allows it, but a holder that has
    -- waited longer and is due back (or only just late) goes first; ask again
    -- just after it should have.
    DELETE FROM request_ledger_waiters
     WHERE account_id = p_account AND next_ask < t_now - interval '1 minute';
    SELECT w.since INTO v_since FROM request_ledger_waiters w
     WHERE w.account_id = p_account AND w.holder = me;
    IF wait_us = 0 THEN
        SELECT w.next_ask INTO v_next FROM request_ledger_waiters w
         WHERE w.account_id = p_account AND w.holder <> me
           AND w.since < coalesce(v_since, t_now) AND w.next_ask > t_now - grace
         ORDER BY w.since LIMIT 1;
        IF FOUND THEN
            wait_us := greatest(ceil(extract(epoch FROM v_next - t_now) * 1000000)::bigint, 0) + 1000;
        END IF;
    END IF;

    IF wait_us > 0 THEN
        INSERT INTO request_ledger_waiters AS w (account_id, holder, since, next_ask)
        VALUES (p_account, me, t_now, t_now + wait_us * interval '1 microsecond')
        ON CONFLICT (account_id, holder) DO UPDATE SET next_ask = EXCLUDED.next_ask;
        RETURN wait_us;
    END IF;

    IF v_since IS NOT NULL THEN
        DELETE FROM request_ledger_waiters WHERE account_id = p_account AND holder = me;
    END IF;
    INSERT INTO request_ledger (account_id, at, holder)
    SELECT p_account, t_now, me FROM generate_series(1, p_n);
    RETURN 0;
END;
$$;

COMMENT ON FUNCTION scoresync_request_grant(bigint, int[], int[], int, int) IS
    'Grants p_n vendor requests of an account (0: send now) or returns the microseconds to wait. Windows p_limits[i] per p_periods_ms[i] ms plus p_margin_ms, across every caller.';

-- Gives back up to p_n of this connection's most recent grants of the account that
-- were not sent (a block taken with p_n > 1 and not used within the margin).
-- Deleting a grant that was never sent is always safe: the vendor never saw it.
CREATE FUNCTION scoresync_request_release(p_account bigint, p_n int)
RETURNS int
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    gone int;
BEGIN
    PERFORM pg_advisory_xact_lock(1397967943, p_account::int);
    DELETE FROM request_ledger
     WHERE ctid IN (SELECT l.ctid FROM request_ledger l
                     WHERE l.account_id = p_account AND l.holder = pg_backend_pid()
                     ORDER BY l.at DESC LIMIT greatest(p_n, 0));
    GET DIAGNOSTICS gone = ROW_COUNT;
    RETURN gone;
END;
$$;

-- A vendor answered 429 with Retry-After: no process gets a grant for the account
-- for p_wait_ms from now (an earlier, longer block stays).
CREATE FUNCTION scoresync_request_block(p_account bigint, p_wait_ms bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1397967943, p_account::int);
    INSERT INTO request_ledger_accounts AS a (account_id, keep_ms, blocked_until)
    VALUES (p_account, 0, clock_timestamp() + greatest(p_wait_ms, 0) * interval '1 millisecond')
    ON CONFLICT (account_id) DO UPDATE
       SET blocked_until = greatest(a.blocked_until, EXCLUDED.blocked_until);
END;
$$;
