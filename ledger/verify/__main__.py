"""``python -m ledger.verify BUNDLE_DIR``: verify an export bundle or a release package without a
database (the manifest's ``format`` says which).

Exit status 0 when the bundle is intact, 1 when verification fails (printing
``first bad entry: N`` when an entry is to blame), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._bundle import PackageReport, PackageVerificationError, verify_bundle
from ._merkle import VerificationError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bundle verifier command line; return the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ledger.verify",
        description="Verify an alpr-ledger export bundle or release package (no database needed).",
    )
    parser.add_argument("bundle", help="bundle or release package directory")
    parser.add_argument("--vkey", help="the log's published verifier key; the bundle's own key must equal it")
    args = parser.parse_args(argv)
    try:
        report = verify_bundle(args.bundle, vkey=args.vkey)
    except VerificationError as exc:
        print(f"FAILED: {exc}")
        if isinstance(exc, PackageVerificationError) and exc.record is not None:
            print(f"bad record: {exc.record}")
        if exc.index is not None:
            print(f"first bad entry: {exc.index}")
        if exc.checkpoint is not None:
            print(f"checkpoint: {exc.checkpoint}")
        return 1
    print(f"OK: {args.bundle}")
    if isinstance(report, PackageReport):
        print(f"release package of disclosure {report.disclosure_id}")
        print(f"origin: {report.origin}")
        print(f"records: {len(report.records)}, each included in the log at checkpoint size {report.size}")
        print(f"root: {report.root.hex()}")
        print(f"signed by: {report.vkey}")
        if args.vkey is None:
            print("compare that key with the one the log publishes (or pass --vkey)")
        return 0
    print(f"origin: {report.origin}")
    print(f"entries: {report.size}")
    print(f"root: {report.root.hex()}")
    print(f"checkpoints verified: {report.checkpoints_checked} (latest size {report.latest.size})")
    if report.unsigned_entries:
        print(f"entries after the latest checkpoint (chain-checked only): {report.unsigned_entries}")
    print(f"signed by: {report.vkey}")
    if args.vkey is None:
        print("compare that key with the one the log publishes (or pass --vkey)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
