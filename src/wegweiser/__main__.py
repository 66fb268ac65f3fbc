"""``python -m wegweiser <command>``: Django's management commands, plus ``serve``.

    python -m wegweiser migrate
    python -m wegweiser demo
    python -m wegweiser audit verify
    python -m wegweiser serve            # uvicorn on $HOST:$PORT (default 127.0.0.1:8000)
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wegweiser.settings")
    if args[:1] == ["serve"]:
        import uvicorn

        from wegweiser import config

        uvicorn.run(
            "wegweiser.asgi:application",
            host=config.string("HOST", "127.0.0.1"),
            port=config.integer("PORT", 8000, minimum=1),
            workers=config.integer("WEB_CONCURRENCY", 1, minimum=1),
            proxy_headers=True,
            forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
            ws_max_size=256 * 1024,
            log_level=config.choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}).lower(),
        )
        return
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")  # "loadtest-seed" is the command loadtest_seed

    try:
        execute_from_command_line(["wegweiser", *args])
    except ImproperlyConfigured as exc:
        # One readable line naming the variable instead of a traceback.
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
