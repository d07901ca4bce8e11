"""Lead sync: the assistant's leads told to the sales team's tools (Kommo CRM, outbound webhooks).

Usable without Rasa: nothing here imports Rasa or Sanic, and of our own code only
``observability`` and ``sdr``. The Kommo wire layer is ``kommo_client`` (HTTP),
``kommo_payloads`` (request bodies), ``kommo_webhooks`` (Kommo's lead events in),
``kommo_mapping`` (which Kommo ids our stages and fields are), ``rate_limit`` (7 requests/s
across processes) and ``python -m crm kommo check``.
"""
