"""Settings (pydantic-settings, prefix ``YIBAO_``).  Nothing connects at import time."""

from __future__ import annotations

import secrets
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
    session_max_age_s: int = Field(
        default=8 * 3600, ge=60, description="会话最长有效期（秒）/ absolute session lifetime"
    )
    session_idle_timeout_s: int = Field(
        default=30 * 60, ge=60, description="会话空闲超时（秒）/ idle timeout"
    )
    https: bool | None = Field(
        default=None,
        description="经 HTTPS 提供服务（Cookie 加 Secure）；空 = 按请求协议判断 / serve over HTTPS",
    )
    plans_dir: Path | None = Field(
        default=None, description="额外的分组方案目录 / extra plan folders"
    )
    page_size: int = 50
    job_workers: int = Field(default=1, ge=1, le=4, description="后台任务线程数 / job threads")
    grouping_sync_max_rows: int = Field(
        default=20_000, ge=0, description="批量分组：不超过此行数时同步返回结果 / sync batch size"
    )
    db_pool_size: int = Field(default=24, ge=4, description="数据库连接池 / pool size")
    db_max_overflow: int = Field(default=8, ge=0, description="连接池溢出 / pool overflow")
    db_lock_timeout_s: float = Field(
        default=30.0, ge=0, description="PostgreSQL 锁等待上限（秒）/ lock wait limit"
    )
    sqlite_busy_timeout_s: float = Field(
        default=30.0, ge=0, description="SQLite 写锁等待上限（秒）/ write-lock wait"
    )
    inline_reads: bool = Field(
        default=True,
        description="PostgreSQL：轻量查询页面在事件循环中直接处理 / light reads on the loop",
    )
    inline_read_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="轻量查询的语句时限（秒）/ light read time limit"
    )
    request_threads: int = Field(
        default=8, ge=4, le=400, description="请求处理线程数 / request worker threads"
    )
    write_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description="同时处理的写请求数（空 = SQLite 4，PostgreSQL 16）/ concurrent writes",
    )
    write_queue_timeout_s: float = Field(
        default=60.0, ge=1, description="写请求排队上限（秒）/ write queue wait"
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="JSON/表单请求体上限 / body limit"
    )
    redis_url: str = Field(
        default="",
        description="Redis（规则库变更通知，可选）；空 = 不用 Redis / optional rule-change fan-out",
    )
    max_upload_bytes: int = Field(
        default=128 * 1024 * 1024, ge=1024, description="文件上传请求体上限 / upload limit"
    )
    monitor_interval_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="应用监控阈值检查间隔（秒）；0 = 不自动检查 / alert check interval",
    )
    max_unzipped_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024, description="Excel 解压后大小上限 / xlsx limit"
    )
    max_upload_rows: int = Field(
        default=2_000_000, ge=1, description="上传文件行数上限 / rows per uploaded file"
    )
    token_rate_per_minute: int = Field(
        default=600, ge=0, description="每个接口令牌每分钟请求上限（0 = 不限）/ rate limit"
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="快速接口缓存令牌的秒数（吊销、停用在此时间内生效）/ token cache ttl",
    )
    audit_writer_threads: int = Field(
        default=1,
        ge=1,
        le=16,
        description="实时审核每个进程的批量提交线程数 / real-time audit writer threads",
    )
    exchange_writer_threads: int = Field(
        default=2,
        ge=1,
        le=16,
        description="交易接口每个进程的批量提交线程数 / transaction gateway writer threads",
    )
    fast_routes: bool = Field(
        default=True, description="实时审核等快速接口绕过通用中间件 / serve fast routes directly"
    )
    adjust_second_review_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="调整金额超过清单支付金额的此比例时须另一位审核员复核（0 = 全部复核）"
        " / adjustments beyond this share of the payment need a second reviewer",
    )
    adjust_max_increase_share: float = Field(
        default=0.5,
        ge=0,
        le=10,
        description="调增最多为清单支付金额的此比例 / most an addition may add, as a share",
    )
    budget_tolerance: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="发布支付标准时模拟支付与预算的允许偏差（比例）/ budget tolerance",
    )
    publish_four_eyes: bool = Field(
        default=False,
        description="发布权重方案与支付标准须另一位用户批准 / publishing needs a second user",
    )
    pdf_font: Path | None = Field(
        default=None,
        description="PDF 嵌入的中文 TrueType 字体（空 = 自动查找文泉驿等系统字体）/ PDF CJK font",
    )
    figures_cache_s: float = Field(
        default=60.0, ge=0, description="首页统计图表缓存秒数（0 = 不缓存）/ dashboard cache"
    )
    count_cache_s: float = Field(
        default=15.0, ge=0, description="病例列表总数缓存秒数（0 = 不缓存）/ list totals cache"
    )
    warm_up: bool = Field(
        default=False,
        description="启动后在后台预编译页面模板与当前分组方案（yibao serve 默认开启）/ warm up",
    )
    exchange_sign_in_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 7,
        description="交易接口签到（9001）的有效时长（小时）/ how long a sign_no is valid",
    )
    exchange_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        description="交易接口单笔报文上限（字节；规范 input ≤ 40000 字符，费用明细应分批上传）"
        " / one gateway message's size limit",
    )
    exchange_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="交易接口在进程内缓存签到编号与签名密钥的秒数（签退、换钥在其他进程中"
        "于此时间内生效，本进程立即生效）/ sign-in and signing-key cache ttl",
    )
    audit_history_days: int = Field(
        default=30,
        ge=1,
        le=366,
        description="事前提醒（3101）列出近多少天的就诊 / days of recent visits in 3101",
    )
    audit_supply_days: int = Field(
        default=90,
        ge=1,
        le=366,
        description="事前提醒（3101）回看多少天内开出的药品计算余药 / look-back for drugs on hand",
    )
    demo_seed: int = 20260101
    demo_cases_per_year: int = 20_000
    demo_years: str = "2023,2024,2025"
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    password_min_length: int = Field(
        default=8, ge=8, le=128, description="密码最短长度 / shortest password"
    )
    password_min_classes: int = Field(
        default=3,
        ge=1,
        le=4,
        description="密码至少包含大写字母、小写字母、数字、符号中的几类 / kinds of character",
    )
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

        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
