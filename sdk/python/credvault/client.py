"""The CredVault client."""

from typing import Any, Callable, Dict, Mapping, Optional

from ._http import Response, Transport
from .models import Health
from .services import (
    AdminService,
    APIKeysService,
    AuditService,
    AuthService,
    CredentialsService,
    OAuthClientsService,
    ServiceAccountsService,
    SSOService,
    TenantsService,
    UsersService,
    WebhooksService,
)


class CredVault:
    """A client of one CredVault server.

    >>> cv = CredVault(base_url="http://localhost:8080", api_key="cvk_…")
    >>> for key in cv.api_keys.list():
    ...     print(key.name, key.status)
    >>> stripe = cv.credentials.get("stripe").credentials[0].data

    Args:
        base_url: the server's root URL (``/api/v1`` is added; giving it is fine too).
        api_key: an API key (``cvk_…``), sent as ``X-API-Key``.
        token: a bearer token instead: a user session's access token or an
            OAuth access token.
        tenant_id: sent as ``x-tenantid``; a platform admin picks a tenant with it.
        timeout: seconds to wait for each answer.
        max_retries: how many times a request answered 429 or 503 is retried,
            after the ``Retry-After`` the server asks for, or exponential backoff
            with jitter when it names none (0 turns retries off).
        backoff: the first backoff in seconds (doubling each retry).
        max_backoff: the longest wait between retries; a ``Retry-After`` longer
            than this is not waited for: the error is raised.
        user_agent: the User-Agent header (default ``credvault-python/<version>``).
        sleep: the function that waits between retries (``time.sleep``).

    Every method raises :class:`~credvault.CredVaultError` when the request
    fails. The client is thread-safe.
    """

    def __init__(
        self,
        base_url: str = "http://localhost:8080",
        *,
        api_key: Optional[str] = None,
        token: Optional[str] = None,
        tenant_id: Optional[str] = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        user_agent: Optional[str] = None,
        sleep: Optional[Callable[[float], None]] = None,
    ) -> None:
        kwargs: Dict[str, Any] = {}
        if sleep is not None:
            kwargs["sleep"] = sleep
        self._transport = Transport(
            base_url,
            api_key=api_key,
            token=token,
            tenant_id=tenant_id,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            user_agent=user_agent,
            **kwargs,
        )
        t = self._transport
        #: Sessions and the current principal.
        self.auth = AuthService(t)
        #: API keys: create, list, get, rotate, revoke, validate.
        self.api_keys = APIKeysService(t)
        #: OAuth 2.0 clients.
        self.oauth_clients = OAuthClientsService(t)
        #: The credentials vault.
        self.credentials = CredentialsService(t)
        #: The tenant's users.
        self.users = UsersService(t)
        #: Service accounts.
        self.service_accounts = ServiceAccountsService(t)
        #: Webhook endpoints and deliveries.
        self.webhooks = WebhooksService(t)
        #: The audit trail.
        self.audit = AuditService(t)
        #: Tenants.
        self.tenants = TenantsService(t)
        #: Health, jobs, DEK rotation, usage.
        self.admin = AdminService(t)
        #: Single sign-on configuration.
        self.sso = SSOService(t)

    @property
    def base_url(self) -> str:
        """The server's root URL."""
        return self._transport.base_url

    def with_token(self, token: str) -> "CredVault":
        """A client of the same server and settings authenticating with ``token``."""
        return self._copy(api_key=None, token=token)

    def with_api_key(self, api_key: str) -> "CredVault":
        """A client of the same server and settings authenticating with ``api_key``."""
        return self._copy(api_key=api_key, token=None)

    def with_tenant(self, tenant_id: Optional[str]) -> "CredVault":
        """The same client sending ``x-tenantid: tenant_id`` (a platform admin acting in that tenant)."""
        t = self._transport
        return self._copy(api_key=t.api_key, token=t.token, tenant_id=tenant_id)

    def _copy(self, *, tenant_id: Any = ..., **auth: Optional[str]) -> "CredVault":
        t = self._transport
        return CredVault(
            t.base_url,
            tenant_id=t.tenant_id if tenant_id is ... else tenant_id,
            timeout=t.timeout,
            max_retries=t.max_retries,
            backoff=t.backoff,
            max_backoff=t.max_backoff,
            user_agent=t.user_agent,
            sleep=t._sleep,
            **auth,
        )

    def health(self) -> Health:
        """Liveness and readiness (``GET /api/v1/health``, open); a 503 raises CredVaultError."""
        return Health.from_dict(self._transport.request("GET", "/health", authenticate=False).data)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        body: Optional[Any] = None,
    ) -> Response:
        """Call any ``/api/v1`` path (e.g. one newer than this SDK) with the client's credentials and retries.

        Returns the decoded envelope (``.data``, ``.meta``, ``.status``, ``.headers``).
        """
        return self._transport.request(method.upper(), path, params=params, body=body)

    def __repr__(self) -> str:
        return f"CredVault(base_url={self.base_url!r})"
