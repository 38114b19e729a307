"""Re-run the command examples in README.md and put their real output under them.

A README example is a fenced block holding one ``.venv/bin/skinscan ...`` command, followed directly by
a fenced block with its output. Run from the repository root: ``.venv/bin/python scripts/update_readme_examples.py``.
"""

import re
import shlex
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLE = re.compile(r"```\n(\.venv/bin/skinscan [^\n]*)\n```\n```\n(.*?)```", re.S)


def run(command):
    words = [word for word in shlex.split(command) if not word.startswith("[")]
    expanded = subprocess.run(["bash", "-c", " ".join(words)], capture_output=True, text=True, cwd=README.parent)
    return (expanded.stdout or expanded.stderr).rstrip("\n") + "\n"


def main():
    text = README.read_text()
    updated = EXAMPLE.sub(lambda m: f"```\n{m.group(1)}\n```\n```\n{run(m.group(1))}```", text)
    README.write_text(updated)


if __name__ == "__main__":
    main()
