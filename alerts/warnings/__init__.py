"""A warning's content and life: drafting, four-eyes approval, integrity,
publication, signatures and who gets a copy."""
