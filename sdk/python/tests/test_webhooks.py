"""Webhooks: endpoints through the SDK, and verify_webhook on real deliveries from the server
to a local http.server receiver."""

import json
import queue
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Tuple

import support

from credvault import CredVaultError, Webhook, WebhookVerificationError, sign_webhook, verify_webhook


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records what it is sent and answers 204."""

    def __init__(self) -> None:
        received: "queue.Queue[Tuple[Any, bytes]]" = queue.Queue()
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.put((self.headers, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def next(self, event_type: str, timeout: float = 30) -> Tuple[Any, bytes]:
        """The next delivery of event_type (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event_type} delivery within {timeout} s")
            headers, body = self.received.get(timeout=remaining)
            if json.loads(body).get("type") == event_type:
                return headers, body

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class WebhooksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.tenant = cls.srv.new_tenant("hooks")
        cls.cv = cls.tenant.client
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.receiver.close()

    def test_endpoint_crud(self) -> None:
        hook = self.cv.webhooks.create(self.receiver.url, ["credential.created"], description="crud")
        self.assertIsInstance(hook, Webhook)
        self.assertTrue(hook.secret.startswith("whsec_"))
        self.assertTrue(hook.enabled)
        got = self.cv.webhooks.get(hook.id)
        self.assertIsNone(got.secret)
        self.assertEqual(got.events, ["credential.created"])
        updated = self.cv.webhooks.update(hook.id, enabled=False, events=["credential.created", "credential.deleted"])
        self.assertFalse(updated.enabled)
        self.assertIn(hook.id, [w.id for w in self.cv.webhooks.list(enabled=False)])
        self.assertNotIn(hook.id, [w.id for w in self.cv.webhooks.list(enabled=True)])
        self.assertIn(hook.id, [w.id for w in self.cv.webhooks.list(event="credential.deleted")])
        types = {t.type for t in self.cv.webhooks.event_types()}
        self.assertTrue({"api_key.created", "api_key.revoked", "webhook.test"} <= types)
        self.assertTrue(self.cv.webhooks.delete(hook.id).deleted)
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.webhooks.get(hook.id)
        self.assertEqual(ctx.exception.code, "NOT_FOUND")

    def test_a_real_delivery_verifies(self) -> None:
        hook = self.cv.webhooks.create(self.receiver.url, ["webhook.test", "api_key.created"])
        try:
            test = self.cv.webhooks.test(hook.id)
            self.assertTrue(test.event_id and test.delivery_id)
            headers, body = self.receiver.next("webhook.test")
            self.assertEqual(headers["webhook-id"], test.event_id)

            event = verify_webhook(hook.secret, body, headers)  # http.client.HTTPMessage
            self.assertEqual(event["type"], "webhook.test")
            self.assertEqual(event["tenant_id"], self.tenant.tenant_id)
            plain: Dict[str, str] = {k.upper(): v for k, v in headers.items()}
            self.assertEqual(verify_webhook(hook.secret, body.decode(), plain), event, "any header case, str body")

            # An event from a change: the key created reaches the endpoint, signed.
            key = self.cv.api_keys.create("announced")
            headers, body = self.receiver.next("api_key.created")
            event = verify_webhook(hook.secret, body, headers)
            self.assertEqual(event["data"]["id"], key.id)
            self.assertNotIn("key", event["data"], "no secret in an event")

            # The delivery is recorded as succeeded; retry sends it again.
            deadline = time.monotonic() + 10
            while True:
                deliveries = {d.id: d for d in self.cv.webhooks.deliveries(hook.id, event_type="webhook.test")}
                if deliveries.get(test.delivery_id) and deliveries[test.delivery_id].status == "succeeded":
                    break
                self.assertLess(time.monotonic(), deadline, "the test delivery never succeeded")
                time.sleep(0.2)
            retried = self.cv.webhooks.retry_delivery(hook.id, test.delivery_id)
            self.assertEqual(retried.id, test.delivery_id)
            headers, body = self.receiver.next("webhook.test")
            self.assertEqual(headers["webhook-id"], test.event_id, "the same event id on a retry")
            verify_webhook(hook.secret, body, headers)
        finally:
            self.cv.webhooks.delete(hook.id)

    def test_forged_and_replayed_deliveries_are_refused(self) -> None:
        hook = self.cv.webhooks.create(self.receiver.url, ["webhook.test"])
        try:
            self.cv.webhooks.test(hook.id)
            headers, body = self.receiver.next("webhook.test")
            h = {k.lower(): v for k, v in headers.items()}
            with self.assertRaises(WebhookVerificationError):
                verify_webhook(hook.secret, body.replace(b"webhook.test", b"webhook.tesT"), h)
            other = self.cv.webhooks.create(self.receiver.url, ["webhook.test"], enabled=False)
            with self.assertRaises(WebhookVerificationError):
                verify_webhook(other.secret, body, h)
            self.cv.webhooks.delete(other.id)
            ts = int(h["webhook-timestamp"])
            with self.assertRaises(WebhookVerificationError):
                verify_webhook(hook.secret, body, h, now=ts + 301)  # replayed 5 min later
            with self.assertRaises(WebhookVerificationError):
                verify_webhook(hook.secret, body, h, now=ts - 301)  # from the future
            verify_webhook(hook.secret, body, h, now=ts + 299)
            with self.assertRaises(WebhookVerificationError):
                verify_webhook(hook.secret, body, {k: v for k, v in h.items() if k.lower() != "webhook-signature"})
            with self.assertRaises(WebhookVerificationError):
                # A timestamp moved forward invalidates the signature, which covers it.
                verify_webhook(hook.secret, body, {**h, "webhook-timestamp": str(ts + 1)})
        finally:
            self.cv.webhooks.delete(hook.id)

    def test_rotation_grace_sends_both_signatures(self) -> None:
        hook = self.cv.webhooks.create(self.receiver.url, ["webhook.test"])
        try:
            rotated = self.cv.webhooks.rotate_secret(hook.id, grace_period_seconds=600)
            self.assertNotEqual(rotated.secret, hook.secret)
            self.cv.webhooks.test(hook.id)
            headers, body = self.receiver.next("webhook.test")
            self.assertEqual(len(headers["webhook-signature"].split()), 2)
            verify_webhook(rotated.secret, body, headers)
            verify_webhook(hook.secret, body, headers)
        finally:
            self.cv.webhooks.delete(hook.id)

    def test_sign_webhook_matches_the_server(self) -> None:
        hook = self.cv.webhooks.create(self.receiver.url, ["webhook.test"])
        try:
            self.cv.webhooks.test(hook.id)
            headers, body = self.receiver.next("webhook.test")
            sig = sign_webhook(hook.secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
            self.assertEqual(sig, headers["webhook-signature"])
        finally:
            self.cv.webhooks.delete(hook.id)


if __name__ == "__main__":
    unittest.main()
