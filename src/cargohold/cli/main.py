"""The ``cargohold`` command: ``serve [CONFIG]``, ``config check FILE`` and ``--version``."""

from __future__ import annotations

import importlib
import ssl

import click

from cargohold.config import Config, ConfigError, config_summary, load_config
from cargohold.logging import configure_logging

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="cargohold", prog_name="cargohold", message="%(prog)s %(version)s"
)
def main() -> None:
    """cargohold: an OCI Distribution registry, drop-in for CNCF Distribution (registry:2).

    Configuration is Distribution's config.yml; REGISTRY_<SECTION>_<KEY> environment variables
    override it (e.g. REGISTRY_HTTP_ADDR=:5000).
    """


def _load(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(f"invalid configuration:\n{exc}") from None


@main.command()
@click.argument("config", required=False, metavar="[CONFIG]")
def serve(config: str | None) -> None:
    """Serve the registry with CONFIG (config.yml), or with built-in defaults.

    Without CONFIG, data goes to $CARGOHOLD_DATA_DIR, else $XDG_DATA_HOME/cargohold, else
    ~/.local/share/cargohold, and the registry listens on 127.0.0.1:5000. http.workers processes
    serve it (default: one per core; one for the inmemory driver). SIGTERM or SIGINT stop it
    after draining requests for up to http.draintimeout.
    """
    cfg = _load(config)
    if config is None:
        where = cfg.storage.driver_params.get("rootdirectory", "memory")
        click.echo(f"cargohold: no config file given; using built-in defaults, data in {where}")
    configure_logging(cfg.log)

    # Imported only to serve: `config check` and --version must work without the API layer.
    from cargohold.cli.serve import AppFactory
    from cargohold.cli.serve import serve as run

    try:
        create_app: AppFactory = importlib.import_module("cargohold.api.app").create_app
    except ImportError as exc:
        raise click.ClickException(f"the registry API is not available: {exc}") from None

    try:
        code = run(cfg, create_app, announce=click.echo)
    except (OSError, ssl.SSLError) as exc:
        raise click.ClickException(f"cannot start the server on {cfg.http.addr}: {exc}") from None
    except ValueError as exc:  # a driver, cache or tracing set-up the config check cannot see
        raise click.ClickException(f"cannot start the registry: {exc}") from None
    if code:
        raise SystemExit(code)


@main.group()
def config() -> None:
    """Inspect configuration files."""


@config.command("check")
@click.argument("file")
@click.option("--show", is_flag=True, help="Also print the effective config (secrets redacted).")
def check(file: str, show: bool) -> None:
    """Validate FILE as serve would (REGISTRY_* overrides applied); exit 1 if it is invalid."""
    try:
        cfg = load_config(file)
    except ConfigError as exc:
        click.echo(f"config error:\n{exc}", err=True)
        raise SystemExit(1) from None
    if show:
        click.echo(config_summary(cfg), nl=False)
    click.echo("config OK")


if __name__ == "__main__":  # ``python -m cargohold.cli.main``, as the integration harness runs it
    main()
