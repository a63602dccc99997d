"""Passwords, one-time codes and sign-in throttling: the rules, without storage or web."""
