-- Search and title autocomplete want the NEWEST matches (SQLite's ORDER BY rowid DESC LIMIT n),
-- which GIN cannot give: it returns every match in no order, ~200 ms for a common word at 1.4M
-- articles. These indexes replace the two GIN indexes of 001 with GIN indexes over the same
-- vectors plus keys that let one GIN scan look at the newest rows only (bot.store.postgres.search
-- asks for a word AND a window of id buckets, which GIN intersects by skipping), and keys that
-- make a title prefix or a phrase one exact lexeme. The keys hold characters no word has ('#',
-- '^', ' '), so no user word ever matches one. Nothing is stored in the table: only the indexes
-- hold the keys. CREATE INDEX blocks writes (not reads) while it builds.

-- The functions call only built-in ones: an index build runs them with search_path pg_catalog.
-- array_to_tsvector drops repeated keys itself (a DISTINCT before it cost ~10% of each call).
-- A row's keys: its words, '#L:B' for each id bucket it is in (512 ids, each level 8 times
-- wider, up to 2^27), and 'a b' for each two words at neighbouring positions (a phrase is
-- looked up by its word pairs; a pair longer than a lexeme may be is left out: the phrase is
-- checked on the row anyway).
CREATE FUNCTION newsbot_search_keys(search TSVECTOR, id BIGINT) RETURNS TSVECTOR
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH at AS (SELECT u.lexeme AS w, p FROM unnest(search) u, unnest(u.positions) p)
    SELECT search
        || array_to_tsvector(ARRAY[
            '#0:' || (id >> 9)::text, '#1:' || (id >> 12)::text, '#2:' || (id >> 15)::text,
            '#3:' || (id >> 18)::text, '#4:' || (id >> 21)::text, '#5:' || (id >> 24)::text,
            '#6:' || (id >> 27)::text])
        || array_to_tsvector(COALESCE(
            (SELECT array_agg(a.w || ' ' || b.w) FROM at a JOIN at b ON b.p = a.p + 1
             WHERE octet_length(a.w) + octet_length(b.w) < 2046), '{}'))
$$;

-- A title's keys: its words, its id buckets, and '^p' for each prefix p of 1 to 6 characters
-- of each word (as SQLite's prefix index).
CREATE FUNCTION newsbot_title_keys(title_search TSVECTOR, id BIGINT) RETURNS TSVECTOR
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT title_search
        || array_to_tsvector(ARRAY[
            '#0:' || (id >> 9)::text, '#1:' || (id >> 12)::text, '#2:' || (id >> 15)::text,
            '#3:' || (id >> 18)::text, '#4:' || (id >> 21)::text, '#5:' || (id >> 24)::text,
            '#6:' || (id >> 27)::text])
        || array_to_tsvector(COALESCE(
            (SELECT array_agg('^' || left(w, n))
             FROM unnest(tsvector_to_array(title_search)) w,
                  generate_series(1, least(length(w), 6)) n), '{}'))
$$;

-- A new row is written with story_id = its own id (what most rows keep), so a story is
-- UPDATEd into a row only when it joins another: an UPDATE of an indexed column redoes every
-- index key of the row. A new row not yet reached in id order still counts as storyless (as its
-- NULL did): the same stories as 001's function.
DROP FUNCTION newsbot_assign_stories(BIGINT[], BIGINT);
CREATE FUNCTION newsbot_assign_stories(ids BIGINT[], window_s BIGINT, fresh BIGINT[])
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    found BIGINT;
BEGIN
    FOR r IN
        SELECT a.id, a.story_key, a.published_at, a.story_id FROM articles a
        WHERE a.id = ANY (ids) ORDER BY a.id
    LOOP
        found := NULL;
        IF r.published_at IS NOT NULL AND r.story_key <> '' THEN
            SELECT min(o.story_id) INTO found FROM articles o
            WHERE o.story_key = r.story_key AND o.id <> r.id
              AND o.published_at BETWEEN r.published_at - window_s AND r.published_at + window_s
              AND o.story_id IS NOT NULL AND NOT (o.id > r.id AND o.id = ANY (fresh));
        END IF;
        found := COALESCE(found, r.id);
        IF found IS DISTINCT FROM r.story_id THEN
            UPDATE articles SET story_id = found WHERE id = r.id;
        END IF;
    END LOOP;
END
$$;

SET LOCAL maintenance_work_mem = '256MB';  -- each build sorts in fewer passes
CREATE INDEX articles_search_keys ON articles USING GIN (newsbot_search_keys(search, id));
CREATE INDEX articles_title_keys ON articles USING GIN (newsbot_title_keys(title_search, id));
DROP INDEX articles_search;
DROP INDEX articles_title_search;
