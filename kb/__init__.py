"""kb: promise tracking and fact-checking backed by quoted source documents.

Layers, each importing only those before it: content (model, frontmatter, quotes,
statuses, content, check, render) → index → workflow → web. Flask stays in kb.web.
"""
