"""api_keys.stream(): the key stream (Server-Sent Events) against a live server."""

import hashlib
import queue
import socket
import threading
import time
import unittest
from typing import Any, Callable

import support

from credvault import KeyStream, KeyStreamEvent


class Follower:
    """Reads a KeyStream on a thread, handing its events over a queue."""

    def __init__(self, stream: KeyStream) -> None:
        self.stream = stream
        self.events: "queue.Queue[Any]" = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for ev in self.stream:
                self.events.put(ev)
        except Exception as e:  # noqa: BLE001 - handed to the test
            self.events.put(e)

    def next(self, timeout: float = 10) -> KeyStreamEvent:
        ev = self.events.get(timeout=timeout)
        if isinstance(ev, Exception):
            raise ev
        return ev

    def until(self, match: Callable[[KeyStreamEvent], bool], timeout: float = 10) -> KeyStreamEvent:
        """The next event that matches (others, such as another key's upsert, are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next(max(0.01, deadline - time.monotonic()))
            if match(ev):
                return ev

    def close(self) -> None:
        self.stream.close()
        self.thread.join(timeout=5)


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()

    def setUp(self) -> None:
        self.srv.require(self, "streamAPIKeys")
        self.tenant = self.srv.new_tenant("stream")
        self.cv = self.tenant.client

    def test_snapshot_then_changes_then_resume(self) -> None:
        f = Follower(self.cv.api_keys.stream())
        try:
            snap = f.next()
            self.assertEqual(snap.type, "snapshot")
            self.assertTrue(snap.id)
            by_id = {k.id: k for k in snap.keys}
            self.assertEqual(by_id[self.tenant.key_id].hash, sha256(self.tenant.key))

            key = self.cv.api_keys.create("streamed", scopes=["api_keys:read"])
            up = f.until(lambda ev: ev.type == "upsert" and ev.key.id == key.id)
            self.assertEqual(up.key.hash, sha256(key.key))
            self.assertEqual(up.key.scopes, ["api_keys:read"])

            self.cv.api_keys.revoke(key.id)
            gone = f.until(lambda ev: ev.type == "remove")
            self.assertEqual(gone.removed_id, key.id)
            self.assertEqual(f.stream.last_event_id, gone.id)
        finally:
            f.close()

        # Resuming after the upsert replays what followed it, without a new snapshot.
        g = Follower(self.cv.api_keys.stream(last_event_id=up.id))
        try:
            first = g.next()
            self.assertNotEqual(first.type, "snapshot")
            if not (first.type == "remove" and first.removed_id == key.id):
                g.until(lambda ev: ev.type == "remove" and ev.removed_id == key.id)
        finally:
            g.close()

    def test_reconnects_after_a_drop_and_resumes(self) -> None:
        stream = self.cv.api_keys.stream()
        f = Follower(stream)
        try:
            self.assertEqual(f.next().type, "snapshot")
            before = self.cv.api_keys.create("before-drop")
            f.until(lambda ev: ev.type == "upsert" and ev.key.id == before.id)
            # Cut the connection under the stream, as a proxy or a network would.
            stream._resp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
            after = self.cv.api_keys.create("after-drop")
            ev = f.until(lambda ev: ev.type == "snapshot" or (ev.type == "upsert" and ev.key.id == after.id))
            self.assertEqual((ev.type, ev.key.id), ("upsert", after.id), "resumed with Last-Event-ID, no snapshot")
        finally:
            f.close()

    def test_needs_the_scope(self) -> None:
        from credvault import CredVaultError

        other = self.cv.api_keys.create("no-read", scopes=["credentials:read"])
        with self.assertRaises(CredVaultError) as ctx:
            next(iter(self.cv.with_api_key(other.key).api_keys.stream()))
        self.assertEqual((ctx.exception.status, ctx.exception.code), (403, "FORBIDDEN"))


if __name__ == "__main__":
    unittest.main()
