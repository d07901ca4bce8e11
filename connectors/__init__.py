"""What runs inside `rasa run`: the Evolution input/output channel (EvolutionInput), its
health routes, and the proactive scheduler (follow-ups, weekly report).

Built on the `whatsapp` package (wire format, client, Redis store) and `sdr` (vocabulary)."""
