"""`privguard serve`: run the registry service, or bootstrap its first administrator."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="serve")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the service keeps its database and keys [default: ./privguard-data].",
)
@click.option(
    "--database-url",
    help="A database URL instead of the embedded SQLite, e.g. "
    "postgresql+psycopg://privguard@localhost/privguard.",
)
@click.option("--host", help="The address to listen on [default: 127.0.0.1].")
@click.option("--port", type=int, help="The port to listen on [default: 8750].")
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A TOML file whose [service] table holds these settings (options win).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes answering requests. However many there are, one separate "
    "writer process commits every decision (one decision log, group commit).",
)
@click.option(
    "--create-admin",
    metavar="NAME",
    help="Create the administrator NAME (or reuse it), print a new token for it, and exit.",
)
def serve(
    data_dir: Path | None,
    database_url: str | None,
    host: str | None,
    port: int | None,
    config: Path | None,
    workers: int,
    create_admin: str | None,
) -> None:
    """Run the privguard service (API and its docs at /docs) until stopped with Ctrl-C.

    It needs no set-up: with no options the database is SQLite in ./privguard-data,
    created and migrated on first start. On a fresh install, first create an
    administrator with --create-admin NAME: the token it prints is shown once and
    is the key to every other account.

    Example: privguard serve --create-admin alice && privguard serve --port 8750 --workers 2
    """
    from privguard.internals.prevention.settings import load_service_settings

    settings = load_service_settings(
        config, data_dir=data_dir, database_url=database_url, host=host, port=port
    )
    if create_admin is not None:
        from privguard.internals.prevention.service.auth import bootstrap_admin

        issued = bootstrap_admin(settings, create_admin)
        click.echo(
            f"Administrator {create_admin.strip().lower()!r} has a new token (id "
            f"{issued.record.id}). It is shown only this once; keep it safe:\n"
            f"{issued.token}\n"
            f"Use it as: curl -H 'Authorization: Bearer <token>' "
            f"http://{settings.host}:{settings.port}/v1/me"
        )
        return
    from privguard.internals.prevention.service.app import serve as run

    click.echo(f"privguard service on http://{settings.host}:{settings.port} (docs: /docs)")
    run(settings, workers=workers)
