"""The README examples run as written against the live server (its URL and a real key
substituted for localhost:8080 and "cvk_…")."""

import contextlib
import io
import os
import re
import unittest
from typing import Any, Dict

import support
from test_webhooks import Receiver


def python_blocks(path: str, start: str = "", end: str = "") -> list:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if start:
        text = text[text.index(start) :]
    if end:  # the first of the end markers (after the start line)
        cuts = [i for i in (text.find(e, len(start)) for e in end.split("|")) if i >= 0]
        text = text[: min(cuts)] if cuts else text
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


class ReadmeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()

    def run_example(self, code: str, extra: Dict[str, Any]) -> None:
        tenant = self.srv.new_tenant("readme")
        code = code.replace("http://localhost:8080", self.srv.url).replace('"cvk_…"', repr(tenant.key))
        scope: Dict[str, Any] = {"__name__": "readme_example", **extra}
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exec(compile(code, "<README example>", "exec"), scope)  # noqa: S102 - our own docs
        self.assertIn("404 NOT_FOUND", out.getvalue())

    def test_sdk_readme_first_call(self) -> None:
        blocks = python_blocks(os.path.join(support.SDK_ROOT, "README.md"), "## First call", "## The client")
        self.assertEqual(len(blocks), 1)
        self.run_example(blocks[0], {})

    def test_repository_readme_section(self) -> None:
        readme = os.path.join(support.REPO_ROOT, "README.md")
        blocks = python_blocks(readme, "### Python SDK", "\n## |\n### ")  # up to the next heading
        self.assertEqual(len(blocks), 1, "README.md's Python SDK section has one Python example")
        # verify_webhook in the example checks a real delivery.
        receiver = Receiver()
        try:
            tenant = self.srv.new_tenant("readme-hook")
            hook = tenant.client.webhooks.create(receiver.url, ["webhook.test"])
            tenant.client.webhooks.test(hook.id)
            headers, body = receiver.next("webhook.test")
        finally:
            receiver.close()
        self.run_example(blocks[0], {"WEBHOOK_SECRET": hook.secret, "raw_body": body, "headers": headers})


if __name__ == "__main__":
    unittest.main()
