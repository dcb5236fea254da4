"""`python -m xltools` and the `xltools` command.

A Ctrl-C while Python is still loading the program (the command line imports click, pandas and
the form definitions first) ends it quietly with status 130, as a shell expects, instead of a
traceback. The text is written here because nothing else, the message catalogue included, is
loaded yet at that moment."""

import sys


def run() -> None:
    try:
        # inside the try, so that a Ctrl-C while loading ends quietly (not a cost: a behaviour)
        from xltools.cli import main  # noqa: PLC0415
    except KeyboardInterrupt:
        sys.stderr.write("已中断。\n")
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":
    run()
