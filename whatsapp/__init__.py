"""WhatsApp through Evolution API v2, usable without Rasa: the webhook wire format
(payload.py), JIDs and phones, the REST client (client.py), outbound helpers, the channel's
state in Redis (store.py), webhook authentication, settings and the typed turn metadata a
Rasa channel hands to the actions.

Imports only ``observability`` and ``sdr`` of this project; no Rasa, no Sanic.
"""
