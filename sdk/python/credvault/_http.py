"""The HTTP transport: the envelope, errors, retries with backoff, and paging."""

import email.utils
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import (
    Any,
    Callable,
    Dict,
    Generic,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
)

from ._version import __version__
from .errors import CredVaultError
from .models import Pagination, format_time

T = TypeVar("T")

#: Statuses retried with backoff: the server refused the request without acting on it.
RETRY_STATUSES = frozenset({429, 503})


@dataclass
class Response:
    """A decoded envelope: ``data``, ``meta`` and the HTTP status and headers."""

    status: int
    data: Any
    meta: Dict[str, Any] = field(default_factory=dict)
    message: str = ""
    headers: Dict[str, str] = field(default_factory=dict)

    @property
    def request_id(self) -> Optional[str]:
        return self.meta.get("request_id") or _header(self.headers, "X-Request-Id")


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    lower = name.lower()
    for k, v in headers.items():
        if k.lower() == lower:
            return v
    return None


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value)
    return str(value)


def compact(**fields: Any) -> Dict[str, Any]:
    """The keyword arguments that are not None, times formatted: a request body or query."""
    out: Dict[str, Any] = {}
    for k, v in fields.items():
        if v is None:
            continue
        out[k] = format_time(v) if isinstance(v, datetime) else v
    return out


class Transport:
    """Sends requests to one CredVault server and decodes its envelope.

    Thread-safe: it holds no per-request state.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: Optional[str] = None,
        token: Optional[str] = None,
        tenant_id: Optional[str] = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        user_agent: Optional[str] = None,
        opener: Optional[urllib.request.OpenerDirector] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if api_key and token:
            raise ValueError("give api_key or token, not both")
        root = base_url.rstrip("/")
        if not root.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if root.endswith("/api/v1"):
            root = root[: -len("/api/v1")]
        self.base_url = root
        self.api_key = api_key
        self.token = token
        self.tenant_id = tenant_id
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.user_agent = user_agent or f"credvault-python/{__version__}"
        # No redirects are followed: a redirect of an authenticated call is an error to see.
        self._opener = opener or urllib.request.build_opener(_NoRedirect)
        self._sleep = sleep

    # -- requests ---------------------------------------------------------------------------

    def url(self, path: str, params: Optional[Mapping[str, Any]] = None) -> str:
        """The absolute URL of an API path (``/api-keys``) with its query."""
        url = self.base_url + "/api/v1" + path
        if params:
            pairs: List[Tuple[str, str]] = []
            for k, v in params.items():
                if v is None:
                    continue
                if isinstance(v, (list, tuple)):
                    pairs.extend((k, _query_value(x)) for x in v)
                else:
                    pairs.append((k, _query_value(v)))
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        body: Optional[Any] = None,
        authenticate: bool = True,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Response:
        """Send a request, retrying 429 and 503 answers; return the decoded envelope.

        Raises CredVaultError for an error answer, a connection failure or an
        answer that is not the API's JSON envelope.
        """
        url = self.url(path, params)
        data = json.dumps(body, separators=(",", ":")).encode("utf-8") if body is not None else None
        hdrs = self._headers(data, authenticate, headers)

        attempt = 0
        while True:
            try:
                return self._send(method, url, data, hdrs)
            except CredVaultError as err:
                if err.status not in RETRY_STATUSES or attempt >= self.max_retries:
                    raise
                wait = self._wait(err, attempt)
                if wait is None:
                    raise
                attempt += 1
                self._sleep(wait)

    def open(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """Open a streaming answer (NDJSON, CSV, Server-Sent Events) and return the open
        response to read from; the caller closes it. Errors and retries as request()."""
        url = self.url(path, params)
        hdrs = self._headers(None, True, headers)
        attempt = 0
        while True:
            req = urllib.request.Request(url, method=method, headers=hdrs)
            try:
                return self._opener.open(req, timeout=timeout if timeout is not None else self.timeout)
            except urllib.error.HTTPError as e:
                err = _http_error(e)
                wait = self._wait(err, attempt) if err.status in RETRY_STATUSES and attempt < self.max_retries else None
                if wait is None:
                    raise err from None
                attempt += 1
                self._sleep(wait)
            except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
                reason = getattr(e, "reason", e)
                raise CredVaultError(0, "CONNECTION_ERROR", f"cannot reach {self.base_url}: {reason}") from e

    def _headers(
        self, body: Optional[bytes], authenticate: bool, extra: Optional[Mapping[str, str]]
    ) -> Dict[str, str]:
        hdrs = {"Accept": "application/json", "User-Agent": self.user_agent}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        if authenticate:
            if self.api_key:
                hdrs["X-API-Key"] = self.api_key
            elif self.token:
                hdrs["Authorization"] = "Bearer " + self.token
        if self.tenant_id:
            hdrs["x-tenantid"] = self.tenant_id
        if extra:
            hdrs.update(extra)
        return hdrs

    def _wait(self, err: CredVaultError, attempt: int) -> Optional[float]:
        """How long to wait before retry number attempt+1; None to give up."""
        backoff = min(self.max_backoff, self.backoff * float(1 << min(attempt, 30)))
        backoff = backoff / 2 + random.uniform(0, backoff / 2)  # jitter
        after = _retry_after(_header(err.headers, "Retry-After"))
        if after is None:
            return backoff
        if after > self.max_backoff:
            return None  # longer than we are willing to wait: the caller decides
        return max(after, 0.0)

    def _send(self, method: str, url: str, data: Optional[bytes], headers: Dict[str, str]) -> Response:
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                status = resp.status
                resp_headers = dict(resp.headers.items())
                raw = resp.read()
        except urllib.error.HTTPError as e:
            status = e.code
            resp_headers = dict(e.headers.items()) if e.headers else {}
            try:
                raw = e.read()
            finally:
                e.close()
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise CredVaultError(0, "CONNECTION_ERROR", f"cannot reach {self.base_url}: {reason}") from e
        return _decode(status, resp_headers, raw)


def _decode(status: int, headers: Dict[str, str], raw: bytes) -> Response:
    request_id = _header(headers, "X-Request-Id")
    doc: Any = None
    try:
        doc = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        pass
    if not isinstance(doc, dict):
        snippet = raw[:200].decode("utf-8", "replace").strip()
        code = "INVALID_RESPONSE" if 200 <= status < 300 else f"HTTP_{status}"
        raise CredVaultError(
            status, code, snippet or f"HTTP {status} with no JSON body", None, request_id, headers
        )
    meta: Dict[str, Any] = doc["meta"] if isinstance(doc.get("meta"), dict) else {}
    request_id = meta.get("request_id") or request_id
    if status >= 400 or doc.get("success") is False:
        err: Dict[str, Any] = doc["error"] if isinstance(doc.get("error"), dict) else {}
        raise CredVaultError(
            status,
            str(err.get("code") or f"HTTP_{status}"),
            str(err.get("message") or doc.get("message") or f"HTTP {status}"),
            err.get("details") if isinstance(err.get("details"), dict) else None,
            request_id,
            headers,
        )
    return Response(status, doc.get("data"), meta, str(doc.get("message") or ""), headers)


def _http_error(e: urllib.error.HTTPError) -> CredVaultError:
    """The CredVaultError of an error answer to a streaming request."""
    try:
        raw = e.read()
    finally:
        e.close()
    headers = dict(e.headers.items()) if e.headers else {}
    try:
        _decode(e.code, headers, raw)
    except CredVaultError as err:
        return err
    return CredVaultError(e.code, f"HTTP_{e.code}", f"HTTP {e.code}", None, _header(headers, "X-Request-Id"), headers)


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Retry-After as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - time.time()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


# -- paging ----------------------------------------------------------------------------------


@dataclass
class Page(Generic[T]):
    """One page of a list: its ``items`` and ``meta.pagination``."""

    items: List[T]
    pagination: Pagination
    request_id: Optional[str] = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class Paginator(Generic[T]):
    """A list over every page: iterate it to get each item, fetching pages as needed.

    ``for key in cv.api_keys.list(): ...`` walks the whole list, following
    ``meta.pagination.next_cursor`` (the server's keyset cursor) page after page.
    Each iteration starts again from the first page. ``pages()`` yields whole
    pages; ``first_page()`` fetches one; ``to_list()`` collects every item.
    """

    def __init__(
        self,
        transport: Transport,
        path: str,
        params: Mapping[str, Any],
        decode: Callable[[Dict[str, Any]], T],
    ) -> None:
        self._transport = transport
        self._path = path
        self._params = {k: v for k, v in params.items() if v is not None}
        self._decode = decode

    def first_page(self) -> Page[T]:
        """The first page only (size ``limit``, the server's default 50 when not given)."""
        return self._fetch(self._params)

    def pages(self) -> Iterator[Page[T]]:
        """Every page, in order."""
        params = dict(self._params)
        while True:
            page = self._fetch(params)
            yield page
            p = page.pagination
            if not p.has_next or not page.items:
                return
            if p.next_cursor:
                params = {k: v for k, v in self._params.items() if k not in ("offset", "page", "per_page")}
                params["cursor"] = p.next_cursor
            else:  # no cursor offered: step by offset
                params = {k: v for k, v in self._params.items() if k not in ("cursor", "page", "per_page")}
                params["offset"] = p.offset + len(page.items)
                params.setdefault("limit", p.limit or len(page.items))

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def to_list(self) -> List[T]:
        """Every item of every page, in one list."""
        return list(self)

    def _fetch(self, params: Mapping[str, Any]) -> Page[T]:
        resp = self._transport.request("GET", self._path, params=params)
        items = [self._decode(x) for x in (resp.data or [])]
        pagination = Pagination.from_dict(resp.meta.get("pagination") or {})
        return Page(items, pagination, resp.request_id)
