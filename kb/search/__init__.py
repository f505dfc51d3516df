"""Search, derived from the content files: French analysis, the Whoosh index, queries and facets."""
