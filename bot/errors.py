"""Errors a user can fix: the command tree turns them into ephemeral replies."""


class UserError(Exception):
    """Bad input or an empty result; str(exc) tells the user what to do."""
