-- A search reads the text of its newest ~500 matches to rank them. In articles those rows are
-- wide (4-5 to a page), and the pages a search visits mostly missed the 128MB of shared buffers.
-- search_texts holds only what a search reads (the text it ranks, the story, the words): ~10
-- rows to a page, so the pages of the newest rows, which searches visit most, stay cached;
-- migration 003's search keys move onto it. Triggers keep it in step with articles in the same statements (inserts,
-- updates of those columns, deletes, TRUNCATE), so every writer (ingest, stories, db copy)
-- keeps it without knowing of it.
CREATE TABLE search_texts (
    id              BIGINT PRIMARY KEY,
    story_id        BIGINT,
    title           TEXT,
    excerpt         TEXT,
    provider_name   TEXT,
    search          TSVECTOR
);

INSERT INTO search_texts (id, story_id, title, excerpt, provider_name, search)
SELECT id, story_id, title, excerpt, provider_name, search FROM articles ORDER BY id;

CREATE FUNCTION newsbot_search_texts_insert() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_texts (id, story_id, title, excerpt, provider_name, search)
    VALUES (NEW.id, NEW.story_id, NEW.title, NEW.excerpt, NEW.provider_name, NEW.search);
    RETURN NULL;
END
$$;

CREATE FUNCTION newsbot_search_texts_update() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_texts SET id = NEW.id, story_id = NEW.story_id, title = NEW.title,
        excerpt = NEW.excerpt, provider_name = NEW.provider_name, search = NEW.search
    WHERE id = OLD.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION newsbot_search_texts_delete() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_texts WHERE id = OLD.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION newsbot_search_texts_truncate() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE search_texts;
    RETURN NULL;
END
$$;

CREATE TRIGGER articles_search_texts_insert AFTER INSERT ON articles
    FOR EACH ROW EXECUTE FUNCTION newsbot_search_texts_insert();
-- only when what search_texts holds changed: most updates (gone, quality, sequence) skip it
CREATE TRIGGER articles_search_texts_update AFTER UPDATE ON articles FOR EACH ROW
    WHEN ((OLD.id, OLD.story_id, OLD.title, OLD.excerpt, OLD.provider_name, OLD.search)
          IS DISTINCT FROM (NEW.id, NEW.story_id, NEW.title, NEW.excerpt, NEW.provider_name,
                            NEW.search))
    EXECUTE FUNCTION newsbot_search_texts_update();
CREATE TRIGGER articles_search_texts_delete AFTER DELETE ON articles
    FOR EACH ROW EXECUTE FUNCTION newsbot_search_texts_delete();
CREATE TRIGGER articles_search_texts_truncate AFTER TRUNCATE ON articles
    FOR EACH STATEMENT EXECUTE FUNCTION newsbot_search_texts_truncate();

SET LOCAL maintenance_work_mem = '256MB';  -- the build sorts in fewer passes
CREATE INDEX search_texts_keys ON search_texts USING GIN (newsbot_search_keys(search, id));
DROP INDEX articles_search_keys;
ANALYZE search_texts;  -- the planner's figures for the search's first queries
