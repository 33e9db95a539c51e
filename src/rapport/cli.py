"""The ``rapport`` command: serve, worker, migrate, demo, admin, apikey, vapid."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from rapport.config import get_settings
from rapport.kit.db import create_engine, make_sessionmaker, transaction
from rapport.kit.migrate import upgrade

app = typer.Typer(help="Rapport: self-hostable real-time dating chat.", no_args_is_help=True)
admin_app = typer.Typer(help="Operator tasks: roles.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
apikey_app = typer.Typer(
    help="API keys for the inbound automation API (n8n).", no_args_is_help=True
)
app.add_typer(apikey_app, name="apikey")
console = Console()


class Role(enum.StrEnum):
    member = "member"
    moderator = "moderator"
    admin = "admin"


DEMO_PASSWORD = "rapport-demo-2026"  # noqa: S105 (public demo data, printed on purpose)


@app.command()
def migrate() -> None:
    """Apply database migrations up to the latest revision."""
    settings = get_settings()
    console.print(f"[bold]Migrating[/] {_safe_url(settings.effective_database_url)}")
    upgrade(settings.effective_database_url)
    console.print("[green]Database is up to date.[/]")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development)")] = False,
) -> None:
    """Apply migrations, then serve HTTP and Socket.IO."""
    import uvicorn

    settings = get_settings()
    upgrade(settings.effective_database_url)
    host, port = host or settings.host, port or settings.port
    console.print(f"[bold green]Rapport[/] on http://{host}:{port}  (API docs: /docs)")
    uvicorn.run(
        "rapport.app:create_asgi",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        log_level=settings.log_level.lower(),
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        # permessage-deflate costs CPU per frame and widens the attack surface (OWASP): opt-in.
        ws_per_message_deflate=settings.ws_compression,
    )


@app.command()
def demo(
    password: Annotated[str, typer.Option(help="Password for every demo account")] = DEMO_PASSWORD,
) -> None:
    """Create bilingual demo profiles (idempotent), one existing match, and print two logins."""
    from rapport.demo.seed import seed

    settings = get_settings()
    upgrade(settings.effective_database_url)
    profiles = json.loads((Path(__file__).parent / "demo" / "profiles.json").read_text("utf-8"))
    with Progress(console=console) as progress:
        task = progress.add_task("Creating demo profiles", total=len(profiles))
        result = asyncio.run(
            seed(settings, profiles, password, on_progress=lambda: progress.advance(task))
        )
    table = Table(title="Demo logins")
    table.add_column("email")
    table.add_column("password")
    table.add_column("who")
    for login in result.logins:
        table.add_row(login.email, password, login.note)
    console.print(table)
    console.print(
        f"{result.created} profiles created, {result.existing} already there; "
        f"{result.matches} match(es). Start the server with [bold]rapport serve[/]."
    )


@admin_app.command("grant")
def admin_grant(
    email: Annotated[str, typer.Argument(help="The account's email")],
    role: Annotated[Role, typer.Option(help="Role to give")] = Role.admin,
) -> None:
    """Give an existing account the admin, moderator or plain member role."""
    from rapport.accounts.service import set_role

    settings = get_settings()
    upgrade(settings.effective_database_url)

    async def run() -> bool:
        engine = create_engine(settings.effective_database_url)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await set_role(session, email, role.value)
        finally:
            await engine.dispose()

    if not asyncio.run(run()):
        console.print(f"[red]No account with email {email}.[/]")
        raise typer.Exit(1)
    console.print(f"[green]{email} now has the {role.value} role.[/]")


@app.command()
def vapid(
    subject: Annotated[
        str, typer.Option(help="Contact for push services: mailto:you@example.com or https://host")
    ] = "mailto:admin@example.com",
) -> None:
    """Print a fresh VAPID key pair for Web Push as .env lines (keep the private key secret)."""
    from rapport.notifications.vapid import SUBJECT, generate

    if not SUBJECT.match(subject):
        console.print("[red]--subject must be mailto:you@example.com or https://host[/]")
        raise typer.Exit(2)
    private, public = generate()
    typer.echo(f"RAPPORT_VAPID_PRIVATE_KEY={private}")
    typer.echo(f"RAPPORT_VAPID_PUBLIC_KEY={public}")
    typer.echo(f"RAPPORT_VAPID_SUBJECT={subject}")


@app.command()
def worker() -> None:
    """Run the outbox dispatcher and the job scheduler without serving HTTP (any number of
    workers may run; they coordinate through the database). Needs RAPPORT_REDIS_URL to reach
    the API nodes' sockets; set RAPPORT_WORKERS_IN_PROCESS=false on those nodes."""
    from rapport.notifications import tasks as notification_tasks
    from rapport.realtime.server import install_external_relay
    from rapport.runtime import build_runtime
    from rapport.workflows import tasks

    settings = get_settings()
    upgrade(settings.effective_database_url)
    console.print(f"[bold green]Rapport worker[/] on {_safe_url(settings.effective_database_url)}")

    async def run() -> None:
        rt = build_runtime(settings)
        tasks.install(rt)
        # Jobs raise events (reminders, coaching): push and socket fan-out run here too.
        notification_tasks.install(rt)
        install_external_relay(rt)
        try:
            await asyncio.gather(rt.dispatcher.run(), rt.scheduler.run())
        finally:
            await rt.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. n8n")],
    scope: Annotated[
        list[str] | None, typer.Option(help="Scope (repeatable); default: all scopes")
    ] = None,
) -> None:
    """Create an API key for the inbound automation API and print it (shown once)."""
    from rapport.workflows import service
    from rapport.workflows.schemas import SCOPES

    scopes = scope or list(SCOPES)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        console.print(f"[red]Unknown scope(s): {', '.join(unknown)}.[/] Known: {', '.join(SCOPES)}")
        raise typer.Exit(2)
    settings = get_settings()
    upgrade(settings.effective_database_url)

    async def run() -> str:
        engine = create_engine(settings.effective_database_url)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                _, key = await service.create_api_key(session, name, scopes, None)
                return key
        finally:
            await engine.dispose()

    key = asyncio.run(run())
    console.print(f"API key [bold]{name}[/] with scopes {', '.join(sorted(scopes))}:")
    print(key)  # plain, so scripts can capture it  # noqa: T201
    console.print("[dim]Send it as 'Authorization: Bearer <key>'. It is not shown again.[/]")


@app.command("webhook-secret")
def webhook_secret() -> None:
    """Print a fresh Standard Webhooks signing secret (for RAPPORT_WEBHOOK_SECRET)."""
    from rapport.workflows.signing import new_secret

    print(f"RAPPORT_WEBHOOK_SECRET={new_secret()}")  # noqa: T201


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    app()
