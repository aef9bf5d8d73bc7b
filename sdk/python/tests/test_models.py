"""Decoding the API's JSON into the dataclasses (no server needed)."""

import unittest
from datetime import datetime, timezone

import support  # noqa: F401 - puts the SDK on sys.path

import credvault
from credvault import APIKey, Integration
from credvault.models import format_time, parse_time
from credvault.stream import iter_sse


class ModelsTest(unittest.TestCase):
    def test_times(self) -> None:
        want = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
        self.assertEqual(parse_time("2026-01-02T03:04:05.123456Z"), want)
        self.assertEqual(parse_time("2026-01-02T03:04:05.123456789Z"), want)
        self.assertEqual(parse_time("2026-01-02T04:04:05.123456+01:00"), want)
        self.assertEqual(parse_time("2026-01-02T03:04:05Z"), want.replace(microsecond=0))
        self.assertEqual(parse_time("2026-01-02T03:04:05.1Z"), want.replace(microsecond=100000))
        self.assertEqual(format_time(want), "2026-01-02T03:04:05.123456Z")
        self.assertEqual(format_time(datetime(2026, 1, 2)), "2026-01-02T00:00:00Z")
        with self.assertRaises(ValueError):
            parse_time("yesterday")

    def test_nested_and_unknown_fields(self) -> None:
        key = APIKey.from_dict(
            {"id": "k", "rate_limit": {"requests": 5, "window_seconds": 1}, "expires_at": None, "new_field": 1}
        )
        self.assertEqual(key.rate_limit.requests, 5)
        self.assertIsNone(key.expires_at)
        self.assertEqual(key.raw["new_field"], 1)
        self.assertEqual(key.to_dict()["new_field"], 1)
        integ = Integration.from_dict({"integration_id": "x", "credentials": [{"id": "c", "data": {"a": 1}}]})
        self.assertEqual(integ.credentials[0].data, {"a": 1})

    def test_sse_parsing(self) -> None:
        lines = iter([
            "retry: 1000", "", ": heartbeat", "", "id: 1", "event: snapshot", 'data: {"keys": []}', "",
            "id: 2", "event: upsert", "data: {\"id\":", "data: \"k\"}", "", "event: ignored-no-data", "",
        ])
        self.assertEqual(
            list(iter_sse(lines)),
            [("", "message", "", 1000), ("1", "snapshot", '{"keys": []}', None), ("2", "upsert", '{"id":\n"k"}', None)],
        )

    def test_exports(self) -> None:
        for name in ("CredVault", "CredVaultError", "verify_webhook", "__version__", "version"):
            self.assertTrue(hasattr(credvault, name), name)
        self.assertRegex(credvault.__version__, r"^\d+\.\d+\.\d+")


if __name__ == "__main__":
    unittest.main()
