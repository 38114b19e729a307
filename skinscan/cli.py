"""The ``skinscan`` command. Prints ``to_dict()`` as JSON with ``--json``; exit 2 and one line on
stderr for bad input."""

import argparse
import json
import os
import sys

from . import card, pipeline
from .constants import CHART_TYPES
from .errors import InputError
from .io import save_png


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="skinscan", description="Colour-calibrated skin measurements from photos with a colour card."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    calibrate = commands.add_parser("calibrate", help="find the colour card and fit the colour correction")
    calibrate.add_argument("photo", help="photo file (JPEG, PNG, TIFF, WebP; HEIC with the extra)")
    calibrate.add_argument(
        "--corners", help="X1,Y1,...,X4,Y4: the outer corners of the card's patch area, any order"
    )
    calibrate.add_argument("--chart", choices=CHART_TYPES, default="classic24", help="which card (sets the scale)")
    calibrate.add_argument("--json", action="store_true", help="print the result as one JSON object")
    calibrate.add_argument("--out", help="folder to write corrected.png and card.png into")
    return parser


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _ArgumentError(message)


def _summary_calibrate(result):
    lines = []
    card_info = result.card_dict()
    if card_info["found"]:
        residual = card_info["residual_de00"]
        lines.append(
            f"card: {card_info['chart']} found ({result.reading.method}), "
            f"{result.quality.details['usable_patches']} of 24 patches used, "
            f"residual {residual['mean']:.2f} mean / {residual['max']:.2f} max CIEDE2000 (leave-one-out), "
            f"{card_info['px_per_mm']:.2f} px/mm"
        )
    else:
        lines.append("card: not found")
    reasons = "; ".join(result.quality.reasons)
    lines.append(f"quality: {result.quality.verdict}" + (f" ({reasons})" if reasons else ""))
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def _write_calibrate_images(result, out):
    os.makedirs(out, exist_ok=True)
    save_png(os.path.join(out, "corrected.png"), result.corrected_image())
    if result.reading is not None:
        save_png(os.path.join(out, "card.png"), card.draw_reading(result.photo.rgb, result.reading))
    else:
        save_png(os.path.join(out, "card.png"), result.photo.rgb)


def run(argv):
    """Run the command line; returns the exit code."""
    parser = _build_parser()
    parser.__class__ = _Parser
    for action in parser._subparsers._group_actions:  # subcommand parsers report errors the same way
        for sub in action.choices.values():
            sub.__class__ = _Parser
    try:
        args = parser.parse_args(argv)
    except _ArgumentError as error:
        print(f"skinscan: {error}", file=sys.stderr)
        return 2
    try:
        if args.command == "calibrate":
            corners = card.parse_corners(args.corners) if args.corners else None
            result = pipeline.calibrate(args.photo, corners=corners, chart=args.chart)
            if args.out:
                _write_calibrate_images(result, args.out)
            summary = _summary_calibrate
        else:  # pragma: no cover - argparse rejects unknown commands
            return 2
    except InputError as error:
        print(f"skinscan: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(summary(result))
    return 0


def main():
    """Console entry point."""
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
