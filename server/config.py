"""Settings read from the environment (and `mosaic-mcp serve` flags).

Settings are built by the caller (`Settings()` in the CLI, `Settings(**overrides)` in tests), never
at import time. API keys are `SecretStr`: they never appear in a `repr`, a log line or an error.

Each field reads one environment variable, its `validation_alias`, matched ignoring case; a value
given to `Settings(...)` (by variable name) wins over the environment. No `.env` file is read. This
is a plain pydantic model rather than `pydantic_settings` (whose import alone was ~12 ms of every
start): the lists are comma-separated, so nothing here needs its JSON decoding or its other sources.
"""

import functools
import hashlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Self, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import redact
from .database import DEFAULT_POOL_SIZE, is_postgres_url

DEFAULT_MOSAIC_BASE_URL = "https://api.mosaic.so"
DEFAULT_MOTION_BASE_URL = "https://api.motion.so/api/motion"
DEFAULT_MAX_DOWNLOAD_BYTES = 20 * 1024**3

Toolset = Literal["core", "agents", "runs", "assets", "avatars", "triggers", "social", "account"]
"""The tool groups: every tool declares one (`Registrar.tool(toolset=...)`), MOSAIC_MCP_TOOLSETS names them."""
TOOLSETS: tuple[Toolset, ...] = get_args(Toolset)
"""The toolsets in the README table's order; derived from `Toolset`, the one definition."""
ToolsetOrAll = Toolset | Literal["all"]
"""What MOSAIC_MCP_TOOLSETS may list."""
AuthMode = Literal["token", "keys", "oauth"]
"""MOSAIC_MCP_AUTH: who `serve --http` serves (token: today's one shared token; keys, oauth: each person)."""
AUTH_MODES: tuple[AuthMode, ...] = get_args(AuthMode)
REMOTE_NEEDS_SEAL = (
    "MOSAIC_MCP_SECRET_KEY: required with MOSAIC_MCP_AUTH={mode}: people's keys are stored only encrypted "
    "under it. Set it to a long random string (at least 32 characters, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`) and keep it: a new one forgets every stored key"
)
MIN_SECRET_KEY_CHARS = 32
"""The shortest MOSAIC_MCP_SECRET_KEY accepted."""
UNPROMPTED_KINDS = ("payments", "publishing", "deleting")
"""What MOSAIC_MCP_ALLOW_WITHOUT_PROMPT can allow when the client cannot show a confirmation prompt."""


KEY_PREFIX = {"MOSAIC_API_KEY": "mk_", "MOTION_API_KEY": "motion_"}
"""What each service's keys start with."""
KEY_PLACEHOLDERS = {
    "MOSAIC_API_KEY": "mk_REPLACE_WITH_YOUR_MOSAIC_KEY",
    "MOTION_API_KEY": "motion_REPLACE_WITH_YOUR_MOTION_KEY",
}
"""The placeholders of claude_desktop_config.example.json, refused as keys."""


class ConfigurationError(Exception):
    """The configuration cannot work; each problem names its variable once and says how to fix it."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


def user_data_dir() -> Path:
    """The platform's per-user data folder for mosaic-mcp (no third-party dependency)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "mosaic-mcp"


def _split_list(value: Any) -> Any:
    """Accept a comma-separated string as a list (also ';' on Windows, where ':' is in paths).

    A list (`--allowed-dirs /a /b`) is split item by item, so `--allowed-dirs /a,/b` means the same.
    """
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [piece for item in value for piece in _split_list(item)]
    if isinstance(value, str):
        separators = ",;" if os.name == "nt" else ","
        parts = [value]
        for sep in separators:
            parts = [piece for part in parts for piece in part.split(sep)]
        return [p.strip() for p in parts if p.strip()]
    return value


_UNSUBSTITUTED = re.compile(r"\$\{user_config\.[^}]*\}")
"""What an MCP bundle host leaves in a value when the user left that optional setting empty."""

_HOST_DIRS: dict[str, Callable[[], str]] = {
    "HOME": lambda: str(Path.home()),
    "DESKTOP": lambda: str(Path.home() / "Desktop"),
    "DOCUMENTS": lambda: str(Path.home() / "Documents"),
    "DOWNLOADS": lambda: str(Path.home() / "Downloads"),
    "/": lambda: os.sep,
}
"""The folder variables of the bundle manifest (`${HOME}/Movies`), for values the host passed on unexpanded."""
_HOST_DIR = re.compile(r"\$\{(HOME|DESKTOP|DOCUMENTS|DOWNLOADS|/)\}")


def drop_unset_placeholders(values: dict[str, Any]) -> dict[str, Any]:
    """Treat a value that is blank or still holds an unsubstituted `${user_config.NAME}` as not given.

    A bundle host passes an optional setting the user left empty as that literal text (in a variable or
    in an argument list); taken at its word it would be a key with the wrong prefix or a folder named
    `${user_config.allowed_dirs}`.
    """

    def unset(item: Any) -> bool:
        return isinstance(item, str) and (not item.strip() or _UNSUBSTITUTED.search(item) is not None)

    kept: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, list):
            value = [item for item in value if not unset(item)]
        if not unset(value):
            kept[name] = value
    return kept


def expand_host_dirs(value: Any) -> Any:
    """Expand `${HOME}`, `${DESKTOP}`, `${DOCUMENTS}`, `${DOWNLOADS}` and `${/}` in a folder setting (or a list)."""
    if isinstance(value, list):
        return [expand_host_dirs(item) for item in value]
    if isinstance(value, str):
        return _HOST_DIR.sub(lambda match: _HOST_DIRS[match.group(1)](), value)
    return value


class Settings(BaseModel):
    """Everything mosaic-mcp can be configured with; each field names its environment variable."""

    # No populate_by_name: it would also read fields from variables named like them (HOME!). Defaults are
    # validated too, so the folder defaults go through the same expansion as a configured folder.
    model_config = ConfigDict(extra="ignore", validate_default=True)

    def __init__(self, **values: Any) -> None:
        """The environment's variables, overridden by `values` (keyed by variable name, e.g. MOSAIC_API_KEY)."""
        super().__init__(**{**_from_environment(), **values})

    mosaic_api_key: SecretStr | None = Field(
        default=None, validation_alias="MOSAIC_API_KEY", description="Mosaic API key (mk_…)."
    )
    motion_api_key: SecretStr | None = Field(
        default=None, validation_alias="MOTION_API_KEY", description="Mosaic Motion API key (motion_…)."
    )
    mosaic_api_base_url: str = Field(
        default=DEFAULT_MOSAIC_BASE_URL,
        validation_alias="MOSAIC_API_BASE_URL",
        description="Mosaic API root.",
    )
    motion_api_base_url: str = Field(
        default=DEFAULT_MOTION_BASE_URL,
        validation_alias="MOTION_API_BASE_URL",
        description="Motion API root.",
    )
    workspace_id: str | None = Field(
        default=None,
        validation_alias="MOSAIC_WORKSPACE_ID",
        description="Optional X-Workspace-Id narrowing Mosaic requests to one workspace.",
    )
    sandbox: bool = Field(
        default=False,
        validation_alias="MOSAIC_MCP_SANDBOX",
        description="Serve both APIs from the built-in offline emulator on loopback.",
    )
    home: Path = Field(
        default_factory=user_data_dir,
        validation_alias="MOSAIC_MCP_HOME",
        description="Folder of the job journal; the default download folder lives below it.",
    )
    download_dir: Path | None = Field(
        default=None,
        validation_alias="MOSAIC_MCP_DOWNLOAD_DIR",
        description="Where outputs are saved (default ~/Downloads/Mosaic, else $MOSAIC_MCP_HOME/downloads).",
    )
    max_download_bytes: int = Field(
        default=DEFAULT_MAX_DOWNLOAD_BYTES,
        gt=0,
        validation_alias="MOSAIC_MCP_MAX_DOWNLOAD_BYTES",
        description="Largest file download_output saves, in bytes (default 20 GiB); a bigger one is refused.",
    )
    verify_download_md5: bool = Field(
        default=False,
        validation_alias="MOSAIC_MCP_VERIFY_DOWNLOAD_MD5",
        description="Check each download against the MD5 its storage sends (x-goog-hash / Content-MD5) before "
        "keeping it; off by default: it costs about 1.5 s of CPU per GiB and halves download speed on 2 cores.",
    )
    allowed_dirs: list[Path] = Field(
        default_factory=list,
        validation_alias="MOSAIC_MCP_ALLOWED_DIRS",
        description="Comma-separated folders files may be read from / written to (plus the download dir "
        "and the client's MCP roots).",
    )
    toolsets: list[ToolsetOrAll] = Field(
        default_factory=lambda: list[ToolsetOrAll](["core"]),
        validation_alias="MOSAIC_MCP_TOOLSETS",
        description="Comma list of tool groups, or 'all'.",
    )
    allow_without_prompt: list[str] = Field(
        default_factory=list,
        validation_alias="MOSAIC_MCP_ALLOW_WITHOUT_PROMPT",
        description="Comma list of payments, publishing, deleting: what a client that cannot show a "
        "confirmation prompt may do with confirm=true. Set by a person only; never implied by toolsets.",
    )
    read_only: bool = Field(
        default=False,
        validation_alias="MOSAIC_MCP_READ_ONLY",
        description="Expose only tools that change nothing.",
    )
    max_wait_seconds: float = Field(
        default=45.0,
        gt=0,
        le=3600,
        validation_alias="MOSAIC_MCP_MAX_WAIT_SECONDS",
        description="Longest wait inside one tool call (hosts cut calls at ~60 s).",
    )
    poll_interval_seconds: float = Field(
        default=2.0,
        ge=0.01,
        le=60,
        validation_alias="MOSAIC_MCP_POLL_INTERVAL",
        description="First interval between status polls of a job (grows while nothing changes, up to 30 s).",
    )
    retention_days: float = Field(
        default=90.0,
        ge=0,
        validation_alias="MOSAIC_MCP_RETENTION_DAYS",
        description="Days a settled job stays in the journal after its last reading (0 keeps every job); "
        "unsettled jobs are never removed.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias="MOSAIC_WEBHOOK_SECRET",
        description="Expected X-Mosaic-Signature on incoming webhooks.",
    )
    public_url: str | None = Field(
        default=None,
        validation_alias="MOSAIC_MCP_PUBLIC_URL",
        description="With serve --http: the URL at which Mosaic can reach this server; runs then report "
        "changes by webhook to its /webhooks/mosaic instead of waiting for the next poll.",
    )
    allow_private_callbacks: bool = Field(
        default=False,
        validation_alias="MOSAIC_MCP_ALLOW_PRIVATE_CALLBACKS",
        description="Let callback_url point at loopback, private or link-local addresses (a test receiver on "
        "this network); this server's own MOSAIC_MCP_PUBLIC_URL is always allowed.",
    )
    http_token: SecretStr | None = Field(
        default=None,
        validation_alias="MOSAIC_MCP_HTTP_TOKEN",
        description="Bearer token required by `serve --http` off loopback.",
    )
    auth_mode: AuthMode = Field(
        default="token",
        validation_alias="MOSAIC_MCP_AUTH",
        description="Who `serve --http` serves: token (one shared MOSAIC_MCP_HTTP_TOKEN, keys from the "
        "environment), keys (each request carries its person's own X-Mosaic-Api-Key / X-Motion-Api-Key) or "
        "oauth (people sign in and paste their keys once).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        validation_alias="MOSAIC_MCP_SECRET_KEY",
        description="Deployment secret (at least 32 characters) that encrypts people's keys at rest; "
        "required with MOSAIC_MCP_AUTH=keys or oauth.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias="MOSAIC_MCP_DATABASE_URL",
        description="postgresql://user:password@host:5432/db: keep the job journal, people's sealed keys and the "
        "OAuth store in PostgreSQL, shared by several replicas (pip install 'mcp-server-mosaic[postgres]'); "
        "unset: SQLite files in MOSAIC_MCP_HOME.",
    )
    database_pool_size: int = Field(
        default=DEFAULT_POOL_SIZE,
        ge=1,
        le=100,
        validation_alias="MOSAIC_MCP_DATABASE_POOL_SIZE",
        description="Most PostgreSQL connections one process opens (1-100, default 10).",
    )
    media_origins: list[str] = Field(
        default_factory=list,
        validation_alias="MOSAIC_MCP_MEDIA_ORIGINS",
        description="Comma list of origins (https://cdn.example.com, or https://*.example.com) the job card may "
        "load videos and thumbnails from, besides those seen in job outputs; never a wildcard for everything.",
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_unset(cls, values: Any) -> Any:
        return drop_unset_placeholders(values) if isinstance(values, dict) else values

    @field_validator("home", "download_dir", "allowed_dirs", mode="before")
    @classmethod
    def _expand_dirs(cls, value: Any) -> Any:
        return expand_host_dirs(value)

    @field_validator(
        "mosaic_api_key", "motion_api_key", "webhook_secret", "http_token", "secret_key", "database_url", mode="before"
    )
    @classmethod
    def _trim_secret(cls, value: Any) -> Any:
        # A pasted key often ends in a newline, and hosts template an empty string for an unset secret.
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("allowed_dirs", "allow_without_prompt", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("media_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        value = _split_list(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return value
        return [_media_origin(v) for v in value]

    @field_validator("toolsets", mode="before")
    @classmethod
    def _known_toolsets(cls, value: Any) -> Any:
        # Before the type's own check, so names are matched ignoring case and an unknown one gets this message.
        value = _split_list(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return value
        names = [v.lower() for v in value] or ["core"]
        unknown = [n for n in names if n != "all" and n not in TOOLSETS]
        if unknown:
            raise ValueError(f"unknown toolset(s) {', '.join(unknown)}; choose from {', '.join(TOOLSETS)} or 'all'")
        return names

    @field_validator("allow_without_prompt")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        names = [v.lower() for v in value]
        unknown = [n for n in names if n not in UNPROMPTED_KINDS]
        if unknown:
            raise ValueError(
                f"unknown value(s) {', '.join(unknown)}; list the kinds of "
                f"action to allow without a confirmation prompt, from {', '.join(UNPROMPTED_KINDS)} "
                "(each named on purpose: there is no 'all' or '1')"
            )
        return names

    @field_validator("auth_mode", mode="before")
    @classmethod
    def _known_auth_mode(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower() or "token"
            if value not in AUTH_MODES:
                raise ValueError(f"unknown mode {value[:40]!r}; choose from {', '.join(AUTH_MODES)}")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_CHARS:
            raise ValueError(
                f"is shorter than {MIN_SECRET_KEY_CHARS} characters; use a long random string "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Never quotes the value: it may hold a password.
        if value is not None and not is_postgres_url(value.get_secret_value()):
            raise ValueError(
                "is not a PostgreSQL URL: it must start with postgresql:// (or postgres://), e.g. "
                "postgresql://mosaic@db.internal:5432/mosaic; unset it to keep the SQLite files in MOSAIC_MCP_HOME"
            )
        return value

    @field_validator("mosaic_api_key", "motion_api_key")
    @classmethod
    def _usable_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # A field validator, not a model one: its error is reported together with every other field's.
        if value is not None:
            problem = key_problem(_env_name(info.field_name or ""), value.get_secret_value())
            if problem is not None:
                raise ValueError(problem)
        return value

    @field_validator("mosaic_api_base_url", "motion_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("is not a URL this server can call: it must start with http:// or https://")
        return value.strip()

    @model_validator(mode="after")
    def _remember_secrets(self) -> Self:
        # From here on, scrub these values out of every message and log line.
        redact.remember(*(secret.get_secret_value() for secret in self._secrets() if secret is not None))
        return self

    def _secrets(self) -> tuple[SecretStr | None, ...]:
        password = urlsplit(self.database_url.get_secret_value()).password if self.database_url else None
        return (
            self.mosaic_api_key,
            self.motion_api_key,
            self.webhook_secret,
            self.http_token,
            self.secret_key,
            self.database_url,
            SecretStr(password) if password else None,
        )

    @property
    def remote(self) -> bool:
        """Whether `serve --http` serves people with their own keys (MOSAIC_MCP_AUTH keys or oauth)."""
        return self.auth_mode != "token"

    @property
    def enabled_toolsets(self) -> frozenset[Toolset]:
        """The toolsets to register, with 'all' expanded; 'core' is always included."""
        if "all" in self.toolsets:
            return frozenset(TOOLSETS)
        return frozenset(t for t in self.toolsets if t != "all") | {"core"}

    @property
    def resolved_download_dir(self) -> Path:
        """The download folder: the configured one, else ~/Downloads/Mosaic, else below home."""
        if self.download_dir is not None:
            return self.download_dir.expanduser()
        downloads = Path.home() / "Downloads"
        if downloads.is_dir():
            return downloads / "Mosaic"
        return self.home.expanduser() / "downloads"

    @property
    def journal_path(self) -> Path:
        """The SQLite job journal inside home."""
        return self.home.expanduser() / "jobs.sqlite3"


def key_problem(variable: str, key: str) -> str | None:
    """Why `key` cannot be the value of `variable` (MOSAIC_API_KEY, MOTION_API_KEY), or None; never quotes it."""
    prefix = KEY_PREFIX[variable]
    again = "copy the whole key again from the dashboard"
    if key == KEY_PLACEHOLDERS[variable] or _looks_like_a_placeholder(key):
        return f"is still a placeholder from an example, not a key; replace it with your key ({again})"
    if key == prefix:
        return f"holds only the prefix '{prefix}', not a whole key; {again}"
    if not key.startswith(prefix):
        other = next((v for v, p in KEY_PREFIX.items() if v != variable and key.startswith(p)), None)
        advice = f"it looks like a key for {other}: put it there" if other else again
        return f"does not look like a {prefix}… key (it must start with '{prefix}'); {advice}"
    if not _key_characters_ok(key):
        return (
            "holds characters an API key cannot have (spaces, line breaks, control characters or non-ASCII "
            f"letters, often from copying it out of a document); {again}"
        )
    return None


def _looks_like_a_placeholder(key: str) -> bool:
    """The README's `mk_…`, or an example's REPLACE_WITH_YOUR_… text."""
    upper = key.upper()
    return key.endswith(("…", "...")) or "REPLACE_WITH" in upper or ("YOUR_" in upper and "KEY" in upper)


_ORIGIN = re.compile(r"(https?)://(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?", re.IGNORECASE)


def _media_origin(value: str) -> str:
    """One MOSAIC_MCP_MEDIA_ORIGINS entry as a CSP source: scheme and host, no path; `*.` only before a domain."""
    origin = value.strip().rstrip("/")
    match = _ORIGIN.fullmatch(origin)
    if match is None or (match.group(2) and "." not in match.group(3)):
        raise ValueError(
            f"{origin[:80]!r} is not an origin; give scheme and host like "
            "https://cdn.example.com or https://*.example.com (no path, no bare * or *.com)"
        )
    return origin.lower()


def _key_characters_ok(value: str) -> bool:
    """API keys are sent in an HTTP header: printable ASCII only, no spaces."""
    return all("!" <= char <= "~" for char in value)


def key_fingerprint(secret: SecretStr | None) -> str:
    """A short SHA-256 fingerprint of a key, to keep one key's jobs apart without storing it."""
    if secret is None:
        return "none"
    return hashlib.sha256(secret.get_secret_value().encode()).hexdigest()[:12]


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment plus overrides (by field name), or raise ConfigurationError.

    The error text is secret-free: it names variables and rules, never values.
    """
    by_alias = {_env_name(name): value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**by_alias)
    except ValidationError as exc:
        raise ConfigurationError(_problems(exc)) from None


def _problems(exc: ValidationError) -> list[str]:
    """One line per variable, naming it once, with every problem it has; secret-free."""
    by_variable: dict[str, list[str]] = {}
    # Never str(exc): pydantic echoes the raw input, which would print the API keys.
    for error in exc.errors(include_input=False, include_url=False):
        variable = _env_name(str(error["loc"][0])) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        if message not in by_variable.setdefault(variable, []):
            by_variable[variable].append(message)
    return [f"{name}: {'; '.join(messages)}" if name else "; ".join(messages) for name, messages in by_variable.items()]


def _from_environment() -> dict[str, str]:
    """The variables Settings reads, as set in the environment, by their canonical names (matched ignoring case)."""
    names = _variables()
    return {names[name.lower()]: value for name, value in os.environ.items() if name.lower() in names}


@functools.cache
def _variables() -> dict[str, str]:
    """Lower-cased variable name → the name as Settings spells it."""
    return {name.lower(): name for name in (_env_name(field) for field in Settings.model_fields)}


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    return alias if isinstance(alias, str) else field
