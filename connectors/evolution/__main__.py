"""``python -m connectors.evolution setup-webhook --url PUBLIC_URL`` (see whatsapp/cli.py)."""
import sys

from whatsapp.cli import main

sys.exit(main(sys.argv[1:]))
