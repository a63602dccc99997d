"""Residents' reports to their police: filing them, and the unit's inbox that answers them."""
