"""Stage 5, the session: each frame's phase and label, and requests paired with responses (exchanges)."""
