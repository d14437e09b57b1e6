"""Domain code shared by every Lambda of the Progress Tracking Service (deployed as one layer)."""
