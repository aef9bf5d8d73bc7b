"""CredVault's Python SDK: API keys, OAuth clients, the credentials vault, webhooks and more.

Standard library only (Python 3.9 or later)::

    from credvault import CredVault, CredVaultError

    cv = CredVault(base_url="http://localhost:8080", api_key="cvk_…")
    key = cv.api_keys.create("billing-service", scopes=["credentials:read"])
    print(key.key)                      # the secret, shown once
    for k in cv.api_keys.list():        # every page
        print(k.id, k.name, k.status)
    try:
        cv.api_keys.get("00000000-0000-0000-0000-000000000000")
    except CredVaultError as e:
        print(e.status, e.code, e.request_id)   # 404 NOT_FOUND …
"""

from ._http import Page, Paginator, Response
from ._version import __version__
from .client import CredVault
from .errors import CredVaultError, WebhookVerificationError
from .models import (
    APIKey,
    AuditLog,
    CreatedServiceAccount,
    Credential,
    DEKRotation,
    Deleted,
    EventType,
    Features,
    Health,
    Integration,
    JobStats,
    KeyStreamEvent,
    KeyValidation,
    OAuthClient,
    Pagination,
    Principal,
    RateLimit,
    ServiceAccount,
    Session,
    SSOConfig,
    Stats,
    StreamKey,
    Tenant,
    TenantRef,
    TenantSettings,
    TriggeredJob,
    Usage,
    UsageSummary,
    User,
    UserRef,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookTest,
)
from .stream import KeyStream
from .webhooks import sign_webhook, verify_webhook

version = __version__

__all__ = [
    "APIKey",
    "AuditLog",
    "CreatedServiceAccount",
    "CredVault",
    "CredVaultError",
    "Credential",
    "DEKRotation",
    "Deleted",
    "EventType",
    "Features",
    "Health",
    "Integration",
    "JobStats",
    "KeyStream",
    "KeyStreamEvent",
    "KeyValidation",
    "OAuthClient",
    "Page",
    "Pagination",
    "Paginator",
    "Principal",
    "RateLimit",
    "Response",
    "ServiceAccount",
    "SSOConfig",
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
    "WebhookVerificationError",
    "__version__",
    "sign_webhook",
    "verify_webhook",
    "version",
]
