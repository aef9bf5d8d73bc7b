"""Errors arrive as CredVaultError with status, code, message, details and request id."""

import unittest

import support

from credvault import CredVault, CredVaultError

MISSING = "00000000-0000-0000-0000-000000000000"


class ErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.tenant = cls.srv.new_tenant("errors")
        cls.cv = cls.tenant.client

    def test_not_found(self) -> None:
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.api_keys.get(MISSING)
        err = ctx.exception
        self.assertEqual(err.status, 404)
        self.assertEqual(err.code, "NOT_FOUND")
        self.assertTrue(err.message)
        self.assertEqual(err.details, {})
        self.assertTrue(err.request_id)
        self.assertEqual(err.headers.get("X-Request-Id"), err.request_id)
        self.assertIn("NOT_FOUND", str(err))
        self.assertIn(err.request_id, str(err))
        for call in (
            lambda: self.cv.credentials.get("no-such-integration"),
            lambda: self.cv.webhooks.get(MISSING),
            lambda: self.cv.oauth_clients.get("no-such-client"),
        ):
            with self.assertRaises(CredVaultError) as ctx:
                call()
            self.assertEqual((ctx.exception.status, ctx.exception.code), (404, "NOT_FOUND"))

    def test_validation_error_names_the_field(self) -> None:
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.api_keys.create("")
        err = ctx.exception
        self.assertEqual((err.status, err.code), (422, "VALIDATION_ERROR"))
        self.assertEqual(err.details.get("field"), "name")

    def test_bad_sort_field(self) -> None:
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.api_keys.list(sort="nonsense").first_page()
        self.assertEqual(ctx.exception.code, "VALIDATION_ERROR")

    def test_unauthorized(self) -> None:
        bad = CredVault(self.srv.url, api_key="cvk_" + "A" * 43)
        with self.assertRaises(CredVaultError) as ctx:
            bad.auth.me()
        err = ctx.exception
        self.assertEqual((err.status, err.code), (401, "UNAUTHORIZED"))
        self.assertEqual(err.details.get("reason"), "invalid")
        with self.assertRaises(CredVaultError) as ctx:
            CredVault(self.srv.url).api_keys.list().first_page()
        self.assertEqual(ctx.exception.details.get("reason"), "missing")

    def test_forbidden_scope(self) -> None:
        key = self.cv.api_keys.create("read-only", scopes=["api_keys:read"])
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.with_api_key(key.key).api_keys.create("nope")
        self.assertEqual((ctx.exception.status, ctx.exception.code), (403, "FORBIDDEN"))

    def test_connection_error(self) -> None:
        down = CredVault(f"http://127.0.0.1:{support.free_port()}", api_key="cvk_x", timeout=5)
        with self.assertRaises(CredVaultError) as ctx:
            down.health()
        self.assertEqual((ctx.exception.status, ctx.exception.code), (0, "CONNECTION_ERROR"))

    def test_base_url_forms(self) -> None:
        for url in (self.srv.url, self.srv.url + "/", self.srv.url + "/api/v1", self.srv.url + "/api/v1/"):
            self.assertEqual(CredVault(url).health().status, "ok", url)
        with self.assertRaises(ValueError):
            CredVault("localhost:8080")
        with self.assertRaises(ValueError):
            CredVault(self.srv.url, api_key="a", token="b")

    def test_generic_request(self) -> None:
        resp = self.cv.request("GET", "/api-keys", params={"limit": 1})
        self.assertEqual(resp.status, 200)
        self.assertEqual(len(resp.data), 1)
        self.assertEqual(resp.meta["pagination"]["limit"], 1)
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.request("GET", "/no-such-route")
        self.assertEqual(ctx.exception.code, "NOT_FOUND")


if __name__ == "__main__":
    unittest.main()
