"""Command line: ``python -m burner_redis serve --unix-socket PATH [--port N] ...`` and
``python -m burner_redis prefect-env [--unix-socket PATH] [--persistence-path F] [--role R]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def _serve(args) -> int:
    from . import Engine

    if args.unix_socket is None and args.port is None:
        print("serve: give --unix-socket PATH and/or --port N", file=sys.stderr)
        return 2
    engine_kwargs = {}
    if args.persistence_path:
        engine_kwargs["persistence_path"] = args.persistence_path
    try:
        engine = Engine(**engine_kwargs)
    except TypeError:
        print("serve: this build has no persistence support", file=sys.stderr)
        return 2
    try:
        server = engine.serve(
            unix_socket=args.unix_socket,
            port=args.port,
            host=args.host,
            password=args.requirepass,
            unixsocketperm=int(args.unixsocketperm, 8),
        )
    except OSError as e:
        print(f"serve: {e}", file=sys.stderr)
        return 1
    where = []
    if server.unix_socket:
        where.append(f"unix://{server.unix_socket}")
    if server.port is not None:
        where.append(f"redis://{args.host}:{server.port}")
    # Handlers first: whoever reads the banner may signal at once.
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print("burner-redis serving on " + ", ".join(where), flush=True)
    while not stop.wait(3600):
        pass
    server.close()
    save = getattr(engine, "save", None)
    if args.persistence_path and save is not None:
        save()
    close = getattr(engine, "close", None)
    if close is not None:
        close()
    return 0


def _prefect_env(args) -> int:
    from .prefect import environment, format_environment

    try:
        env = environment(unix_socket=args.unix_socket, persistence_path=args.persistence_path, role=args.role)
    except ValueError as e:
        print(f"prefect-env: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(format_environment(env))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m burner_redis")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve an engine over RESP until SIGTERM/SIGINT")
    s.add_argument("--unix-socket", help="unix socket path")
    s.add_argument("--port", type=int, help="TCP port (0 picks one)")
    s.add_argument("--host", default="127.0.0.1", help="TCP bind address (non-loopback needs --requirepass)")
    s.add_argument("--requirepass", help="password clients must AUTH with")
    s.add_argument("--unixsocketperm", default="700", help="unix socket mode, octal (default 700)")
    s.add_argument("--persistence-path", help="snapshot/log file to load at start and save at exit")
    p = sub.add_parser(
        "prefect-env",
        help="print the environment that runs a Prefect server's Redis components on burner",
        description='Prints export lines: eval "$(python -m burner_redis prefect-env)"',
    )
    p.add_argument("--unix-socket", help="server: also serve the engine here; client: the engine to reach")
    p.add_argument("--persistence-path", help="server: keep the engine's data in this file")
    p.add_argument(
        "--role",
        choices=("server", "client"),
        default="server",
        help="server: the process owning the engine (default); client: a second process "
        "(e.g. `prefect server services start`) using prefect-redis over --unix-socket",
    )
    args = ap.parse_args(argv)
    if args.cmd == "serve":
        return _serve(args)
    if args.cmd == "prefect-env":
        return _prefect_env(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())


def serve_main() -> int:
    """Entry point of the ``burner-redis-server`` script (``serve`` implied)."""
    return main(["serve", *sys.argv[1:]])
