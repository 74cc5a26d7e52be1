"""Vortex: slot generation pipeline (example project for perfgate)."""
