"""Errors raised by the SDK."""

from typing import Any, Dict, Mapping, Optional


class CredVaultError(Exception):
    """An error answered by the CredVault API, or a failure to reach it.

    Attributes:
        status: the HTTP status (0 when no answer was received).
        code: the API's error code, e.g. ``NOT_FOUND``, ``VALIDATION_ERROR``,
            ``RATE_LIMIT_EXCEEDED``; ``CONNECTION_ERROR`` when the server could
            not be reached, ``INVALID_RESPONSE`` when its answer was not the
            documented JSON envelope.
        message: the API's human-readable message.
        details: the API's ``error.details`` (e.g. ``{"field": "name",
            "reason": "required"}``); an empty dict when there are none.
        request_id: the request's id (``meta.request_id`` / ``X-Request-ID``),
            to quote when reporting a problem.
        headers: the response headers, when there was a response.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Optional[Mapping[str, Any]] = None,
        request_id: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details: Dict[str, Any] = dict(details or {})
        self.request_id = request_id
        self.headers: Dict[str, str] = dict(headers or {})

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds the server asked to wait before retrying (429 and 503), if any."""
        value = self.details.get("retry_after")
        if value is None:
            value = next((v for k, v in self.headers.items() if k.lower() == "retry-after"), None)
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.message}"
        if self.request_id:
            text += f" (request {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"CredVaultError(status={self.status!r}, code={self.code!r}, message={self.message!r}, "
            f"details={self.details!r}, request_id={self.request_id!r})"
        )


class WebhookVerificationError(ValueError):
    """A webhook delivery whose signature or timestamp does not check out.

    Answer such a request with 400 (or 401) and do not act on its body.
    """
