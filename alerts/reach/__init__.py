"""Reach (issue 18): who a warning will reach before approval, how far it went after
publication, and each unit's picture over time, with the charts that show it."""
