"""Errors caused by the user's input: the CLI prints them as one line, never a traceback."""


class UserError(ValueError):
    """Bad input from the user (a file, a flag, a config value); the message says what to fix."""


class Unanswered(UserError):
    """A refusal logged but never answered (a wrong token: no oracle, no reflection)."""
