"""The trustworthy record: entries, hash chain, Merkle tree, checkpoints and proofs.

This package's ``__init__`` imports nothing so that ``ledger.verify`` stays importable with
only the standard library and ``cryptography`` installed.
"""
