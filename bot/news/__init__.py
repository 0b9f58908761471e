"""/news: the service that answers it, its cog."""
