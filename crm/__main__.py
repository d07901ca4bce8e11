"""`python -m crm kommo check` (see crm/cli.py)."""
from crm.cli import main

raise SystemExit(main())
