"""Rasa input channels and their helpers."""
