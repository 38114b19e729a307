"""The one exception type for bad input: the CLI turns it into a one-line message and exit code 2."""


class InputError(ValueError):
    """Input the pipeline cannot measure: its message is one line a practitioner can act on."""
