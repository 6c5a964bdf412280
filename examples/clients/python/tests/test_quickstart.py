"""Runs quickstart.py against a real server, as a user would."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import unittest

from .support import CLIENT_DIR, ServerTestCase


class Quickstart(ServerTestCase):
    def run_quickstart(self, address: str) -> str:
        done = subprocess.run(
            [sys.executable, str(CLIENT_DIR / "quickstart.py"), address],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def test_quickstart_over_tcp(self) -> None:
        out = self.run_quickstart(self.server.tcp)
        for line in (
            "get: b'hello'",
            "missing: None",
            "persistent: True",
            "batch tail: [b'name 7', True, False]",
            "refused locally: True",
            "pooled: b'yes'",
            "connections created: 1",
            "async: [b'name 0', b'name 1', b'name 2']",
            "add: True",
            "add again: False",
            "replace missing: False",
            "incr: 1 11",
            "append: 2 4",
            "not an integer: b'a,b,'",
            "scanned: 99 [b'user:0', b'user:1']",
            "paged: 99",
            "after flush: None",
        ):
            self.assertIn(line + "\n", out)

    def test_quickstart_over_unix_socket(self) -> None:
        out = self.run_quickstart(self.server.unix)
        self.assertIn("pooled: b'yes'\n", out)
        self.assertIn("add: True\n", out, "the last run's flush left nothing behind")

    def test_quickstart_reports_an_unavailable_server(self) -> None:
        done = subprocess.run(
            [sys.executable, str(CLIENT_DIR / "quickstart.py"), "unix:/nonexistent/blink.sock"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        self.assertEqual(done.returncode, 1)
        self.assertIn("server unavailable", done.stderr)


class ReadmeSnippets(unittest.TestCase):
    """Every snippet of README.md is the quickstart.py region it names, verbatim."""

    def test_readme_shows_the_tested_code(self) -> None:
        readme = (CLIENT_DIR / "README.md").read_text()
        quickstart = (CLIENT_DIR / "quickstart.py").read_text()
        snippets = re.findall(r"<!-- quickstart.py: (\w+) -->\n```python\n(.*?)\n```", readme, re.S)
        self.assertEqual(len(snippets), quickstart.count("# ANCHOR: "))
        for name, snippet in snippets:
            with self.subTest(name):
                region = re.search(
                    rf"^[ \t]*# ANCHOR: {name}\n(.*?)^[ \t]*# ANCHOR_END: {name}\n", quickstart, re.S | re.M
                )
                assert region is not None
                self.assertEqual(textwrap.dedent(region[1]).rstrip("\n"), snippet)
