"""The ``spikelens`` command line: serve, simulate, info, report.

Every error is one line on stderr, ``spikelens <command>: error: <message>``, and a non-zero
exit status, the same for all subcommands:

- 2: a usage error, the command line itself is wrong (a missing or unknown argument or
  option, an unknown simulator or simulator parameter); the line ends with a pointer to
  ``--help``;
- 1: anything else (unreadable or invalid data, a bad parameter value, a bad config file, a
  failed analysis, and any unexpected exception, named by its type);
- 130: interrupted (Ctrl-C).

No traceback reaches the user; set ``SPIKELENS_DEBUG=1`` to get it (the exception is
re-raised). Nothing is half-written.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import sys

#: Set this environment variable to 1 to see tracebacks instead of one-line errors.
DEBUG_ENV = "SPIKELENS_DEBUG"

EPILOG = (f"Errors are one line on stderr; exit status 2 for usage errors, 1 for all "
          f"others. Set {DEBUG_ENV}=1 to see the full traceback of an error.")


class CliError(Exception):
    """A user error reported as one line (exit status 1)."""


class UsageError(CliError):
    """The command line is wrong (exit status 2, with a pointer to ``--help``)."""


def _one_line(text):
    return " ".join(str(text).split())


def _debug():
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``spikelens <cmd>: error: ... (see spikelens <cmd>
    --help)`` on stderr and exit status 2, instead of a usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)} "
                     f"(see {self.prog} --help)\n")


def _parse_value(text, default):
    """Convert a command-line string to the type of the parameter's default."""
    if isinstance(default, bool):
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true/false, got {text!r}")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, str):
        return text
    try:  # None, tuples, lists: a Python literal, else the plain string
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _simulator_kwargs(func, pairs):
    """Turn ``key=value`` / ``--key value`` words into keyword arguments of ``func``."""
    sig = inspect.signature(func)
    names = {n.replace("_", "-"): n for n in sig.parameters}
    names.update({n: n for n in sig.parameters})
    kwargs, words = {}, list(pairs)
    while words:
        word = words.pop(0)
        if word.startswith("--"):
            key = word[2:]
            if "=" in key:
                key, value = key.split("=", 1)
            elif words:
                value = words.pop(0)
            else:
                raise UsageError(f"parameter {key}: missing value")
        elif "=" in word:
            key, value = word.split("=", 1)
        else:
            raise UsageError(f"expected key=value, got {word!r}")
        open_kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        if key not in names and open_kwargs:  # e.g. a variant's options: a Python literal
            kwargs[key.replace("-", "_")] = _parse_value(value, None)
            continue
        if key not in names:
            allowed = ", ".join(n for n in sig.parameters if n != "seed") + ", seed"
            raise UsageError(f"unknown parameter {key!r} (parameters: {allowed})")
        name = names[key]
        default = sig.parameters[name].default
        try:
            kwargs[name] = _parse_value(value, default)
        except ValueError as exc:
            raise CliError(f"parameter {name}: {exc}")
    return kwargs


def cmd_simulate(args):
    from analysis import io, simulate

    if args.kind not in simulate.SIMULATORS:
        raise UsageError(f"unknown simulator {args.kind!r} "
                       f"(choose from {', '.join(simulate.SIMULATORS)})")
    func = simulate.SIMULATORS[args.kind]
    kwargs = _simulator_kwargs(func, args.params)
    data = func(**kwargs)
    io.save(data, args.output)
    print(f"wrote {args.output}: {data.n_units} units, {data.n_spikes} spikes, "
          f"{data.duration:g} s")


def cmd_info(args):
    from analysis import io

    data = io.load(args.file)
    summary = data.summary()
    width = max(len(k) for k in summary)
    print(args.file)
    for key, value in summary.items():
        if isinstance(value, float):
            value = f"{value:.6g}"
        print(f"  {key:<{width}}  {value}")


def cmd_serve(args):
    from dashboard.app import serve

    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        raise CliError(f"--data-dir: {args.data_dir} is not a folder")
    if args.max_upload_mb < 1:
        raise CliError(f"--max-upload-mb: must be at least 1, got {args.max_upload_mb}")
    if args.workers < 1:
        raise CliError(f"--workers: must be at least 1, got {args.workers}")
    if args.open is not None and not os.path.isfile(args.open):
        raise CliError(f"--open: {args.open} is not a file")
    if not args.keep_work_days >= 0:
        raise CliError(f"--keep-work-days: must be >= 0, got {args.keep_work_days}")
    if not args.max_run_minutes > 0:
        raise CliError(f"--max-run-minutes: must be > 0, got {args.max_run_minutes}")
    serve(port=args.port, address=args.address, show=args.show,
          num_threads=args.num_threads, max_upload_mb=args.max_upload_mb,
          data_dir=args.data_dir, workers={"analysis": args.workers},
          allow_hosts=args.allow_host, max_run_minutes=args.max_run_minutes,
          work_dir=args.work_dir, keep_work_days=args.keep_work_days,
          open_work=args.open)


def cmd_report(args):
    """``spikelens report``: one self-contained HTML report per input (see docs/reports.md).

    Returns the exit status: 0, or 1 when the settings or any input failed (each failure one
    line on stderr; reports of the other inputs are still written, none half-written).
    """
    import pathlib

    from . import report

    chosen = report.method_keys() if args.method == "all" else [args.method]
    try:  # settings first: a typo fails before any slow work
        params = report.merge(report.read_config(args.config) if args.config else {},
                              report.parse_overrides(args.param))
        saved = report.load_results(args.results)
        if saved and len(args.inputs) > 1:
            raise report.ReportError("--results: saved results belong to one recording; "
                                     "give one INPUT")
        for method in chosen:
            report.make_analysis(method, params.get(method),
                                 where=args.config or "--param")
        out = pathlib.Path(args.output)
        if len(args.inputs) > 1 or out.is_dir():
            out.mkdir(parents=True, exist_ok=True)
            names, targets = set(), []
            for spec in args.inputs:
                name = report.output_name(spec)
                stem, k = name[:-5], 2
                while name in names:
                    name, k = f"{stem}-{k}.html", k + 1
                names.add(name)
                targets.append(out / name)
        else:
            if not out.parent.is_dir():
                raise report.ReportError(f"{out}: folder {out.parent} does not exist")
            targets = [out]
    except report.ReportError as exc:
        print(f"spikelens report: error: {_one_line(exc)}", file=sys.stderr)
        return 1

    status = 0
    for spec, target in zip(args.inputs, targets):
        try:
            data, source = report.load_input(spec)
            sections = report.run_analyses(data, chosen, params, progress=_bars(spec),
                                           results=saved, source=source)
            text = report.report_html(data, source, sections)
            report.write_report(text, target)
        except Exception as exc:  # one line per failed input, never a traceback
            message = _error_message(exc)
            if spec not in message:
                message = f"{spec}: {message}"
            if _debug():
                raise
            print(f"spikelens report: error: {message}", file=sys.stderr)
            status = 1
            continue
        done = ", ".join(f"{report.method_title(s.method)} " + (
            "sliding windows " if type(s.result).__name__ == "SlidingWindowsResult"
            else "") + (
            "skipped" if s.result is None else "loaded" if s.loaded
            else f"{s.result.elapsed:.1f} s") for s in sections)
        print(f"wrote {target} ({done})")
    return status


def build_parser():
    parser = ArgumentParser(
        prog="spikelens", epilog=EPILOG,
        description="Find structure in massively parallel spike trains.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=ArgumentParser)

    p = sub.add_parser("serve", help="serve the multi-page dashboard", epilog=EPILOG)
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--address", default="localhost",
                   help="interface to bind (default localhost; 0.0.0.0 serves the network)")
    p.add_argument("--num-threads", type=int, default=2,
                   help="threads for callbacks, so long analyses do not block other sessions")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="threads that run analyses, shared by all sessions; each session "
                        "runs one analysis at a time (default 2)")
    p.add_argument("--open", default=None, metavar="FILE",
                   help="a work file (.spikelens, from Save work) that every new session "
                        "opens, its results shown without computing")
    p.add_argument("--work-dir", default=None, metavar="DIR",
                   help="where each session's work (data, results) is kept so that a reload "
                        "restores it (default: a folder in the system's temporary directory)")
    p.add_argument("--keep-work-days", type=float, default=7, metavar="D",
                   help="remove kept work not touched for D days (0: keep nothing)")
    p.add_argument("--max-run-minutes", type=float, default=60, metavar="M",
                   help="stop any single analysis run after M minutes (default 60)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a host name visitors use to reach this server (repeatable); IP "
                        "addresses, localhost and this machine's names are always allowed, "
                        "other Host headers get 403")
    p.add_argument("--show", action="store_true", help="open a browser")
    p.add_argument("--max-upload-mb", type=int, default=1000,
                   help="largest upload in MB (default 1000)")
    p.add_argument("--data-dir", default=None,
                   help="a folder whose spike files every session may open; no other "
                        "server path is readable from the app")
    _add_scheduler_option(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("simulate", help="simulate data with ground truth and save it",
                       description="Parameters as key=value (or --key value), e.g. "
                                   "spikelens simulate sip n_units=100 seed=1 -o sip.npz",
                       epilog=EPILOG)
    p.add_argument("kind", help="poisson, sip, mip, msip, synfire_chain, spot_patterns")
    p.add_argument("params", nargs=argparse.REMAINDER, help="key=value parameters")
    p.add_argument("-o", "--output", required=True, help="file to write (.npz .nix .parquet .csv)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("info", help="print a summary of a spike data file", epilog=EPILOG)
    p.add_argument("file")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser(
        "report", help="run analyses headless and write self-contained HTML reports",
        description="Run the analyses on each INPUT (a file spikelens can load, or demo:NAME "
                    "with NAME one of synfire, sip, pulse, poisson) and write one HTML "
                    "report that opens offline. See docs/reports.md.", epilog=EPILOG)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="data file(s) or demo:NAME")
    from analysis import methods

    keys = [m.key for m in methods.methods()]
    p.add_argument("--method", choices=[*keys, "all"], default="all",
                   help="analysis to run (default all; a method that compares epochs, such "
                        "as spotdis, is skipped on data without epochs unless it is the only "
                        "method)")
    p.add_argument("--config", metavar="FILE",
                   help="TOML or YAML file with sections [asset], [assembly], [spotdis] of "
                        "parameter = value")
    p.add_argument("--param", action="append", default=[], metavar="METHOD.NAME=VALUE",
                   help="override one parameter, e.g. asset.bin_size=0.005 (repeatable)")
    p.add_argument("-o", "--output", required=True,
                   help="report file (.html); with several inputs a folder, one report each")
    p.add_argument("--results", action="append", default=[], metavar="FILE",
                   help="a saved result (analysis.results .npz) to show instead of "
                        "recomputing that method, or a saved sliding-windows result "
                        "(SPOTDis page) shown beside SPOTDis (repeatable; one INPUT)")
    _add_scheduler_option(p)
    p.set_defaults(func=cmd_report)
    parser.commands = dict(sub.choices)  # name -> subparser, for errors named by command
    return parser


def _bars(spec):
    """Progress bars on stderr (tqdm) for each analysis of a report, when it is a terminal;
    the fractions come back from the kernels' blocks (from dask tasks on a cluster too)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    def for_method(method):
        bar = tqdm(total=100, desc=f"{spec} {method}", unit="%", leave=False,
                   file=sys.stderr)

        def update(fraction, message):
            bar.n = round(100 * fraction)
            bar.set_postfix_str(message[:40], refresh=False)
            bar.refresh()
            if fraction >= 1.0:
                bar.close()
        return update
    return for_method


def _add_scheduler_option(p):
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="dask scheduler (e.g. tcp://host:8786) that runs the expensive "
                        "kernels; default $SPIKELENS_SCHEDULER, else this machine. See "
                        "docs/cluster.md")


def _use_scheduler(args):
    """Check ``--scheduler`` answers, then hand it to the analyses through the environment."""
    address = getattr(args, "scheduler", None)
    if address:
        import os

        from analysis.parallel import SCHEDULER_ENV, get_client

        get_client(address)   # ConnectionError (one line, naming the address) if it does not
        os.environ[SCHEDULER_ENV] = address


def _split_output_flag(argv):
    """argparse's REMAINDER swallows ``-o`` after the parameters; pull it out first."""
    argv = list(argv)
    for flag in ("-o", "--output"):
        if flag in argv[1:]:
            k = argv.index(flag, 1)
            if k + 1 < len(argv):
                value = argv[k + 1]
                del argv[k:k + 2]
                argv[1:1] = [flag, value]
    return argv


def main(argv=None):
    """Run the command line; returns the exit status (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if argv and argv[0] == "simulate":
        argv = _split_output_flag(argv)
    try:  # usage errors: one line, exit 2 (ArgumentParser.error); --help: 0
        args, extra = parser.parse_known_args(argv)
        if extra:  # named by the subcommand, whose --help lists its options
            parser.commands[args.command].error(
                f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    prog = f"spikelens {args.command}"
    try:
        _use_scheduler(args)
        status = args.func(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback, unless asked for
        if _debug():
            raise
        return _report_error(prog, exc)
    return status if isinstance(status, int) else 0


def _report_error(prog, exc):
    """Print ``exc`` as one line on stderr; return the exit status (2 usage, else 1)."""
    if isinstance(exc, UsageError):
        print(f"{prog}: error: {_one_line(exc)} (see {prog} --help)", file=sys.stderr)
        return 2
    print(f"{prog}: error: {_error_message(exc)}", file=sys.stderr)
    return 1


def _error_message(exc):
    """``exc`` as one line: its message if it says what is wrong, else its type too."""
    from analysis.errors import SpikeDataError

    # errors whose message says what is wrong (ReportError is a ValueError)
    known = (CliError, SpikeDataError, ValueError, TypeError, OSError)
    message = _one_line(exc)
    if not isinstance(exc, known) or not message:  # unexpected: name the exception type
        # the first public class: numpy's _ArrayMemoryError shows as MemoryError
        kind = next(c.__name__ for c in type(exc).__mro__ if not c.__name__.startswith("_"))
        message = f"{kind}: {message}" if message else kind
        message += f" (set {DEBUG_ENV}=1 for the traceback)"
    return message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
