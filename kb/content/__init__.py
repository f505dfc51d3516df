"""The published truth: content files read into plain objects, checked, and written back.

Each content kind (promise, source, claim) is declared once in kinds.py; everything above this
layer — search, workflow, web — asks the registry what a kind is rather than switching on it.
No database, no Flask: this layer works from a plain Python shell and from `kb check`.
"""
