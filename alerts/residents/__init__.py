"""Everything the public touches: the portal, subscriptions and their links,
and checking whether a message or a number is genuine."""
