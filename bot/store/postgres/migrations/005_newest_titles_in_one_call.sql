-- Title autocomplete in one call (bot.store.postgres.titles): the newest matches of a title
-- lookup found by a server-side loop over windows of id buckets (migration 003's title keys),
-- so an autocomplete is one round trip, not a transaction, a max(id) and a query per window.
-- Only functions: no table or index changes, nothing for a write to do. It uses only objects
-- of migrations 001-003.

-- The '#L:B' keys (003: buckets of 512 ids, each level 8 times wider, 7 levels) that cover
-- exactly the ids lo <= id < hi (both multiples of 512), as a tsquery OR: from hi down, the
-- widest bucket that ends there and stays above lo. Exact, so no window reads a row of another.
CREATE FUNCTION newsbot_id_buckets(lo BIGINT, hi BIGINT) RETURNS TSQUERY
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    below BIGINT := hi;
    level INTEGER;
    width BIGINT;
    keys TEXT[] := '{}';
BEGIN
    IF lo % 512 <> 0 OR hi % 512 <> 0 OR lo >= hi THEN
        RAISE EXCEPTION 'newsbot_id_buckets(%, %): bounds must be multiples of 512, lo < hi', lo, hi;
    END IF;
    WHILE below > lo LOOP
        level := 6;
        LOOP
            width := 1::BIGINT << (9 + 3 * level);
            EXIT WHEN level = 0 OR (below % width = 0 AND below - width >= lo);
            level := level - 1;
        END LOOP;
        below := below - width;
        keys := keys || format('''#%s:%s''', level, below / width);
    END LOOP;
    RETURN array_to_string(keys, ' | ')::TSQUERY;
END
$$;

-- The newest `wanted` articles whose title keys match every one of `terms` (and whose own title
-- words match `recheck`, unless it is NULL), newest first, as SQLite's ORDER BY rowid DESC LIMIT.
-- Each round asks GIN for a window of id buckets and the terms as separate scan keys, which GIN
-- advances in lock-step, each skipping to where another is: a word is walked only inside the
-- window, and the scan ends at its top (as one key, GIN walked the rarest word's whole list every
-- round). A small window's buckets go first (the word's walk starts at the window's bottom); a
-- big window's go last (its bucket list holds every id: stepping through it beside each word item
-- cost 2-4x more than skipping to each match); the last look, at every older id, asks for the
-- terms alone. The first window is the newest `wanted` ids; the next, just older, is sized from
-- the matches per id seen so far (x1.25; at most 8 times the ids seen while fewer than 8 matches
-- were found, 64 times after). STABLE: every round sees the caller's snapshot.
CREATE FUNCTION newsbot_newest_titles(terms TSQUERY[], recheck TSQUERY, wanted INTEGER)
RETURNS TABLE (id BIGINT, title TEXT, from_file INTEGER, published_at BIGINT)
LANGUAGE plpgsql STABLE
-- a parallel plan's workers take longer to start than these queries take
SET max_parallel_workers_per_gather = 0
-- the small windows' query has one plan for every round and call (planning with the values cost
-- more than most of them); it can only be the GIN scan: no condition on id that another index
-- could take, and no table scan
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off AS $$
DECLARE
    lookup TSQUERY;  -- every term in one query
    each_term TEXT;  -- every term as a scan key of its own
    term TSQUERY;
    newest BIGINT;  -- the ids seen so far are those from a window's bottom up to this
    hi BIGINT;
    lo BIGINT;
    size DOUBLE PRECISION := wanted;
    found INTEGER := 0;
    got INTEGER;
    growth DOUBLE PRECISION;
BEGIN
    SELECT max(a.id) + 1 INTO newest FROM articles a;
    IF newest IS NULL OR wanted <= 0 OR cardinality(terms) IS NULL THEN
        RETURN;
    END IF;
    FOREACH term IN ARRAY terms LOOP
        lookup := CASE WHEN lookup IS NULL THEN term ELSE lookup && term END;
    END LOOP;
    SELECT string_agg(format('newsbot_title_keys(a.title_search, a.id) @@ $1[%s]', i), ' AND ')
    INTO each_term FROM generate_subscripts(terms, 1) i;
    hi := ((newest + 511) >> 9) << 9;
    LOOP
        lo := (greatest(0, least(hi, newest) - ceil(size)::BIGINT) >> 9) << 9;
        IF hi - lo <= 65536 AND lo > 0 THEN
            RETURN QUERY
                SELECT a.id, a.title, a.from_file, a.published_at FROM articles a
                WHERE newsbot_title_keys(a.title_search, a.id) @@ newsbot_id_buckets(lo, hi)
                AND newsbot_title_keys(a.title_search, a.id) @@ lookup
                AND (recheck IS NULL OR a.title_search @@ recheck)
                ORDER BY -a.id LIMIT wanted - found;
        ELSE
            -- planned with its values (a big round costs far more than its planning); no index
            -- takes id + 0: a bitmap of every id below hi would cost more than the matches
            RETURN QUERY EXECUTE format(
                'SELECT a.id, a.title, a.from_file, a.published_at FROM articles a WHERE %s AND %s'
                ' AND ($4::TSQUERY IS NULL OR a.title_search @@ $4) ORDER BY -a.id LIMIT $5',
                each_term,
                CASE WHEN lo = 0 THEN 'a.id + 0 < $3'
                    ELSE 'newsbot_title_keys(a.title_search, a.id) @@ newsbot_id_buckets($2, $3)'
                END
            ) USING terms, lo, hi, recheck, wanted - found;
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
        -- at most twice the matches still wanted left, even at a rate 3 matches above the one
        -- seen (a rare combination of common words): one look at every older id, not several
        IF (found + 3) * lo::DOUBLE PRECISION / (newest - lo) <= 2 * (wanted - found) THEN
            size := lo;
        END IF;
    END LOOP;
END
$$;
