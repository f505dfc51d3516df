"""Uploaded documents read into a source's text: formats, layout, OCR, all under a budget.

`extract.read_document` is the door (the newsroom's upload and `kb source add` call it): it runs
`formats` (and `ocr` for scanned pages) in a child process `sandbox` can kill, then `layout` joins
the lines a PDF's layout broke. Pages are kept, separated by a form feed (as pdftotext does).
"""
