"""Every table module, imported so their tables register on ``Base.metadata``."""

import storage.booking_tables  # noqa: F401
import storage.call_tables  # noqa: F401
import storage.dialling_tables  # noqa: F401
import storage.google_sync_tables  # noqa: F401
import storage.google_tables  # noqa: F401
import storage.member_tables  # noqa: F401
import storage.operator_tables  # noqa: F401
import storage.outlook_sync_tables  # noqa: F401
import storage.outlook_tables  # noqa: F401
import storage.webhook_tables  # noqa: F401
