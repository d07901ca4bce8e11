"""The sales assistant's domain, shared by every process: the vocabulary of the dialogue
(slots, intents, lead statuses and classes, tied to domain.yml by tests), the pure readers of
what leads write, scoring, formatting, time rules, and small shared tools (one circuit
breaker, one environment reader, one text folding, one Redis connection factory).

Imports only ``observability`` of this project: no Rasa, no Sanic, no WhatsApp.
"""
