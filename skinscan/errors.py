"""The one exception type for bad input: the CLI turns it into a one-line message and exit code 2."""

import re

_CLI_FLAG = re.compile(r"\s*\(--[a-z-]+[^()]*\)")  # "(--roi)", "(--landmarks …)"; a flag in a sentence stays


class InputError(ValueError):
    """Input the pipeline cannot measure: its message is one line a practitioner can act on."""


def without_cli_flags(text):
    """A message without its parenthesised command-line advice such as "(--reference-roi)" or
    "(--landmarks)", for readers who do not use the CLI (the app, the exported CSV); a flag that is part
    of a sentence ("--corners takes eight numbers") stays."""
    return _CLI_FLAG.sub("", text).strip()
