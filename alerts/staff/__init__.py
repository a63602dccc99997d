"""Police staff: their accounts, signing in, and API tokens."""
