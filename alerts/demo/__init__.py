"""Demo data for `scripts/run`: channel accounts on the local fakes and sample warnings."""
