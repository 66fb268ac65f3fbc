"""Needs & ideas pipeline (issue 6). So far: duplicate hints (``similarity``)."""
