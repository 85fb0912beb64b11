"""Third-party code kept exactly as its authors published it (fixes go in our own modules, never here).

Each subpackage names its origin, version and license; linters and the type checker pass over it.
"""
