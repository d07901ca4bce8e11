"""Meetings with the sales consultants, in their Google Calendars (issue 19): the groundwork.

- ``meetings.settings``: ``CalendarSettings.from_env()`` (GOOGLE_CALENDAR_*, MEETING_*,
  BUSINESS_HOURS / TZ_NAME);
- ``meetings.slots``: pure time arithmetic, which meeting times are free and which three to offer;
- ``meetings.google_calendar``: an async client for the parts of Google Calendar API v3 we use
  (freeBusy, events insert / patch / delete / list), with a service account's token
  (docs/google-calendar-api.md).

Like ``crm/`` and ``whatsapp/`` it works without Rasa and imports only ``observability`` and ``sdr``.
"""
