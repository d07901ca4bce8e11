"""Where Kommo is and how we reach it: ``KOMMO_BASE_URL``, ``KOMMO_ACCESS_TOKEN``,
``KOMMO_PIPELINE_ID``, ``KOMMO_MAPPING_FILE`` (docs/contract.md).

Kommo is optional: without a base URL and a token the sync is off (``enabled`` is False). A value
that is set but wrong (a URL without http(s), a pipeline id that is not a number) is a
``ConfigError`` naming the variable, so a process refuses to start on a typo.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from crm.kommo_mapping import KommoMapping, load_mapping, mapping_path
from sdr.env import ConfigError, number

__all__ = ["KommoSettings"]


@dataclass(frozen=True)
class KommoSettings:
    base_url: Optional[str] = None
    access_token: Optional[str] = field(default=None, repr=False)  # never printed
    pipeline_id: Optional[int] = None
    mapping_file: Path = field(default_factory=mapping_path)

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.access_token)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> KommoSettings:
        base_url = (environ.get("KOMMO_BASE_URL") or "").strip().rstrip("/") or None
        if base_url is not None:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(
                    f"KOMMO_BASE_URL must be your account's address, like https://<subdomain>.kommo.com, "
                    f"got {base_url!r}"
                )
            if parts.path or parts.query:
                raise ConfigError(f"KOMMO_BASE_URL must be the account's address, without a path: {base_url!r}")
        pipeline: Optional[int] = None
        if (environ.get("KOMMO_PIPELINE_ID") or "").strip():
            pipeline = int(number(environ, "KOMMO_PIPELINE_ID", 0, minimum=1, integer=True))
        return cls(
            base_url=base_url,
            access_token=(environ.get("KOMMO_ACCESS_TOKEN") or "").strip() or None,
            pipeline_id=pipeline,
            mapping_file=mapping_path(environ),
        )

    def mapping(self) -> KommoMapping:
        """The mapping file, parsed and checked (ConfigError naming the key otherwise)."""
        return load_mapping(self.mapping_file)
