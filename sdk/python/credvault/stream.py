"""Reading streamed answers: Server-Sent Events (the key stream) and NDJSON (the audit export)."""

import json
import socket
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from ._http import Transport
from .errors import CredVaultError
from .models import KeyStreamEvent


def iter_lines(resp: Any) -> Iterator[str]:
    """The lines of an open response, decoded, without their line ending."""
    while True:
        line = resp.readline()
        if not line:
            return
        yield line.decode("utf-8").rstrip("\r\n")


def iter_sse(lines: Iterator[str]) -> Iterator[Tuple[str, str, str, Optional[int]]]:
    """Server-Sent Events as (id, event, data, retry-ms) per the WHATWG parsing rules.

    Comment lines (heartbeats) are skipped; an event without ``data`` is not dispatched,
    but a ``retry:`` field alone is reported with empty data.
    """
    event_id, event_type, data, retry = "", "", [], None  # type: Tuple[str, str, List[str], Optional[int]]
    for line in lines:
        if line == "":
            if data or retry is not None:
                yield event_id, event_type or "message", "\n".join(data), retry
            event_type, data, retry = "", [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            event_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)


class KeyStream:
    """``GET /api-keys/stream``: the tenant's usable keys, then their changes, as they happen.

    Iterate it for :class:`~credvault.KeyStreamEvent` s: first a ``snapshot``, then
    ``upsert`` and ``remove`` events. When the connection drops, it reconnects
    (after the server's ``retry`` delay) sending ``Last-Event-ID``, so the server
    resumes after the last event seen, or sends a new snapshot when it cannot.
    Use it as a context manager, or call :meth:`close`, to end it.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        last_event_id: Optional[str] = None,
        reconnect: bool = True,
        read_timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._t = transport
        self.last_event_id = last_event_id
        self.reconnect = reconnect
        self.read_timeout = read_timeout
        self._retry = 1.0
        self._resp: Any = None
        self._closed = False
        self._sleep = sleep

    def __enter__(self) -> "KeyStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream and close its connection."""
        self._closed = True
        resp = self._resp
        if resp is not None:
            # Closing the response does not wake a thread blocked reading it (until
            # the next heartbeat); shutting its socket down does.
            sock = getattr(getattr(getattr(resp, "fp", None), "raw", None), "_sock", None)
            if isinstance(sock, socket.socket):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            try:
                resp.close()
            except (OSError, ValueError):
                pass

    def __iter__(self) -> Iterator[KeyStreamEvent]:
        while not self._closed:
            headers: Dict[str, str] = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
            if self.last_event_id:
                headers["Last-Event-ID"] = self.last_event_id
            self._resp = self._t.open("GET", "/api-keys/stream", headers=headers, timeout=self.read_timeout)
            try:
                for event_id, event_type, data, retry in iter_sse(iter_lines(self._resp)):
                    if retry is not None:
                        self._retry = retry / 1000.0
                    if not data:
                        continue
                    if event_id:
                        self.last_event_id = event_id
                    try:
                        parsed = json.loads(data)
                    except ValueError:
                        parsed = data
                    yield KeyStreamEvent.parse(event_id, event_type, parsed)
            except (OSError, socket.timeout, ValueError) as e:
                if self._closed:
                    return
                if not self.reconnect:
                    raise CredVaultError(0, "CONNECTION_ERROR", f"the key stream broke: {e}") from e
            finally:
                resp, self._resp = self._resp, None
                if resp is not None:
                    resp.close()
            if self._closed or not self.reconnect:
                return
            self._sleep(self._retry)


def iter_ndjson(transport: Transport, path: str, params: Mapping[str, Any]) -> Iterator[Dict[str, Any]]:
    """The objects of an NDJSON answer, one per line, as they arrive."""
    resp = transport.open("GET", path, params=params, headers={"Accept": "application/x-ndjson"})
    try:
        for line in iter_lines(resp):
            if line.strip():
                yield json.loads(line)
    finally:
        resp.close()


def iter_text(transport: Transport, path: str, params: Mapping[str, Any], accept: str) -> Iterator[str]:
    """The lines of a text answer (e.g. CSV), as they arrive, with their line endings."""
    resp = transport.open("GET", path, params=params, headers={"Accept": accept})
    try:
        while True:
            line = resp.readline()
            if not line:
                return
            yield line.decode("utf-8")
    finally:
        resp.close()
