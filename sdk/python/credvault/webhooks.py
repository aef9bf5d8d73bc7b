"""Verifying webhook deliveries (the Standard Webhooks scheme CredVault signs with)."""

import base64
import binascii
import hashlib
import hmac
import json
import time
from email.message import Message
from typing import Any, Dict, Mapping, Optional, Union

from .errors import WebhookVerificationError

#: How far a delivery's ``webhook-timestamp`` may be from now, in seconds (5 minutes).
DEFAULT_TOLERANCE = 300


def _get(headers: Any, name: str) -> Optional[str]:
    """A header from a dict (any case), an http.client/email Message or a WSGI-style mapping."""
    getter = getattr(headers, "get", None)
    if getter is not None:
        value = getter(name)
        if value is None:
            value = getter(name.title())
        if value is not None:
            return str(value)
    items = headers.items() if hasattr(headers, "items") else headers
    lower = name.lower()
    for k, v in items:
        if str(k).lower() == lower:
            return str(v)
    return None


def _key(secret: Union[str, bytes]) -> bytes:
    if isinstance(secret, bytes):
        return secret
    encoded = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError("webhook secret is not whsec_ followed by base64") from e


def sign_webhook(secret: Union[str, bytes], msg_id: str, timestamp: int, body: Union[bytes, str]) -> str:
    """The ``v1,<base64>`` signature of a delivery (as the server computes it)."""
    payload = body.encode("utf-8") if isinstance(body, str) else body
    signed = f"{msg_id}.{timestamp}.".encode("utf-8") + payload
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_webhook(
    secret: Union[str, bytes],
    body: Union[bytes, str],
    headers: Union[Mapping[str, str], Message],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> Dict[str, Any]:
    """Check a webhook delivery and return its parsed JSON event.

    ``secret`` is the endpoint's ``whsec_…`` secret; ``body`` the raw request body
    exactly as received (bytes, before any JSON parsing); ``headers`` the request
    headers (a dict in any case, or ``http.client.HTTPMessage``). The
    ``webhook-signature`` header may carry several space-separated signatures
    (two during a secret's grace period): one matching is enough. Signatures
    are compared in constant time; a ``webhook-timestamp`` more than
    ``tolerance`` seconds (default 5 minutes) from now is refused, so a captured
    delivery cannot be replayed later.

    Raises WebhookVerificationError when the delivery is not authentic.
    """
    msg_id = _get(headers, "webhook-id")
    timestamp = _get(headers, "webhook-timestamp")
    signatures = _get(headers, "webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        ts = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a Unix time") from None
    current = time.time() if now is None else now
    if ts < current - tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if ts > current + tolerance:
        raise WebhookVerificationError("webhook-timestamp is in the future")

    payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    expected = sign_webhook(secret, msg_id, ts, payload).split(",", 1)[1].encode("ascii")
    matched = False
    for candidate in signatures.split():
        version, _, sig = candidate.partition(",")
        if version != "v1" or not sig:
            continue
        if hmac.compare_digest(expected, sig.encode("ascii", "replace")):
            matched = True  # keep comparing: the time taken does not depend on which matched
    if not matched:
        raise WebhookVerificationError("no webhook-signature matches")
    try:
        event = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise WebhookVerificationError("the body is not JSON") from e
    if not isinstance(event, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return event
