"""Retries on 429 honouring Retry-After, against a key the live server rate-limits."""

import time
import unittest
from typing import List

import support

from credvault import CredVault, CredVaultError


class RetryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.tenant = cls.srv.new_tenant("retry")

    def limited_key(self) -> str:
        key = self.tenant.client.api_keys.create(
            "limited", scopes=["api_keys:read"], rate_limit={"requests": 2, "window_seconds": 2}
        )
        return key.key

    def test_429_without_retries_is_an_error(self) -> None:
        cv = CredVault(self.srv.url, api_key=self.limited_key(), max_retries=0)
        with self.assertRaises(CredVaultError) as ctx:
            for _ in range(5):
                cv.auth.me()
        err = ctx.exception
        self.assertEqual((err.status, err.code), (429, "RATE_LIMIT_EXCEEDED"))
        self.assertGreaterEqual(err.retry_after, 1)
        self.assertEqual(err.details.get("retry_after"), int(err.headers["Retry-After"]))

    def test_429_is_retried_after_retry_after(self) -> None:
        waits: List[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

        cv = CredVault(self.srv.url, api_key=self.limited_key(), max_retries=5, sleep=sleep)
        for _ in range(5):  # more than the key's 2 requests per 2 s: some wait, none fails
            self.assertEqual(cv.auth.me().principal_type, "api_key")
        self.assertTrue(waits, "the server refused some requests and the client waited")
        self.assertTrue(all(w >= 1 for w in waits), f"waited as Retry-After said: {waits}")


if __name__ == "__main__":
    unittest.main()
