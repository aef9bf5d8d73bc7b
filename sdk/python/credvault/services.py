"""The API's resources, one service each: ``cv.api_keys``, ``cv.credentials``, …

Every method is one REST operation of ``/api/v1`` (the mapping is
``credvault.operations.OPERATIONS``). List methods return a
:class:`~credvault.Paginator`: iterate it for every item across pages.
Optional arguments left as ``None`` are not sent, so the server's default
applies (for updates: the field is left unchanged).
"""

from datetime import datetime
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union
from urllib.parse import quote

from ._http import Paginator, Transport, compact
from .stream import KeyStream, iter_ndjson, iter_text
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
    KeyValidation,
    OAuthClient,
    Principal,
    Session,
    SSOConfig,
    Stats,
    Tenant,
    TriggeredJob,
    UsageSummary,
    User,
    Webhook,
    WebhookDelivery,
    WebhookTest,
)

Time = Union[datetime, str]


def _seg(value: str) -> str:
    """A path segment, escaped."""
    if not value:
        raise ValueError("an id is required")
    return quote(str(value), safe="")


def _paging(
    limit: Optional[int], cursor: Optional[str], offset: Optional[int], sort: Optional[str], order: Optional[str]
) -> Dict[str, Any]:
    return compact(limit=limit, cursor=cursor, offset=offset, sort=sort, order=order)


class _Service:
    def __init__(self, transport: Transport) -> None:
        self._t = transport


class AuthService(_Service):
    """Sessions and the current principal (``/auth``)."""

    def me(self) -> Principal:
        """Who this client is: principal type, id, tenant and scopes (``GET /auth/me``)."""
        return Principal.from_dict(self._t.request("GET", "/auth/me").data)

    def register(
        self,
        tenant_name: str,
        email: str,
        password: str,
        *,
        name: Optional[str] = None,
        sandbox: Optional[bool] = None,
    ) -> Session:
        """Sign up: create a tenant and its owner, returning the owner's session (open route).

        ``sandbox=True`` makes a sandbox tenant (on servers that have them).
        """
        body = compact(tenant_name=tenant_name, email=email, password=password, name=name, sandbox=sandbox)
        return Session.from_dict(self._t.request("POST", "/auth/register", body=body, authenticate=False).data)

    def login(self, email: str, password: str, *, tenant: Optional[str] = None) -> Session:
        """Log in with a password; ``tenant`` is the tenant's slug (open route)."""
        body = compact(email=email, password=password, tenant=tenant)
        return Session.from_dict(self._t.request("POST", "/auth/login", body=body, authenticate=False).data)

    def refresh(self, refresh_token: str) -> Session:
        """Exchange a refresh token for a new session; the old refresh token stops working."""
        body = {"refresh_token": refresh_token}
        return Session.from_dict(self._t.request("POST", "/auth/refresh", body=body, authenticate=False).data)


class APIKeysService(_Service):
    """API keys (``/api-keys``)."""

    def create(
        self,
        name: str,
        *,
        scopes: Optional[Sequence[str]] = None,
        expires_at: Optional[Time] = None,
        service_account_id: Optional[str] = None,
        ip_allowlist: Optional[Sequence[str]] = None,
        rate_limit: Optional[Mapping[str, int]] = None,
    ) -> APIKey:
        """Create a key. The secret is in ``.key``, returned this once only.

        ``rate_limit`` is ``{"requests": N, "window_seconds": S}``; ``scopes``
        default to the creator's.
        """
        body = compact(
            name=name,
            scopes=list(scopes) if scopes is not None else None,
            expires_at=expires_at,
            service_account_id=service_account_id,
            ip_allowlist=list(ip_allowlist) if ip_allowlist is not None else None,
            rate_limit=dict(rate_limit) if rate_limit is not None else None,
        )
        return APIKey.from_dict(self._t.request("POST", "/api-keys", body=body).data)

    def list(
        self,
        *,
        status: Optional[str] = None,
        service_account_id: Optional[str] = None,
        limit: Optional[int] = None,
        sort: Optional[str] = None,
        order: Optional[str] = None,
        cursor: Optional[str] = None,
        offset: Optional[int] = None,
    ) -> "Paginator[APIKey]":
        """Every key of the tenant, newest first; ``status`` is active, expired or revoked.

        ``limit`` is the page size (at most 200).
        """
        params = compact(status=status, service_account_id=service_account_id)
        params.update(_paging(limit, cursor, offset, sort, order))
        return Paginator(self._t, "/api-keys", params, APIKey.from_dict)

    def get(self, key_id: str) -> APIKey:
        """One key by id (never its secret)."""
        return APIKey.from_dict(self._t.request("GET", f"/api-keys/{_seg(key_id)}").data)

    def rotate(self, key_id: str, *, grace_period_seconds: Optional[int] = None) -> APIKey:
        """Issue a new secret for the same key id (in ``.key``, once).

        The old secret keeps working for ``grace_period_seconds`` (omitted or 0: it stops at once).
        """
        body = compact(grace_period_seconds=grace_period_seconds)
        return APIKey.from_dict(self._t.request("POST", f"/api-keys/{_seg(key_id)}/rotate", body=body).data)

    def revoke(self, key_id: str) -> APIKey:
        """Revoke a key: it stops working at once, on every instance."""
        return APIKey.from_dict(self._t.request("DELETE", f"/api-keys/{_seg(key_id)}").data)

    def stream(self, *, last_event_id: Optional[str] = None, reconnect: bool = True) -> KeyStream:
        """Follow the tenant's usable keys (Server-Sent Events), for verifying keys locally.

        Iterating the returned :class:`~credvault.stream.KeyStream` yields a
        ``snapshot`` event, then ``upsert`` and ``remove`` events as keys change;
        it reconnects with ``Last-Event-ID`` when the connection drops. Close it
        (or use ``with``) to stop.
        """
        return KeyStream(self._t, last_event_id=last_event_id, reconnect=reconnect)

    def validate(self, key_id: str, key: str) -> KeyValidation:
        """Check a key's secret against key ``key_id``; a bad key is ``valid=False``, not an error."""
        resp = self._t.request("POST", f"/api-keys/{_seg(key_id)}/validate", body={"key": key})
        return KeyValidation.from_dict(resp.data)


class OAuthClientsService(_Service):
    """OAuth 2.0 clients (``/oauth-clients``); ids are the ``client_id``."""

    def create(
        self,
        name: str,
        scopes: Sequence[str],
        *,
        grant_types: Optional[Sequence[str]] = None,
        redirect_uris: Optional[Sequence[str]] = None,
        access_token_ttl_seconds: Optional[int] = None,
    ) -> OAuthClient:
        """Create a client; its secret is in ``.client_secret``, returned this once only."""
        body = compact(
            name=name,
            scopes=list(scopes),
            grant_types=list(grant_types) if grant_types is not None else None,
            redirect_uris=list(redirect_uris) if redirect_uris is not None else None,
            access_token_ttl_seconds=access_token_ttl_seconds,
        )
        return OAuthClient.from_dict(self._t.request("POST", "/oauth-clients", body=body).data)

    def list(
        self,
        *,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        sort: Optional[str] = None,
        order: Optional[str] = None,
        cursor: Optional[str] = None,
        offset: Optional[int] = None,
    ) -> "Paginator[OAuthClient]":
        """Every client of the tenant; ``status`` is active or disabled."""
        params = compact(status=status)
        params.update(_paging(limit, cursor, offset, sort, order))
        return Paginator(self._t, "/oauth-clients", params, OAuthClient.from_dict)

    def get(self, client_id: str) -> OAuthClient:
        """One client by its ``client_id``."""
        return OAuthClient.from_dict(self._t.request("GET", f"/oauth-clients/{_seg(client_id)}").data)

    def update(
        self,
        client_id: str,
        *,
        name: Optional[str] = None,
        scopes: Optional[Sequence[str]] = None,
        grant_types: Optional[Sequence[str]] = None,
        redirect_uris: Optional[Sequence[str]] = None,
        access_token_ttl_seconds: Optional[int] = None,
        status: Optional[str] = None,
    ) -> OAuthClient:
        """Change the fields given; ``status`` ``disabled`` stops its tokens at once."""
        body = compact(
            name=name,
            scopes=list(scopes) if scopes is not None else None,
            grant_types=list(grant_types) if grant_types is not None else None,
            redirect_uris=list(redirect_uris) if redirect_uris is not None else None,
            access_token_ttl_seconds=access_token_ttl_seconds,
            status=status,
        )
        return OAuthClient.from_dict(self._t.request("PATCH", f"/oauth-clients/{_seg(client_id)}", body=body).data)

    def rotate_secret(self, client_id: str, *, grace_period_seconds: Optional[int] = None) -> OAuthClient:
        """Issue a new client secret (in ``.client_secret``, once)."""
        body = compact(grace_period_seconds=grace_period_seconds)
        path = f"/oauth-clients/{_seg(client_id)}/rotate-secret"
        return OAuthClient.from_dict(self._t.request("POST", path, body=body).data)

    def delete(self, client_id: str) -> Deleted:
        """Delete a client; its tokens stop working at once."""
        return Deleted.from_dict(self._t.request("DELETE", f"/oauth-clients/{_seg(client_id)}").data)


class CredentialsService(_Service):
    """The credentials vault (``/credentials``), by integration id (``"stripe"``, …)."""

    def store(
        self,
        integration_id: str,
        auth_type: str,
        data: Mapping[str, Any],
        *,
        name: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        expires_at: Optional[Time] = None,
    ) -> Credential:
        """Encrypt and store a credential; returns its metadata (never ``data``).

        ``auth_type`` is one of oauth2_bearer, oauth2_client_credentials,
        api_key, basic_auth, bearer_token, jwt, saml, custom.
        """
        body = compact(
            integration_id=integration_id,
            auth_type=auth_type,
            data=dict(data),
            name=name,
            metadata=dict(metadata) if metadata is not None else None,
            expires_at=expires_at,
        )
        return Credential.from_dict(self._t.request("POST", "/credentials", body=body).data)

    def list(
        self,
        *,
        integration_id: Optional[str] = None,
        auth_type: Optional[str] = None,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        sort: Optional[str] = None,
        order: Optional[str] = None,
        cursor: Optional[str] = None,
        offset: Optional[int] = None,
    ) -> "Paginator[Credential]":
        """The metadata of every credential of the tenant (no ``data``)."""
        params = compact(integration_id=integration_id, auth_type=auth_type, status=status)
        params.update(_paging(limit, cursor, offset, sort, order))
        return Paginator(self._t, "/credentials", params, Credential.from_dict)

    def get(self, integration_id: str) -> Integration:
        """The decrypted credentials of an integration (needs ``credentials:decrypt``; audited).

        ``cv.credentials.get("stripe").credentials[0].data`` is the secret.
        """
        return Integration.from_dict(self._t.request("GET", f"/credentials/{_seg(integration_id)}").data)

    def details(self, integration_id: str) -> Integration:
        """The credentials of an integration without their ``data``."""
        path = f"/credentials/{_seg(integration_id)}/details"
        return Integration.from_dict(self._t.request("GET", path).data)

    def update(
        self,
        integration_id: str,
        credential_id: str,
        *,
        name: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        expires_at: Optional[Time] = None,
        status: Optional[str] = None,
        data: Optional[Mapping[str, Any]] = None,
    ) -> Credential:
        """Change the fields given; ``data`` replaces the secret."""
        body = compact(
            name=name,
            metadata=dict(metadata) if metadata is not None else None,
            expires_at=expires_at,
            status=status,
            data=dict(data) if data is not None else None,
        )
        path = f"/credentials/{_seg(integration_id)}/{_seg(credential_id)}"
        return Credential.from_dict(self._t.request("PATCH", path, body=body).data)

    def delete(self, integration_id: str, credential_id: str) -> Deleted:
        """Delete a credential; its ciphertext is destroyed."""
        path = f"/credentials/{_seg(integration_id)}/{_seg(credential_id)}"
        return Deleted.from_dict(self._t.request("DELETE", path).data)


class UsersService(_Service):
    """The tenant's users (``/admin/users``)."""

    def list(
        self,
        *,
        role: Optional[str] = None,
        status: Optional[str] = None,
        email: Optional[str] = None,
        limit: Optional[int] = None,
        sort: Optional[str] = None,
        order: Optional[str] = None,
        cursor: Optional[str] = None,
        offset: Optional[int] = None,
    ) -> "Paginator[User]":
        """Every user of the tenant."""
        params = compact(role=role, status=status, email=email)
        params.update(_paging(limit, cursor, offset, sort, order))
        return Paginator(self._t, "/admin/users", params, User.from_dict)

    def create(self, email: str, role: str, *, name: Optional[str] = None, password: Optional[str] = None) -> User:
        """Add a user; ``role`` is owner, admin, member or viewer."""
        body = compact(email=email, role=role, name=name, password=password)
        return User.from_dict(self._t.request("POST", "/admin/users", body=body).data)

    def update(
        self,
        user_id: str,
        *,
        name: Optional[str] = None,
        role: Optional[str] = None,
        status: Optional[str] = None,
        password: Optional[str] = None,
    ) -> User:
        """Change the fields given."""
        body = compact(name=name, role=role, status=status, password=password)
        return User.from_dict(self._t.request("PATCH", f"/admin/users/{_seg(user_id)}", body=body).data)

    def delete(self, user_id: str) -> Deleted:
        """Delete a user."""
        return Deleted.from_dict(self._t.request("DELETE", f"/admin/users/{_seg(user_id)}").data)


class ServiceAccountsService(_Service):
    """Service accounts (``/admin/service-account``)."""

    def create(
        self,
        name: str,
        scopes: Sequence[str],
        *,
        description: Optional[str] = None,
        create_api_key: Optional[bool] = None,
    ) -> CreatedServiceAccount:
        """Create a service account; with ``create_api_key=True`` also its first key (``.api_key.key``, once)."""
        body = compact(name=name, scopes=list(scopes), description=description, create_api_key=create_api_key)
        resp = self._t.request("POST", "/admin/service-account/create", body=body)
        return CreatedServiceAccount.from_dict(resp.data)


class WebhooksService(_Service):
    """Webhook endpoints and their deliveries (``/webhooks``)."""

    def create(
        self,
        url: str,
        events: Sequence[str],
        *,
        description: Optional[str] = None,
        enabled: Optional[bool] = None,
    ) -> Webhook:
        """Register an endpoint for ``events`` (or ``["*"]``); the signing secret is in ``.secret``, once."""
        body = compact(url=url, events=list(events), description=description, enabled=enabled)
        return Webhook.from_dict(self._t.request("POST", "/webhooks", body=body).data)

    def list(
        self,
        *,
        enabled: Optional[bool] = None,
        event: Optional[str] = None,
        limit: Optional[int] = None,
        sort: Optional[str] = None,
        order: Optional[str] = None,
        cursor: Optional[str] = None,
        offset: Optional[int] = None,
    ) -> "Paginator[Webhook]":
        """Every endpoint of the tenant."""
        params = compact(enabled=enabled, event=event)
        params.update(_paging(limit, cursor, offset, sort, order))
        return Paginator(self._t, "/webhooks", params, Webhook.from_dict)

    def get(self, webhook_id: str) -> Webhook:
        """One endpoint."""
        return Webhook.from_dict(self._t.request("GET", f"/webhooks/{_seg(webhook_id)}").data)

    def update(
        self,
        webhook_id: str,
        *,
        url: Optional[str] = None,
        events: Optional[Sequence[str]] = None,
        description: Optional[str] = None,
        enabled: Optional[bool] = None,
    ) -> Webhook:
        """Change the fields given."""
        body = compact(
            url=url, events=list(events) if events is not None else None, description=description, enabled=enabled
        )
        return Webhook.from_dict(self._t.request("PATCH", f"/webhooks/{_seg(webhook_id)}", body=body).data)

    def delete(self, webhook_id: str) -> Deleted:
        """Delete an endpoint; its pending deliveries are dropped."""
        return Deleted.from_dict(self._t.request("DELETE", f"/webhooks/{_seg(webhook_id)}").data)

    def rotate_secret(self, webhook_id: str, *, grace_period_seconds: Optional[int] = None) -> Webhook:
        """Issue a new signing secret (``.secret``, once); within the grace both signatures are sent."""
        body = compact(grace_period_seconds=grace_period_seconds)
        path = f"/webhooks/{_seg(webhook_id)}/rotate-secret"
        return Webhook.from_dict(self._t.request("POST", path, body=body).data)

    def test(self, webhook_id: str) -> WebhookTest:
        """Send a ``webhook.test`` event to the endpoint now."""
        return WebhookTest.from_dict(self._t.request("POST", f"/webhooks/{_seg(webhook_id)}/test").data)

    def deliveries(
        self,
        webhook_id: str,
        *,
        status: Optional[str] = None,
        event_type: Optional[str] = None,
        limit: Optional[int] = None,
        sort: Optional[str] = None,
        order: Optional[str] = None,
        cursor: Optional[str] = None,
        offset: Optional[int] = None,
    ) -> "Paginator[WebhookDelivery]":
        """The endpoint's deliveries; ``status`` is pending, succeeded, retrying or failed."""
        params = compact(status=status, event_type=event_type)
        params.update(_paging(limit, cursor, offset, sort, order))
        return Paginator(self._t, f"/webhooks/{_seg(webhook_id)}/deliveries", params, WebhookDelivery.from_dict)

    def retry_delivery(self, webhook_id: str, delivery_id: str) -> WebhookDelivery:
        """Attempt a delivery again now."""
        path = f"/webhooks/{_seg(webhook_id)}/deliveries/{_seg(delivery_id)}/retry"
        return WebhookDelivery.from_dict(self._t.request("POST", path).data)

    def event_types(self) -> List[EventType]:
        """The event types an endpoint can subscribe to."""
        data = self._t.request("GET", "/webhooks/event-types").data or []
        return [EventType.from_dict(x) for x in data if x is not None]


class AuditService(_Service):
    """The audit trail (``/admin/audit-logs``)."""

    def list(
        self,
        *,
        actor_id: Optional[str] = None,
        actor_type: Optional[str] = None,
        action: Optional[str] = None,
        resource_type: Optional[str] = None,
        resource_id: Optional[str] = None,
        outcome: Optional[str] = None,
        since: Optional[Time] = None,
        until: Optional[Time] = None,
        limit: Optional[int] = None,
        sort: Optional[str] = None,
        order: Optional[str] = None,
        cursor: Optional[str] = None,
        offset: Optional[int] = None,
    ) -> "Paginator[AuditLog]":
        """Entries, newest first; ``outcome`` is success, failure or denied."""
        params = compact(
            actor_id=actor_id,
            actor_type=actor_type,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            outcome=outcome,
            since=since,
            until=until,
        )
        params.update(_paging(limit, cursor, offset, sort, order))
        return Paginator(self._t, "/admin/audit-logs", params, AuditLog.from_dict)

    def export(
        self,
        *,
        actor_id: Optional[str] = None,
        actor_type: Optional[str] = None,
        action: Optional[str] = None,
        resource_type: Optional[str] = None,
        resource_id: Optional[str] = None,
        outcome: Optional[str] = None,
        since: Optional[Time] = None,
        until: Optional[Time] = None,
    ) -> Iterator[AuditLog]:
        """The whole trail, oldest first, streamed without paging (NDJSON), entry by entry."""
        params = compact(
            actor_id=actor_id,
            actor_type=actor_type,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            outcome=outcome,
            since=since,
            until=until,
        )
        return (AuditLog.from_dict(x) for x in iter_ndjson(self._t, "/admin/audit-logs/export", params))

    def export_csv(
        self,
        *,
        actor_id: Optional[str] = None,
        actor_type: Optional[str] = None,
        action: Optional[str] = None,
        resource_type: Optional[str] = None,
        resource_id: Optional[str] = None,
        outcome: Optional[str] = None,
        since: Optional[Time] = None,
        until: Optional[Time] = None,
    ) -> Iterator[str]:
        """The whole trail as RFC 4180 CSV, streamed: the header row, then a row per entry.

        Yields lines with their endings: ``out.writelines(cv.audit.export_csv())``
        saves it; ``csv.reader(cv.audit.export_csv())`` parses it.
        """
        params = compact(
            actor_id=actor_id,
            actor_type=actor_type,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            outcome=outcome,
            since=since,
            until=until,
        )
        return iter_text(self._t, "/admin/audit-logs/export", params, "text/csv")


class TenantsService(_Service):
    """Tenants (``/admin/tenants``)."""

    def list(
        self,
        *,
        status: Optional[str] = None,
        plan: Optional[str] = None,
        limit: Optional[int] = None,
        sort: Optional[str] = None,
        order: Optional[str] = None,
        cursor: Optional[str] = None,
        offset: Optional[int] = None,
    ) -> "Paginator[Tenant]":
        """Every tenant (platform admins only)."""
        params = compact(status=status, plan=plan)
        params.update(_paging(limit, cursor, offset, sort, order))
        return Paginator(self._t, "/admin/tenants", params, Tenant.from_dict)

    def get(self, tenant_id: str) -> Tenant:
        """One tenant (your own, or any for a platform admin)."""
        return Tenant.from_dict(self._t.request("GET", f"/admin/tenants/{_seg(tenant_id)}").data)

    def update(
        self,
        tenant_id: str,
        *,
        name: Optional[str] = None,
        plan: Optional[str] = None,
        status: Optional[str] = None,
        settings: Optional[Mapping[str, Any]] = None,
    ) -> Tenant:
        """Change the fields given; ``settings`` holds ``ip_allowlist`` and ``audit_retention_days``."""
        body = compact(name=name, plan=plan, status=status, settings=dict(settings) if settings is not None else None)
        return Tenant.from_dict(self._t.request("PATCH", f"/admin/tenants/{_seg(tenant_id)}", body=body).data)

    def delete(self, tenant_id: str) -> Deleted:
        """Delete a tenant: its keys, clients, tokens and credentials stop working at once."""
        return Deleted.from_dict(self._t.request("DELETE", f"/admin/tenants/{_seg(tenant_id)}").data)

    def stats(self, tenant_id: str) -> Stats:
        """Counts by kind and status, requests and last activity of a tenant."""
        return Stats.from_dict(self._t.request("GET", f"/admin/tenants/{_seg(tenant_id)}/stats").data)


class AdminService(_Service):
    """Operations: health, jobs, DEK rotation, usage and dashboard figures (``/admin``)."""

    def health(self) -> Health:
        """The server's health in detail (scope ``tenant:read``)."""
        return Health.from_dict(self._t.request("GET", "/admin/health").data)

    def dashboard_stats(self) -> Stats:
        """The tenant's dashboard figures."""
        return Stats.from_dict(self._t.request("GET", "/admin/dashboard/stats").data)

    def usage_summary(self) -> UsageSummary:
        """Requests by principal and day."""
        return UsageSummary.from_dict(self._t.request("GET", "/admin/usage/summary").data)

    def feature_status(self) -> Features:
        """Which features the server has on."""
        return Features.from_dict(self._t.request("GET", "/admin/features/status").data)

    def rotate_dek(self, *, tenant_id: Optional[str] = None) -> DEKRotation:
        """Start a data-encryption-key rotation; credentials are re-encrypted in the background."""
        body = compact(tenant_id=tenant_id)
        return DEKRotation.from_dict(self._t.request("POST", "/admin/dek/rotate", body=body).data)

    def trigger_job(self, job_name: str, *, args: Optional[Mapping[str, Any]] = None) -> TriggeredJob:
        """Queue a background job now: dek_rotation, expire_api_keys, audit_retention, purge_deleted_tenants."""
        body = compact(job_name=job_name, args=dict(args) if args is not None else None)
        return TriggeredJob.from_dict(self._t.request("POST", "/admin/jobs/trigger", body=body).data)

    def job_stats(self, job_name: str) -> JobStats:
        """Counts of a job's runs by state."""
        return JobStats.from_dict(self._t.request("GET", f"/admin/jobs/{_seg(job_name)}/stats").data)


class SSOService(_Service):
    """The tenant's single sign-on over OpenID Connect (``/admin/sso``)."""

    def config(self) -> SSOConfig:
        """The configuration, without its client secret; NOT_FOUND when none is set."""
        return SSOConfig.from_dict(self._t.request("GET", "/admin/sso").data)

    def update_config(
        self,
        issuer: str,
        client_id: str,
        *,
        client_secret: Optional[str] = None,
        allowed_domains: Optional[Sequence[str]] = None,
        default_role: Optional[str] = None,
        enabled: Optional[bool] = None,
    ) -> SSOConfig:
        """Set the identity provider (``issuer``), the client, the e-mail domains allowed and new users' role."""
        body = compact(
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            allowed_domains=list(allowed_domains) if allowed_domains is not None else None,
            default_role=default_role,
            enabled=enabled,
        )
        return SSOConfig.from_dict(self._t.request("PUT", "/admin/sso", body=body).data)
