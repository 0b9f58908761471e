"""Errors of the command line."""


class UsageError(Exception):
    """Bad input on the command line; `newsbot` exits 2 with the message."""
