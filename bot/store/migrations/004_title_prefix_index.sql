-- Only title autocomplete matches prefixes, so the prefix indexes move from the whole-text index
-- (where they tripled the index work of every excerpt word) to a title-only index, which has
-- every prefix length up to 6: an autocomplete prefix is one doclist read newest first.
DROP TABLE articles_fts;
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, provider,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO articles_fts (rowid, title, excerpt, provider)
    SELECT id, title, excerpt, provider_name FROM articles ORDER BY id;
CREATE VIRTUAL TABLE titles_fts USING fts5 (
    title,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6'
);
INSERT INTO titles_fts (rowid, title) SELECT id, title FROM articles ORDER BY id;
