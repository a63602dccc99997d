"""The data layer: every SQL statement of the app lives in this package.

One module per table family. Functions take a ``sqlite_utils.Database`` first and return
domain records from ``alerts.models``; writes that belong together are wrapped by the
caller in ``alerts.db.write()`` (BEGIN IMMEDIATE), which nests as savepoints.
"""

from alerts.text import fold


def like_pattern(query: str) -> str:
    """Return a LIKE pattern (use with ESCAPE '\\') matching names that contain the query."""
    escaped = fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
