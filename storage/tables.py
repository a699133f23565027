"""Every table module, imported so their tables register on ``Base.metadata``."""

import storage.booking_tables  # noqa: F401
