"""``alpr-ledger accounts ...``: bootstrap accounts without the API (the first administrator,
camera tokens). Thin: parse, call the service, print. Secrets go to stdout, once; everything else
to stderr. Each change is recorded with the actor ``cli:<operating-system user>``.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from domain.errors import DomainError
from domain.policy import Role

if TYPE_CHECKING:
    from ops.service import AlprLedger

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)

DbOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional here
    typer.Option(
        "--db", help="Database URL (sqlite:///PATH or postgresql://...); default from ALPR_DATABASE_URL."
    ),
]
LoginArg = Annotated[str, typer.Argument(help="Login of the account.")]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


@contextmanager
def _service(db: str | None) -> Iterator[AlprLedger]:
    from ops.cli import _runtime

    runtime = _runtime(db)
    try:
        service: AlprLedger = runtime.app
        yield service
    except DomainError as exc:
        console.print(f"[red]error[/red] {escape(f'{exc.field}: {exc.message} [{exc.rule}]')}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()


def _read_password() -> str:
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@app.command()
def add(
    login: LoginArg,
    role: Annotated[list[Role], typer.Option("--role", help="Role to grant (repeatable).")] = [],  # noqa: B006
    name: Annotated[Optional[str], typer.Option("--name", help="Display name (default: the login).")] = None,  # noqa: UP045
    unit: Annotated[Optional[str], typer.Option("--unit", help="Command or unit.")] = None,  # noqa: UP045
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    device: Annotated[bool, typer.Option("--device", help="A camera or pipeline, not a person.")] = False,
    camera: Annotated[Optional[str], typer.Option("--camera", help="Camera id a device is bound to.")] = None,  # noqa: UP045
    db: DbOption = None,
) -> None:
    """Enrol an account. For a person, prints the TOTP secret and its otpauth:// URI once."""
    from domain.account import AccountKind
    from domain.totp import provisioning_uri

    password = _read_password() if password_stdin else None
    with _service(db) as svc:
        actor = _actor()
        account_id = svc.enrol_account(
            login,
            name or login,
            kind=AccountKind.DEVICE if device else AccountKind.PERSON,
            roles=role,
            unit=unit,
            camera_id=camera,
            actor=actor,
        )
        account = svc.get_account(account_id)
        roles = ", ".join(sorted(account.roles)) or "none"
        console.print(f"enrolled {account.login} ({account.kind.value}) id {account_id}; roles: {roles}")
        if device:
            console.print("issue its token with: alpr-ledger accounts token " + account.login)
            return
        if password is not None:
            svc.set_password(account_id, password, actor=actor)
            console.print("password set")
        else:
            console.print(f"no password yet: echo ... | alpr-ledger accounts password {account.login}")
        secret = svc.enrol_totp(account_id, actor=actor)
        console.print("TOTP secret and URI (shown once; add to an authenticator app):")
        typer.echo(f"totp_secret: {secret}")
        typer.echo(f"otpauth_uri: {provisioning_uri(secret, account.login)}")


@app.command()
def password(login: LoginArg, db: DbOption = None) -> None:
    """Set a person's initial password, read from the first line of stdin (stored only as an
    argon2 hash). An account that has one already needs ``reset`` first."""
    secret = _read_password()
    with _service(db) as svc:
        account = svc.find_account(login)
        svc.set_password(account.id, secret, actor=_actor())
        console.print(f"password set for {account.login}")


@app.command()
def grant(
    login: LoginArg, role: Annotated[Role, typer.Argument(help="Role to grant.")], db: DbOption = None
) -> None:
    """Grant a role."""
    with _service(db) as svc:
        account = svc.find_account(login)
        changed = svc.grant_role(account.id, role, actor=_actor())
        console.print(f"{account.login}: {role.value} {'granted' if changed else 'already held'}")


@app.command()
def revoke(
    login: LoginArg,
    role: Annotated[
        Optional[Role],  # noqa: UP045
        typer.Argument(help="Role to revoke; omit to revoke all access of the account."),
    ] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (recorded).")] = None,  # noqa: UP045
    db: DbOption = None,
) -> None:
    """Revoke a role, or the whole account's access (effective on its next request)."""
    with _service(db) as svc:
        account = svc.find_account(login)
        if role is None:
            changed = svc.revoke_access(account.id, reason=reason, actor=_actor())
            console.print(f"{account.login}: access {'revoked' if changed else 'was already revoked'}")
        else:
            changed = svc.revoke_role(account.id, role, actor=_actor())
            console.print(f"{account.login}: {role.value} {'revoked' if changed else 'was not held'}")


@app.command()
def restore(
    login: LoginArg,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (recorded).")] = None,  # noqa: UP045
    db: DbOption = None,
) -> None:
    """Restore the access of a revoked account."""
    with _service(db) as svc:
        account = svc.find_account(login)
        changed = svc.restore_access(account.id, reason=reason, actor=_actor())
        console.print(f"{account.login}: access {'restored' if changed else 'was not revoked'}")


@app.command()
def reset(
    login: LoginArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required, recorded).")],
    db: DbOption = None,
) -> None:
    """Clear a person's password and TOTP and end every token issued so far.

    Needed before someone other than the holder may set new credentials (then ``password``
    and ``totp``).
    """
    with _service(db) as svc:
        account = svc.find_account(login)
        svc.reset_credentials(account.id, reason=reason, actor=_actor())
        console.print(f"{account.login}: credentials cleared and every earlier token revoked")


@app.command()
def totp(login: LoginArg, db: DbOption = None) -> None:
    """Enrol a person's initial TOTP secret and print it once (after ``reset`` for a new one)."""
    from domain.totp import provisioning_uri

    with _service(db) as svc:
        account = svc.find_account(login)
        secret = svc.enrol_totp(account.id, actor=_actor())
        console.print("TOTP secret and URI (shown once; add to an authenticator app):")
        typer.echo(f"totp_secret: {secret}")
        typer.echo(f"otpauth_uri: {provisioning_uri(secret, account.login)}")


@app.command()
def train(
    login: LoginArg,
    course: Annotated[str, typer.Option("--course", help="Course completed.")],
    trainer: Annotated[Optional[str], typer.Option("--trainer", help="Who trained.")] = None,  # noqa: UP045
    completed_on: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--date", help="Day completed, YYYY-MM-DD (default: today)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Record completed training (required before searching or acting on hits)."""
    with _service(db) as svc:
        account = svc.find_account(login)
        svc.record_training(account.id, course, completed_on=completed_on, trainer=trainer, actor=_actor())
        console.print(f"{account.login}: training recorded")


@app.command()
def token(
    login: LoginArg,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive", help="A short-lived token for a person (bootstrap), not a device token."
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Issue a token and print it once (only its hash is stored)."""
    with _service(db) as svc:
        account = svc.find_account(login)
        if interactive:
            raw, expires_at = svc.issue_interactive_token(account.id, actor=_actor())
            console.print(f"interactive token for {account.login}, expires {expires_at.isoformat()}")
        else:
            raw = svc.issue_device_token(account.id, actor=_actor())
            console.print(f"device token for {account.login} (valid until revoked)")
        typer.echo(raw)


@app.command("list")
def list_accounts(db: DbOption = None) -> None:
    """Every account with its kind, roles, training and access."""
    with _service(db) as svc:
        after = 0
        while True:
            page, cursor = svc.list_accounts(after=after, limit=200)
            for account in page:
                roles = ",".join(sorted(account.roles)) or "-"
                state = "revoked" if account.access_revoked else "active"
                trained = "trained" if account.trained else "untrained"
                typer.echo(
                    f"{account.login}\t{account.kind.value}\t{roles}\t{trained}\t{state}\t{account.id}"
                )
            if cursor is None:
                break
            after = cursor
