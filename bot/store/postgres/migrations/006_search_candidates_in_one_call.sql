-- Search's candidates in one call (bot.store.postgres.search): the newest matches of a search
-- lookup found by a server-side loop over windows of id buckets, as migration 005 does for titles,
-- so a search asks one statement for its candidates, not a max(id) and a query per window. Only a
-- function: no table or index changes, nothing for a write to do. It uses only objects of
-- migrations 003-005 (search_texts, its keys' index, newsbot_id_buckets).

-- The newest `wanted` rows of search_texts whose keys match `lookup` (and whose own words match
-- `recheck`, unless it is NULL: a phrase of 3 words or more), newest first, as SQLite's ORDER BY
-- rowid DESC LIMIT.
-- Each round asks GIN for the lookup AND a window of id buckets as two scan keys, which GIN
-- advances in lock-step: the words are walked only inside the window, and the scan ends at its top
-- (as one key with the words, GIN walked the rarest word's whole list every round, 5-10 ms at
-- 1.4M articles). The words stay one key: GIN walks their rarest list and looks the others up at
-- each of its items, cheaper than stepping every word as a key of its own in a poor order. A
-- window's bucket list holds every id in it (~3 ns an id to step), so the last look, at every older
-- id, asks for the lookup alone (`id + 0`: no index takes it, so no plan builds a bitmap of every
-- id). The first window is the newest `wanted` ids; the next, just older, is sized from the
-- matches per id seen so far (x1.25; at most 8 times the ids seen while fewer than 8 matches were
-- found, 64 times after). STABLE: every round sees the caller's snapshot.
CREATE FUNCTION newsbot_search_candidates(lookup TSQUERY, recheck TSQUERY, wanted INTEGER)
RETURNS TABLE (id BIGINT, story_id BIGINT, title TEXT, excerpt TEXT, provider_name TEXT)
LANGUAGE plpgsql STABLE
-- a parallel plan's workers take longer to start than these queries take
SET max_parallel_workers_per_gather = 0
-- one plan for every round and call (planning with the values cost 0.1-0.3 ms a round); it can
-- only be the GIN scan: no condition on id that another index could take, and no table scan
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off AS $$
DECLARE
    newest BIGINT;  -- the ids seen so far are those from a window's bottom up to this
    hi BIGINT;
    lo BIGINT;
    size DOUBLE PRECISION := wanted;
    found INTEGER := 0;
    got INTEGER;
    growth DOUBLE PRECISION;
BEGIN
    SELECT max(s.id) + 1 INTO newest FROM search_texts s;
    IF newest IS NULL OR wanted <= 0 OR lookup IS NULL THEN
        RETURN;
    END IF;
    hi := ((newest + 511) >> 9) << 9;
    LOOP
        lo := (greatest(0, least(hi, newest) - ceil(size)::BIGINT) >> 9) << 9;
        IF lo > 0 THEN
            RETURN QUERY
                SELECT s.id, s.story_id, s.title, s.excerpt, s.provider_name FROM search_texts s
                WHERE newsbot_search_keys(s.search, s.id) @@ lookup
                AND newsbot_search_keys(s.search, s.id) @@ newsbot_id_buckets(lo, hi)
                AND (recheck IS NULL OR s.search @@ recheck)
                ORDER BY -s.id LIMIT wanted - found;
        ELSE
            RETURN QUERY
                SELECT s.id, s.story_id, s.title, s.excerpt, s.provider_name FROM search_texts s
                WHERE newsbot_search_keys(s.search, s.id) @@ lookup AND s.id + 0 < hi
                AND (recheck IS NULL OR s.search @@ recheck)
                ORDER BY -s.id LIMIT wanted - found;
        END IF;
        GET DIAGNOSTICS got = ROW_COUNT;
        found := found + got;
        IF found >= wanted OR lo = 0 THEN
            RETURN;
        END IF;
        hi := lo;
        growth := CASE WHEN found >= 8 THEN 64 ELSE 8 END;
        size := CASE
            WHEN found > 0 THEN (wanted - found) * (newest - lo)::DOUBLE PRECISION / found * 1.25
            ELSE (newest - lo) * growth
        END;
        size := least(size, (newest - lo) * growth);
        -- at most 4 times the matches still wanted left, even at a rate 3 matches above the one
        -- seen (a rare combination of common words): one look at every older id, with no bucket
        -- list to step, costs less than two wide windows
        IF (found + 3) * lo::DOUBLE PRECISION / (newest - lo) <= 4 * (wanted - found) THEN
            size := lo;
        END IF;
    END LOOP;
END
$$;
