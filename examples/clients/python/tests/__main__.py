"""`python3 -m tests [--counts-file PATH]`: run the whole suite, verbosely, from any directory.

Skipped tests count as failures: the conformance kit's suites fail loudly,
never skip. With --counts-file, writes "passed failed" there for test.sh.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import unittest

TESTS_DIR = pathlib.Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests")
    parser.add_argument("--counts-file", type=pathlib.Path)
    parser.add_argument("pattern", nargs="?", default="test_*.py", help="test module glob (default: all)")
    args = parser.parse_args()
    suite = unittest.defaultTestLoader.discover(
        str(TESTS_DIR), pattern=args.pattern, top_level_dir=str(TESTS_DIR.parent)
    )
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.skipped) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed
    if args.counts_file is not None:
        args.counts_file.write_text(f"{passed} {failed}\n")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
