"""kb: promise tracking and fact-checking backed by quoted source documents.

Packages, each importing only those below it (tests/test_layers.py, docs/architecture.md):
config → content → search, store → newsroom → web → bench → ops. Flask stays in kb.web.
"""
