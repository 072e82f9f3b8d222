"""Stage 5, the pages: markdown reports, results.json, plots and Jupyter's display of a result.

`notation.py` is the readable form of exact results all of them share.
"""
