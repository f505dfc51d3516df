"""The catalog: what pages, lists, feeds, the API and search read, derived from the content files.

Files stay the published truth. The catalog holds, in the workflow database every process and
every server shares, one row per content file (its parsed item, the columns lists filter, sort
and count on), the history entries feeds and scorecards read, the links between items (quotes of
a source, fact-checks about a promise, old ids), and a log of changes each process follows to
refresh what it keeps (its search index, its rendered pages). It is updated item by item — by the
publication itself, in the transaction that records it, and by one scanner that notices edits made
by hand or by git — and can be rebuilt from the files at any time (`kb index`).
"""
