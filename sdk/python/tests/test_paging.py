"""Iterating over every page: 250 keys in a fresh tenant."""

import unittest
from concurrent.futures import ThreadPoolExecutor

import support

from credvault import Page, Paginator

N = 250


class PagingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        tenant = cls.srv.new_tenant("paging")
        cls.cv = tenant.owner  # a session: the tenant's keys are exactly the ones made here
        cls.cv.api_keys.revoke(tenant.key_id)
        cls.revoked_id = tenant.key_id
        with ThreadPoolExecutor(max_workers=4) as pool:
            created = list(pool.map(lambda i: cls.cv.api_keys.create(f"page-key-{i:03d}").id, range(N - 1)))
        cls.ids = set(created) | {tenant.key_id}

    def test_iterates_every_page(self) -> None:
        keys = self.cv.api_keys.list()
        self.assertIsInstance(keys, Paginator)
        seen = [key.id for key in keys]  # 50 a page by default: 5 requests
        self.assertEqual(len(seen), N)
        self.assertEqual(set(seen), self.ids, "every key once")
        self.assertEqual(len(set(seen)), N, "no key twice")

    def test_pages(self) -> None:
        pages = list(self.cv.api_keys.list(limit=100).pages())
        self.assertEqual([len(p) for p in pages], [100, 100, 50])
        self.assertIsInstance(pages[0], Page)
        self.assertEqual(pages[0].pagination.total, N)
        self.assertTrue(pages[0].pagination.has_next)
        self.assertTrue(pages[0].pagination.next_cursor)
        self.assertFalse(pages[-1].pagination.has_next)
        self.assertIsNone(pages[-1].pagination.next_cursor)
        self.assertEqual({k.id for p in pages for k in p}, self.ids)

    def test_the_largest_page(self) -> None:
        pages = list(self.cv.api_keys.list(limit=200).pages())
        self.assertEqual([len(p) for p in pages], [200, 50])

    def test_order_and_filter_hold_across_pages(self) -> None:
        names = [k.name for k in self.cv.api_keys.list(sort="name", order="asc", limit=40)]
        self.assertEqual(names, sorted(names))
        self.assertEqual(len(names), N)
        self.assertEqual(len(self.cv.api_keys.list(status="active", limit=60).to_list()), N - 1)
        self.assertEqual([k.id for k in self.cv.api_keys.list(status="revoked")], [self.revoked_id])

    def test_first_page_and_restart(self) -> None:
        keys = self.cv.api_keys.list(limit=10)
        first = keys.first_page()
        self.assertEqual(len(first.items), 10)
        self.assertEqual(first.pagination.limit, 10)
        self.assertEqual(first.pagination.total, N)
        self.assertTrue(first.request_id)
        self.assertEqual(len(list(keys)), N)
        self.assertEqual(len(list(keys)), N, "a paginator can be iterated again")


if __name__ == "__main__":
    unittest.main()
