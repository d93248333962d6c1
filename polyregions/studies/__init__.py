"""Studies of bounds: seeded families, tightness, constructions that attain bounds, reports."""
