"""The credentials vault against a live server: store, read, update, delete."""

import unittest

import support

from credvault import Credential, CredVaultError, Integration


class CredentialsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.tenant = cls.srv.new_tenant("creds")
        cls.cv = cls.tenant.client

    def test_store_and_read(self) -> None:
        stored = self.cv.credentials.store(
            "stripe",
            "api_key",
            {"api_key": "sk_live_123", "header_name": "Authorization"},
            name="Stripe live",
            metadata={"env": "prod"},
        )
        self.assertIsInstance(stored, Credential)
        self.assertEqual(stored.integration_id, "stripe")
        self.assertEqual(stored.auth_type, "api_key")
        self.assertEqual(stored.metadata, {"env": "prod"})
        self.assertIsNone(stored.data, "store answers metadata only")
        self.assertNotIn("data", stored.raw)

        got = self.cv.credentials.get("stripe")
        self.assertIsInstance(got, Integration)
        self.assertEqual(got.integration_id, "stripe")
        self.assertEqual(len(got.credentials), 1)
        cred = got.credentials[0]
        self.assertEqual(cred.id, stored.id)
        self.assertEqual(cred.name, "Stripe live")
        self.assertEqual(cred.data, {"api_key": "sk_live_123", "header_name": "Authorization"})

        details = self.cv.credentials.details("stripe")
        self.assertEqual([c.id for c in details.credentials], [stored.id])
        self.assertIsNone(details.credentials[0].data, "details carry no secret")

        listed = self.cv.credentials.list(integration_id="stripe").to_list()
        self.assertEqual([c.id for c in listed], [stored.id])
        self.assertTrue(all(c.data is None for c in self.cv.credentials.list()))

    def test_update_and_delete(self) -> None:
        stored = self.cv.credentials.store("github", "basic_auth", {"username": "bot", "password": "one"})
        updated = self.cv.credentials.update(
            "github", stored.id, name="GitHub bot", data={"username": "bot", "password": "two"}
        )
        self.assertEqual(updated.name, "GitHub bot")
        self.assertEqual(self.cv.credentials.get("github").credentials[0].data["password"], "two")
        self.assertEqual(len(self.cv.credentials.list(auth_type="basic_auth").to_list()), 1)

        deleted = self.cv.credentials.delete("github", stored.id)
        self.assertTrue(deleted.deleted)
        self.assertEqual(deleted.id, stored.id)
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.credentials.get("github")
        self.assertEqual(ctx.exception.status, 404)
        self.assertEqual(ctx.exception.code, "NOT_FOUND")

    def test_missing_field_is_a_validation_error(self) -> None:
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.credentials.store("slack", "bearer_token", {"not_token": "x"})
        err = ctx.exception
        self.assertEqual(err.status, 422)
        self.assertEqual(err.code, "VALIDATION_ERROR")
        self.assertIn("token", err.details.get("field", ""))
        self.assertTrue(err.request_id)

    def test_decrypt_needs_the_scope(self) -> None:
        self.cv.credentials.store("twilio", "bearer_token", {"token": "t0k"})
        reader = self.cv.api_keys.create("reader", scopes=["credentials:read"])
        limited = self.cv.with_api_key(reader.key)
        self.assertEqual(len(limited.credentials.details("twilio").credentials), 1)
        with self.assertRaises(CredVaultError) as ctx:
            limited.credentials.get("twilio")
        self.assertEqual(ctx.exception.status, 403)
        self.assertEqual(ctx.exception.code, "FORBIDDEN")


if __name__ == "__main__":
    unittest.main()
