"""The parser's version, apart from the parser: a cold `newsbot ingest` compares it with the
stored files' without importing the parser or YAML."""

# Stored with each file the store reads: a file read by an older version is parsed again. Raise
# it whenever a rule of this package changes what a file becomes (2: `removed`, issue 11).
PARSER_VERSION = 2
