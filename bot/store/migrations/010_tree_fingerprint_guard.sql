-- Issue 12: a cold `newsbot ingest` trusts the tree fingerprint in meta (bot.ingest.fingerprint)
-- only at the files generation it names, which every writer of the files table bumps. These
-- triggers make SQLite itself drop the fingerprint on any change to the files table, so a writer
-- that does not bump the generation (a hand edit, a copy, a future migration) cannot leave a
-- fingerprint that says "unchanged" about rows it no longer describes.
CREATE TRIGGER IF NOT EXISTS files_insert_drops_fingerprint AFTER INSERT ON files
BEGIN
    DELETE FROM meta WHERE key = 'tree_fingerprint';
END;
CREATE TRIGGER IF NOT EXISTS files_update_drops_fingerprint AFTER UPDATE ON files
BEGIN
    DELETE FROM meta WHERE key = 'tree_fingerprint';
END;
CREATE TRIGGER IF NOT EXISTS files_delete_drops_fingerprint AFTER DELETE ON files
BEGIN
    DELETE FROM meta WHERE key = 'tree_fingerprint';
END;
