"""Every table module, imported so their tables register on ``Base.metadata``."""
