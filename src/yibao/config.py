"""Settings (pydantic-settings, prefix ``YIBAO_``).  Nothing connects at import time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as ``YIBAO_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="YIBAO_", env_file=".env", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="数据目录 / data directory")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty = SQLite file under var_dir (sqlite:///var/yibao.db)",
    )
    secret_key: str = Field(
        default="",
        description="会话签名密钥; empty = a random key kept in var_dir/secret.key",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = False
    session_max_age_s: int = 8 * 3600
    plans_dir: Path | None = Field(
        default=None, description="额外的分组方案目录 / extra plan folders"
    )
    page_size: int = 50
    job_workers: int = Field(default=1, ge=1, le=4, description="后台任务线程数 / job threads")
    grouping_sync_max_rows: int = Field(
        default=20_000, ge=0, description="批量分组：不超过此行数时同步返回结果 / sync batch size"
    )
    demo_seed: int = 20260101
    demo_cases_per_year: int = 20_000
    demo_years: str = "2023,2024,2025"
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    login_max_failures: int = 5
    login_lock_minutes: int = 15

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'yibao.db').as_posix()}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        import secrets

        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
