-- 3: submissions stored in batches (group commit, store/group_commit.rs): the submissions
-- that arrive together take one round trip, one statement and one commit, where each took
-- its own. Each item is decided as `submit_application` (migration 1) decides one, in the
-- order given; each answer names the position (from 1) of the item it answers, so that no
-- caller relies on the order rows come back in. `submit_application` stays for instances
-- of the previous version during a rolling upgrade.
CREATE FUNCTION submit_applications(
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
