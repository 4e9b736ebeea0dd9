"""The one place that reads the environment (prefix ``ALPR_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALPR_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/ledger.db",
        description="sqlite:///PATH (relative to the working directory) or postgresql://user:pw@host:port/db",
    )
    data_dir: Path = Field(default=Path("var"), description="Signing key, blobs and other local state.")
    log_origin: str = Field(
        default="alpr-ledger.example/log",
        description="Origin line of checkpoints and name of the signing key (C2SP tlog-checkpoint).",
    )
    signing_key_file: Path | None = Field(
        default=None, description="Ed25519 private key (PEM, PKCS#8). Created in data_dir if unset."
    )
    checkpoint_interval_s: float = Field(
        default=60.0, gt=0, description="Sign a checkpoint this often while the log grows."
    )

    policy: str = Field(
        default="nys-mptc-2022",
        description="Policy profile: nypd-2026, nypd-2021, nys-mptc-2022, county-sheriff-2025, iacp-2010.",
    )
    token_ttl_s: float = Field(
        default=8 * 3600, gt=0, description="Lifetime of an interactive bearer token (seconds)."
    )

    master_key: SecretStr | None = Field(
        default=None,
        description="Master key as base64 text (32 bytes). Overrides master_key_file; keep it out of logs.",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="Master key file (32 raw bytes, mode 0600). Created in data_dir if neither is set.",
    )
    key_store_url: str | None = Field(
        default=None,
        description=(
            "Where data keys live, apart from the events: sqlite:///PATH or postgresql://... "
            "Default: data_dir/keys.db beside a SQLite ledger; database <name>_keys on the server of a "
            "PostgreSQL ledger (created on first start), so a copy of the events database holds no key."
        ),
    )
    projections_url: str | None = Field(
        default=None,
        description=(
            "Where search and report views live, apart from the events: sqlite:///PATH or "
            "postgresql://... Default: data_dir/projections.db beside a SQLite ledger; database "
            "<name>_projections on the server of a PostgreSQL ledger (created on first start)."
        ),
    )
    retention_interval_s: float = Field(
        default=3600.0, gt=0, description="Run the retention job this often while the service runs."
    )
    projection_interval_s: float = Field(
        default=5.0,
        ge=0,
        description=(
            "Catch every search and report view up to the log this often while the service runs, "
            "and run the rewrites single-record shreds deferred; 0 disables (views then catch up "
            "when a search or report asks)."
        ),
    )

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("database_url must start with sqlite:// or postgresql://")
        return value

    @field_validator("key_store_url", "projections_url")
    @classmethod
    def _key_store_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @field_validator("log_origin")
    @classmethod
    def _origin_is_one_line(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value) or "+" in value:
            raise ValueError("log_origin must be non-empty, without spaces or '+'")
        return value
