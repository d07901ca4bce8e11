"""Conversation review UI (a Rasa-X-style inbox) over the Redis tracker store."""
