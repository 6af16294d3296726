"""Credentials: password hashing, session tokens, API keys."""
