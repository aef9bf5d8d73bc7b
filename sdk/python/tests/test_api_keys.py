"""API keys against a live server: create, list, get, validate, rotate, revoke."""

import unittest
from datetime import datetime, timedelta, timezone

import support

from credvault import APIKey, CredVaultError, KeyValidation


class APIKeysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.tenant = cls.srv.new_tenant("keys")
        cls.cv = cls.tenant.client

    def test_create_get_list(self) -> None:
        expires = datetime.now(timezone.utc) + timedelta(days=30)
        key = self.cv.api_keys.create(
            "billing",
            scopes=["api_keys:read", "credentials:read"],
            expires_at=expires,
            rate_limit={"requests": 100, "window_seconds": 60},
        )
        self.assertIsInstance(key, APIKey)
        self.assertTrue(key.key and key.key.startswith("cvk_"))
        self.assertEqual(key.key[4:12], key.prefix)
        self.assertEqual(key.status, "active")
        self.assertEqual(sorted(key.scopes), ["api_keys:read", "credentials:read"])
        self.assertIsInstance(key.created_at, datetime)
        self.assertAlmostEqual(key.expires_at.timestamp(), expires.timestamp(), delta=1)
        self.assertEqual((key.rate_limit.requests, key.rate_limit.window_seconds), (100, 60))
        self.assertEqual(key.tenant_id, self.tenant.tenant_id)

        got = self.cv.api_keys.get(key.id)
        self.assertEqual(got.id, key.id)
        self.assertEqual(got.name, "billing")
        self.assertIsNone(got.key, "the secret is shown once")
        self.assertEqual(got.raw["prefix"], key.prefix)

        ids = [k.id for k in self.cv.api_keys.list()]
        self.assertIn(key.id, ids)
        self.assertIn(self.tenant.key_id, ids)
        active = [k.id for k in self.cv.api_keys.list(status="active", limit=1)]
        self.assertIn(key.id, active)

    def test_the_new_key_authenticates(self) -> None:
        key = self.cv.api_keys.create("me", scopes=["api_keys:read"])
        me = self.cv.with_api_key(key.key).auth.me()
        self.assertEqual(me.principal_type, "api_key")
        self.assertEqual(me.id, key.id)
        self.assertEqual(me.api_key_id, key.id)
        self.assertEqual(me.tenant.id, self.tenant.tenant_id)
        self.assertEqual(me.scopes, ["api_keys:read"])

    def test_validate(self) -> None:
        key = self.cv.api_keys.create("validated", scopes=["api_keys:read"])
        ok = self.cv.api_keys.validate(key.id, key.key)
        self.assertIsInstance(ok, KeyValidation)
        self.assertTrue(ok.valid)
        self.assertEqual(ok.key_id, key.id)
        self.assertEqual(ok.scopes, ["api_keys:read"])
        bad = self.cv.api_keys.validate(key.id, "cvk_" + "x" * 43)
        self.assertFalse(bad.valid)
        self.assertEqual(bad.reason, "invalid")

    def test_rotate(self) -> None:
        key = self.cv.api_keys.create("rotated")
        rotated = self.cv.api_keys.rotate(key.id)
        self.assertEqual(rotated.id, key.id, "same key id")
        self.assertTrue(rotated.key.startswith("cvk_"))
        self.assertNotEqual(rotated.key, key.key)
        self.assertTrue(self.cv.api_keys.validate(key.id, rotated.key).valid)
        self.assertFalse(self.cv.api_keys.validate(key.id, key.key).valid, "no grace: the old secret stops")
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.with_api_key(key.key).auth.me()
        self.assertEqual(ctx.exception.status, 401)
        self.assertEqual(ctx.exception.code, "UNAUTHORIZED")
        self.assertEqual(self.cv.with_api_key(rotated.key).auth.me().id, key.id)

    def test_rotate_with_grace(self) -> None:
        key = self.cv.api_keys.create("graceful")
        rotated = self.cv.api_keys.rotate(key.id, grace_period_seconds=300)
        self.assertTrue(self.cv.api_keys.validate(key.id, key.key).valid, "the old secret works in the grace")
        self.assertTrue(self.cv.api_keys.validate(key.id, rotated.key).valid)

    def test_revoke(self) -> None:
        key = self.cv.api_keys.create("revoked")
        revoked = self.cv.api_keys.revoke(key.id)
        self.assertEqual(revoked.id, key.id)
        self.assertEqual(revoked.status, "revoked")
        self.assertIsNotNone(revoked.revoked_at)
        self.assertEqual(self.cv.api_keys.get(key.id).status, "revoked")
        check = self.cv.api_keys.validate(key.id, key.key)
        self.assertFalse(check.valid)
        self.assertEqual(check.reason, "revoked")
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.with_api_key(key.key).api_keys.list().first_page()
        self.assertEqual(ctx.exception.code, "UNAUTHORIZED")
        self.assertEqual(ctx.exception.details.get("reason"), "revoked")
        self.assertIn(key.id, [k.id for k in self.cv.api_keys.list(status="revoked")])
        self.assertNotIn(key.id, [k.id for k in self.cv.api_keys.list(status="active")])


if __name__ == "__main__":
    unittest.main()
