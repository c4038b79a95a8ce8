"""Book tooling, not course code.

The Sphinx extension, the notebook runner and the benchmark's command line. Tools may
import ``book_src``; ``book_src`` never imports them.
"""
