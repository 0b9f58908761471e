"""Feeds as a second source of articles (DESIGN.md §3b).

The pure part, no network, store or Discord:
    model     FeedItem, ParsedFeed, FeedError
    parse     parse_feed: bytes -> ParsedFeed (RSS, Atom via feedparser; JSON Feed via json)
    safety    check_expat, and the prolog scan that refuses entity declarations
    mapping   item_article: FeedItem -> bot.articles.Article
"""
