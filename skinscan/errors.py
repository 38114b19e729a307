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


_CLIPPED = re.compile(r"ran off the photo: clipped to \d+,\d+,\d+,\d+")  # segment.box_on_photo's words


def for_reader(text):
    """A pipeline message as the app shows it on its own: without its command-line advice
    (:func:`without_cli_flags`), a clipped box told in words instead of its pixel numbers (the page shows
    the box), and starting with a capital letter, as a sentence does (the pipeline's messages start in
    lower case because the CLI prints them after "warning: ")."""
    text = _CLIPPED.sub("ran off the photo: only its part on the photo was measured", without_cli_flags(text))
    return text[:1].upper() + text[1:]
