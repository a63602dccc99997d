"""What residents report to their police (issue 16): filing on any channel, withdrawal and
retention (``filing``), the screenshot's cleaning (``screenshots``), and how a report's
links are shown (``shown``). The unit's inbox is ``alerts.reports.inbox``."""
