-- 4: `submit_applications` (migration 3) decides a batch whose submissions are of different
-- accounts, the usual case, in three statements for the whole batch instead of four for
-- each submission: each statement's start and end cost PostgreSQL more than the row it
-- writes (docs/performance.md). The answers are the same as one at a time: with one
-- submission per account, and every account locked first, no submission of the batch can
-- change what another finds. A batch in which an account comes twice (a retry sent while
-- the first was in flight) is still decided one submission at a time, in order.
CREATE OR REPLACE FUNCTION submit_applications(
    p_accounts BIGINT[], p_keys TEXT[], p_sources TEXT[], p_photos BYTEA[], p_states TEXT[],
    p_statuses TEXT[], p_submitted_at BIGINT[], p_due_at BIGINT[]
) RETURNS TABLE (o_n BIGINT, o_outcome TEXT, o_id BIGINT) LANGUAGE plpgsql AS $$
DECLARE
    item RECORD;
    found_id BIGINT;
BEGIN
    -- Every account of the batch locked first, in the order of their ids: two batches (of
    -- two instances, or two lanes of one) never wait for each other in a circle.
    PERFORM 1 FROM account WHERE id = ANY (p_accounts) ORDER BY id FOR NO KEY UPDATE;
    IF (SELECT count(DISTINCT a) FROM unnest(p_accounts) AS a) = cardinality(p_accounts) THEN
        RETURN QUERY
        WITH batch AS (
            SELECT * FROM unnest(p_accounts, p_keys, p_sources, p_photos, p_states,
                                 p_statuses, p_submitted_at, p_due_at) WITH ORDINALITY
                AS s(account, key, source, photo, state, status, submitted_at, due_at, n)
        ),
        -- What each finds: the application of its key (a replay), else the account's
        -- open one (at most one each: a unique key and a unique partial index).
        decided AS (
            SELECT b.n, b.account, replayed.id AS replayed_id, opened.id AS open_id
              FROM batch b
              LEFT JOIN application replayed
                ON replayed.account_id = b.account AND replayed.idempotency_key = b.key
              LEFT JOIN application opened
                ON opened.account_id = b.account
               AND opened.status IN ('submitted', 'under_review', 'approved')
        ),
        created AS (
            INSERT INTO application (account_id, idempotency_key, photo_source, photo, state,
                                     status, submitted_at, due_at, updated_at)
            SELECT b.account, b.key, b.source, b.photo, b.state, b.status, b.submitted_at,
                   b.due_at, b.submitted_at
              FROM batch b JOIN decided d USING (n)
             WHERE d.replayed_id IS NULL AND d.open_id IS NULL
             ORDER BY b.n
            RETURNING id, account_id, submitted_at, state
        ),
        history AS (
            INSERT INTO application_event (application_id, at, actor, state)
            SELECT id, submitted_at, 'applicant', state FROM created
        )
        SELECT d.n,
               CASE WHEN d.replayed_id IS NOT NULL THEN 'replayed'
                    WHEN d.open_id IS NOT NULL THEN 'open'
                    ELSE 'created' END,
               coalesce(d.replayed_id, d.open_id, c.id)
          FROM decided d LEFT JOIN created c ON c.account_id = d.account
         ORDER BY d.n;
        RETURN;
    END IF;
    FOR item IN
        SELECT * FROM unnest(p_accounts, p_keys, p_sources, p_photos, p_states, p_statuses,
                             p_submitted_at, p_due_at) WITH ORDINALITY
            AS s(account, key, source, photo, state, status, submitted_at, due_at, n)
        ORDER BY n
    LOOP
        o_n := item.n;
        SELECT id INTO found_id FROM application
         WHERE account_id = item.account AND idempotency_key = item.key;
        IF found_id IS NOT NULL THEN
            o_outcome := 'replayed';
            o_id := found_id;
            RETURN NEXT;
            CONTINUE;
        END IF;
        SELECT id INTO found_id FROM application
         WHERE account_id = item.account AND status IN ('submitted', 'under_review', 'approved');
        IF found_id IS NOT NULL THEN
            o_outcome := 'open';
            o_id := found_id;
            RETURN NEXT;
            CONTINUE;
        END IF;
        INSERT INTO application (account_id, idempotency_key, photo_source, photo, state,
                                 status, submitted_at, due_at, updated_at)
             VALUES (item.account, item.key, item.source, item.photo, item.state, item.status,
                     item.submitted_at, item.due_at, item.submitted_at)
          RETURNING id INTO found_id;
        INSERT INTO application_event (application_id, at, actor, state)
             VALUES (found_id, item.submitted_at, 'applicant', item.state);
        o_outcome := 'created';
        o_id := found_id;
        RETURN NEXT;
    END LOOP;
END
$$;
