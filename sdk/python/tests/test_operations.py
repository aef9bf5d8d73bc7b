"""Every operation of the live OpenAPI document has an SDK method (or is listed as left out)."""

import unittest

import support

from credvault import CredVault
from credvault.operations import OMITTED, OPERATIONS


class OperationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        srv = support.server()
        cls.ops = srv.operations()
        cls.cv = CredVault(srv.url)

    def test_every_operation_has_a_method(self) -> None:
        missing = {op: route for op, route in self.ops.items() if op not in OPERATIONS and op not in OMITTED}
        self.assertEqual(
            missing,
            {},
            "operations of /api/v1/openapi.json with no Python SDK method: add one and map it in "
            "credvault/operations.py (or list it in OMITTED with the reason)",
        )

    def test_every_mapped_method_exists(self) -> None:
        for op, dotted in OPERATIONS.items():
            target = self.cv
            for part in dotted.split("."):
                self.assertTrue(hasattr(target, part), f"{op}: CredVault has no {dotted}")
                target = getattr(target, part)
            self.assertTrue(callable(target), f"{op}: {dotted} is not callable")
            self.assertTrue(target.__doc__, f"{op}: {dotted} has no docstring")

    def test_table_is_consistent(self) -> None:
        self.assertEqual(set(OPERATIONS) & set(OMITTED), set())
        for op, reason in OMITTED.items():
            self.assertTrue(reason.strip(), f"{op} is left out without a reason")

    def test_no_stale_entries(self) -> None:
        # An SDK may be newer than the server it talks to: entries this server lacks are
        # reported, not failed (a renamed operation fails test_every_operation_has_a_method).
        stale = sorted((set(OPERATIONS) | set(OMITTED)) - set(self.ops))
        if stale:
            self.skipTest(f"this server has no {', '.join(stale)}")


if __name__ == "__main__":
    unittest.main()
