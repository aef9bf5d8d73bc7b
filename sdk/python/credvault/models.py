"""Typed results: one dataclass per resource the API answers with.

Field names are the API's JSON names (snake_case). Times are timezone-aware
:class:`datetime.datetime` in UTC. Every model keeps the JSON object it was
read from in ``raw`` (not shown by ``repr`` and not compared), so a field the
server adds after this SDK's release is still reachable.
"""

import dataclasses
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Type, TypeVar, Union, get_type_hints

__all__ = [
    "APIKey",
    "AuditLog",
    "CreatedServiceAccount",
    "Credential",
    "DEKRotation",
    "Deleted",
    "EventType",
    "Features",
    "Health",
    "Integration",
    "JobStats",
    "KeyStreamEvent",
    "KeyValidation",
    "Model",
    "OAuthClient",
    "Pagination",
    "Principal",
    "RateLimit",
    "SSOConfig",
    "ServiceAccount",
    "Session",
    "Stats",
    "StreamKey",
    "Tenant",
    "TenantRef",
    "TenantSettings",
    "TriggeredJob",
    "Usage",
    "UsageSummary",
    "User",
    "UserRef",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookTest",
]

M = TypeVar("M", bound="Model")

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$"
)


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 time as the API writes it (any number of fraction digits, ``Z``)."""
    m = _RFC3339.match(value)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    date, clock, frac, zone = m.groups()
    micro = (frac or ".0")[1:7].ljust(6, "0")
    if not zone or zone in ("Z", "z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    parsed = datetime.fromisoformat(f"{date}T{clock}.{micro}{zone}")
    return parsed.astimezone(timezone.utc)


def format_time(value: Union[datetime, str]) -> str:
    """Format a time for a request body: RFC 3339 in UTC (naive datetimes are taken as UTC)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_hints_cache: Dict[type, Dict[str, Any]] = {}


def _hints(cls: type) -> Dict[str, Any]:
    hints = _hints_cache.get(cls)
    if hints is None:
        hints = get_type_hints(cls, vars(sys.modules[cls.__module__]))
        _hints_cache[cls] = hints
    return hints


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = getattr(tp, "__origin__", None)
    args = getattr(tp, "__args__", ())
    if origin is Union:  # Optional[X]
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if origin in (list, List):
        return [_convert(args[0], v) for v in value] if args else list(value)
    if origin in (dict, Dict):
        return {k: _convert(args[1], v) for k, v in value.items()} if args else dict(value)
    if tp is datetime and isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            return value
    if isinstance(tp, type) and issubclass(tp, Model) and isinstance(value, dict):
        return tp.from_dict(value)
    return value


class Model:
    """Base of the result dataclasses: building from the API's JSON and back."""

    raw: Dict[str, Any]

    @classmethod
    def from_dict(cls: Type[M], data: Dict[str, Any]) -> M:
        """Build the model from a JSON object of the API; unknown fields stay in ``raw``."""
        hints = _hints(cls)
        kwargs: Dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "raw" or f.name not in data:
                continue
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
        obj = cls(**kwargs)
        obj.raw = dict(data)
        return obj

    def to_dict(self) -> Dict[str, Any]:
        """The JSON object this model was read from (with the fields the SDK does not model)."""
        return dict(self.raw)


def _raw() -> Any:
    return field(default_factory=dict, repr=False, compare=False)


@dataclass
class RateLimit(Model):
    """A key's own rate limit: ``requests`` per ``window_seconds``."""

    requests: int = 0
    window_seconds: int = 0
    raw: Dict[str, Any] = _raw()


@dataclass
class Pagination(Model):
    """``meta.pagination`` of a list page."""

    limit: int = 0
    offset: int = 0
    total: int = 0
    has_next: bool = False
    next_cursor: Optional[str] = None
    total_is_lower_bound: bool = False
    page: Optional[int] = None
    per_page: Optional[int] = None
    total_pages: Optional[int] = None
    has_previous: Optional[bool] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class APIKey(Model):
    """An API key. ``key`` (the secret, ``cvk_…``) is set only by create and rotate."""

    id: str = ""
    tenant_id: str = ""
    name: str = ""
    prefix: str = ""
    scopes: List[str] = field(default_factory=list)
    status: str = ""
    expires_at: Optional[datetime] = None
    last_used_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None
    ip_allowlist: List[str] = field(default_factory=list)
    rate_limit: Optional[RateLimit] = None
    service_account_id: Optional[str] = None
    user_id: Optional[str] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    key: Optional[str] = field(default=None, repr=False)
    raw: Dict[str, Any] = _raw()


@dataclass
class KeyValidation(Model):
    """The answer of ``api_keys.validate``: ``valid``, and ``reason`` when it is not."""

    valid: bool = False
    key_id: str = ""
    scopes: List[str] = field(default_factory=list)
    expires_at: Optional[datetime] = None
    reason: Optional[str] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class OAuthClient(Model):
    """An OAuth 2.0 client. ``client_secret`` is set only by create and rotate_secret."""

    id: str = ""
    tenant_id: str = ""
    client_id: str = ""
    name: str = ""
    scopes: List[str] = field(default_factory=list)
    grant_types: List[str] = field(default_factory=list)
    redirect_uris: List[str] = field(default_factory=list)
    access_token_ttl_seconds: int = 0
    status: str = ""
    created_by: Optional[str] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    client_secret: Optional[str] = field(default=None, repr=False)
    raw: Dict[str, Any] = _raw()


@dataclass
class Credential(Model):
    """A stored credential. ``data`` (the decrypted secret) is set only by ``credentials.get``."""

    id: str = ""
    tenant_id: str = ""
    integration_id: str = ""
    name: str = ""
    auth_type: str = ""
    metadata: Dict[str, Any] = field(default_factory=dict)
    status: str = ""
    expires_at: Optional[datetime] = None
    last_accessed_at: Optional[datetime] = None
    created_by: Optional[str] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    data: Optional[Dict[str, Any]] = field(default=None, repr=False)
    raw: Dict[str, Any] = _raw()


@dataclass
class Integration(Model):
    """The credentials a tenant holds for one integration (``credentials.get`` / ``details``)."""

    integration_id: str = ""
    credentials: List[Credential] = field(default_factory=list)
    raw: Dict[str, Any] = _raw()


@dataclass
class TenantRef(Model):
    """A tenant as a principal or session names it."""

    id: str = ""
    name: str = ""
    slug: str = ""
    raw: Dict[str, Any] = _raw()


@dataclass
class TenantSettings(Model):
    """A tenant's settings."""

    ip_allowlist: List[str] = field(default_factory=list)
    audit_retention_days: int = 0
    raw: Dict[str, Any] = _raw()


@dataclass
class Tenant(Model):
    """A tenant (organisation)."""

    id: str = ""
    name: str = ""
    slug: str = ""
    plan: str = ""
    status: str = ""
    platform: bool = False
    settings: Optional[TenantSettings] = None
    deleted_at: Optional[datetime] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Stats(Model):
    """A tenant's statistics: counts by kind and status, requests, last activity."""

    counts: Dict[str, Dict[str, int]] = field(default_factory=dict)
    requests_last_24h: int = 0
    audit_events_last_24h: int = 0
    last_activity_at: Optional[datetime] = None
    tenant_id: Optional[str] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class User(Model):
    """A user of a tenant."""

    id: str = ""
    tenant_id: str = ""
    email: str = ""
    name: str = ""
    role: str = ""
    status: str = ""
    last_login_at: Optional[datetime] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class UserRef(Model):
    """A user as ``auth.me`` names it."""

    id: str = ""
    email: str = ""
    name: str = ""
    role: str = ""
    raw: Dict[str, Any] = _raw()


@dataclass
class Principal(Model):
    """Who the client is (``auth.me``): a user, an API key, an OAuth client or a service account."""

    principal_type: str = ""
    id: str = ""
    tenant: Optional[TenantRef] = None
    scopes: List[str] = field(default_factory=list)
    user: Optional[UserRef] = None
    client_id: Optional[str] = None
    api_key_id: Optional[str] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Session(Model):
    """A user session from register, login or refresh."""

    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    token_type: str = ""
    expires_in: int = 0
    user: Optional[User] = None
    tenant: Optional[TenantRef] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class ServiceAccount(Model):
    """A service account: a non-human principal whose keys authenticate as it."""

    id: str = ""
    tenant_id: str = ""
    name: str = ""
    description: str = ""
    scopes: List[str] = field(default_factory=list)
    status: str = ""
    created_by: Optional[str] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class CreatedServiceAccount(Model):
    """A new service account and, when asked for, its first API key (with ``key`` once)."""

    service_account: Optional[ServiceAccount] = None
    api_key: Optional[APIKey] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Webhook(Model):
    """A webhook endpoint. ``secret`` (``whsec_…``) is set only by create and rotate_secret."""

    id: str = ""
    tenant_id: str = ""
    url: str = ""
    description: str = ""
    events: List[str] = field(default_factory=list)
    enabled: bool = False
    disabled_reason: Optional[str] = None
    created_by: Optional[str] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    secret: Optional[str] = field(default=None, repr=False)
    raw: Dict[str, Any] = _raw()


@dataclass
class WebhookAttempt(Model):
    """One attempt of a webhook delivery."""

    attempt: int = 0
    at: Optional[datetime] = None
    duration_ms: int = 0
    response_status: Optional[int] = None
    error: Optional[str] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class WebhookDelivery(Model):
    """A delivery of one event to one endpoint: ``pending``, ``succeeded``, ``retrying`` or ``failed``."""

    id: str = ""
    webhook_id: str = ""
    event_id: str = ""
    event_type: str = ""
    attempt: int = 0
    status: str = ""
    response_status: Optional[int] = None
    duration_ms: Optional[int] = None
    error: Optional[str] = None
    next_attempt_at: Optional[datetime] = None
    attempts: List[WebhookAttempt] = field(default_factory=list)
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class WebhookTest(Model):
    """The answer of ``webhooks.test``: the ``webhook.test`` event and its delivery."""

    event_id: str = ""
    delivery_id: str = ""
    delivery: Optional[WebhookDelivery] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class EventType(Model):
    """A webhook event type and what it reports."""

    type: str = ""
    description: str = ""
    raw: Dict[str, Any] = _raw()


@dataclass
class AuditLog(Model):
    """An audit trail entry."""

    id: str = ""
    tenant_id: str = ""
    occurred_at: Optional[datetime] = None
    actor_type: str = ""
    actor_id: str = ""
    action: str = ""
    resource_type: str = ""
    resource_id: str = ""
    outcome: str = ""
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""
    details: Dict[str, Any] = field(default_factory=dict)
    raw: Dict[str, Any] = _raw()


@dataclass
class Deleted(Model):
    """The answer of a delete: the resource's ``id`` (``client_id`` for OAuth clients)."""

    id: str = ""
    deleted: bool = False
    client_id: Optional[str] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Health(Model):
    """The server's health: database, schema version, queue depths, uptime, version."""

    status: str = ""
    database: str = ""
    database_latency_ms: float = 0.0
    schema_version: str = ""
    queue_depths: Dict[str, int] = field(default_factory=dict)
    version: str = ""
    commit: str = ""
    uptime_seconds: int = 0
    rate_limit_store: Optional[str] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Features(Model):
    """Which features the server has on (``admin.feature_status``)."""

    signup: bool = False
    rate_limits: bool = False
    tls: bool = False
    introspection: bool = False
    environment: str = ""
    cors_origins: List[str] = field(default_factory=list)
    raw: Dict[str, Any] = _raw()


@dataclass
class Usage(Model):
    """Requests by one principal on one day."""

    day: str = ""
    principal_type: str = ""
    principal_id: str = ""
    requests: int = 0
    raw: Dict[str, Any] = _raw()


@dataclass
class UsageSummary(Model):
    """Requests over the last ``days`` days, by principal and day."""

    days: int = 0
    total_requests: int = 0
    rows: List[Usage] = field(default_factory=list)
    raw: Dict[str, Any] = _raw()


@dataclass
class JobStats(Model):
    """Counts of one background job's runs by state."""

    job_name: str = ""
    pending: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    retrying: int = 0
    last_run_at: Optional[datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class TriggeredJob(Model):
    """A job queued by ``admin.trigger_job``."""

    job_id: str = ""
    raw: Dict[str, Any] = _raw()


@dataclass
class DEKRotation(Model):
    """A data-encryption-key rotation: the new version and the re-encryption job."""

    dek_version: int = 0
    job_id: str = ""
    raw: Dict[str, Any] = _raw()


@dataclass
class SSOConfig(Model):
    """A tenant's single sign-on (OpenID Connect) configuration, without its client secret."""

    id: str = ""
    tenant_id: str = ""
    issuer: str = ""
    client_id: str = ""
    allowed_domains: List[str] = field(default_factory=list)
    default_role: str = ""
    enabled: bool = False
    redirect_uri: str = ""
    updated_by: Optional[str] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class StreamKey(Model):
    """A usable key as the key stream sends it: ``hash`` is the hex SHA-256 of the secret.

    During a rotation's grace period the old secret's hash is ``previous_hash``
    (valid until ``previous_expires_at``).
    """

    id: str = ""
    hash: str = field(default="", repr=False)
    scopes: List[str] = field(default_factory=list)
    expires_at: Optional[datetime] = None
    ip_allowlist: List[str] = field(default_factory=list)
    previous_hash: Optional[str] = field(default=None, repr=False)
    previous_expires_at: Optional[datetime] = None
    tenant_ip_allowlist: List[str] = field(default_factory=list)
    raw: Dict[str, Any] = _raw()


@dataclass
class KeyStreamEvent:
    """One event of ``api_keys.stream()``.

    ``type`` is ``snapshot`` (``keys`` holds every usable key), ``upsert`` (``key``
    was created or changed) or ``remove`` (``removed_id`` is no longer usable);
    ``id`` is what ``Last-Event-ID`` resumes after; ``data`` is the parsed JSON.
    """

    id: str
    type: str
    data: Any
    keys: List[StreamKey] = field(default_factory=list)
    key: Optional[StreamKey] = None
    removed_id: Optional[str] = None

    @classmethod
    def parse(cls, event_id: str, event_type: str, data: Any) -> "KeyStreamEvent":
        ev = cls(id=event_id, type=event_type, data=data)
        if isinstance(data, dict):
            if event_type == "snapshot":
                ev.keys = [StreamKey.from_dict(k) for k in data.get("keys") or []]
            elif event_type == "upsert":
                ev.key = StreamKey.from_dict(data)
            elif event_type == "remove":
                ev.removed_id = data.get("id")
        return ev
