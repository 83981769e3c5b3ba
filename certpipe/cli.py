"""The command line: a thin typer layer over pipeline. Exit 0 ok, 1 findings at --fail-on, 2 usage/input."""

from __future__ import annotations

import datetime as dt
import enum
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import CertpipeError, UsageError


class ExitCode(enum.IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2


class OutFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"


class FailOn(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NEVER = "never"


class TextOrJson(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


CONTENT_TYPES = {"pkcs12": "application/x-pkcs12", "pem": "application/x-pem-file"}  # --content-type


class ContentType(enum.StrEnum):
    PKCS12 = "pkcs12"
    PEM = "pem"


app = typer.Typer(
    name="certpipe",
    help="Detect, validate and convert certificate material for Azure Key Vault.",
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"certpipe {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Detect, validate and convert certificate material for Azure Key Vault."""


Paths = Annotated[list[str], typer.Argument(help="Files or folders (folders are walked recursively).")]
PasswordFile = Annotated[
    list[Path] | None,
    typer.Option("--password-file", help="Candidate passwords, one per line, tried in order; may repeat."),
]
PasswordEnv = Annotated[
    list[str] | None, typer.Option("--password-env", help="Environment variable holding one more candidate.")
]
PasswordMap = Annotated[
    Path | None,
    typer.Option(
        "--passwords", help="File of 'GLOB = file:PATH' or 'GLOB = env:VAR' lines: per-file passwords."
    ),
]
Now = Annotated[
    str | None, typer.Option("--now", help="Judge validity at this ISO 8601 instant (default: now).")
]
WarnDays = Annotated[
    int | None, typer.Option("--expiry-warn-days", min=0, max=36500, help="Warn this many days ahead [30].")
]
Format_ = Annotated[OutFormat, typer.Option("--format", help="stdout format.")]
Output = Annotated[Path | None, typer.Option("--output", help="Write the formatted result here, not stdout.")]
FailOn_ = Annotated[
    FailOn | None, typer.Option("--fail-on", help="Exit 1 on findings at or above this [error].")
]
MaxIter = Annotated[
    int | None,
    typer.Option("--max-iterations", min=1, help="Refuse PKCS#12 KDF iteration counts above this [2000000]."),
]
MaxSize = Annotated[
    int, typer.Option("--max-file-size", min=1, max=1 << 40, help="Refuse files larger than this many bytes.")
]
Follow = Annotated[bool, typer.Option("--follow-symlinks", help="Follow symlinks that lead out of the tree.")]
Jobs = Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0: one per core).")]
Trust = Annotated[
    list[str] | None, typer.Option("--trust", help="Trust anchors: PEM/DER file or folder; may repeat.")
]
TrustSystem = Annotated[bool, typer.Option("--trust-system", help="Also trust the system / certifi roots.")]
Select = Annotated[list[str] | None, typer.Option("--select", help="Only these rules (slug); may repeat.")]
Ignore = Annotated[list[str] | None, typer.Option("--ignore", help="Skip these rules (slug); may repeat.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Configuration file (default: found upwards).")
]
NoConfig = Annotated[bool, typer.Option("--no-config", help="Ignore pyproject.toml / .certpipe.toml.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")]
Verbose = Annotated[bool, typer.Option("--verbose", help="Show tracebacks for internal errors.")]


def main() -> None:
    """Console entry point: every error a user can cause ends in one line and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors: unknown option, missing or bad value
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `certpipe`: the help is the answer
            sys.stderr.write(message + "\n")
            sys.exit(ExitCode.USAGE)
        command = " ".join(a for a in sys.argv[1:2] if not a.startswith("-"))
        hint = (
            f"certpipe {command} --help".replace("  ", " ")
            if command in app_commands()
            else "certpipe --help"
        )
        sys.stderr.write(f"certpipe: error: {' '.join(message.split())} (see '{hint}')\n")
        sys.exit(ExitCode.USAGE)
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("certpipe: interrupted; rerun to finish (no file is left half-written).\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def app_commands() -> set[str]:
    return {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}


def _fail(message: str) -> typer.Exit:
    typer.echo(f"certpipe: error: {message}", err=True)
    return typer.Exit(ExitCode.USAGE)


def _guard(verbose: bool) -> Any:
    """Context manager turning certpipe errors and stray exceptions into one line and exit 2."""
    import contextlib

    @contextlib.contextmanager
    def guard() -> Any:
        import warnings

        try:
            with warnings.catch_warnings():
                # Library warnings about odd input (negative serials...) are not for the user's terminal;
                # what matters about such input is reported as findings.
                warnings.simplefilter("ignore")
                yield
        except CertpipeError as exc:
            raise _fail(str(exc)) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            typer.echo(
                "certpipe: interrupted; files already written are complete (rerun to finish).", err=True
            )
            raise typer.Exit(130) from None
        except Exception as exc:
            if verbose:
                raise
            raise _fail(
                f"internal error ({type(exc).__name__}); rerun with --verbose and report it."
            ) from None

    return guard()


def parse_now(value: str | None) -> dt.datetime:
    """--now: ISO 8601 with Z or any offset (a naive time is taken as UTC)."""
    if value is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError as exc:
        raise UsageError(f"--now {value!r} is not an ISO 8601 time (e.g. 2026-06-01T00:00:00Z).") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    try:
        return when.astimezone(dt.UTC)
    except OverflowError as exc:
        raise UsageError(f"--now {value!r} is out of range.") from exc


def read_passwords(
    files: list[Path] | None,
    envs: list[str] | None,
    *,
    file_option: str = "--password-file",
    env_option: str = "--password-env",
) -> tuple[bytes, ...]:
    """Candidates from files (one per line) and environment variables; never from argv."""
    from . import discover

    out: list[bytes] = []
    for f in files or ():
        try:
            data = discover.read_bytes(str(f), 1024 * 1024)
        except OSError as exc:
            raise UsageError(f"{file_option} {f}: cannot be read ({exc.strerror or exc}).") from exc
        out.extend(line for line in data.splitlines() if line)
    for name in envs or ():
        value = os.environb.get(os.fsencode(name))  # bytes: a password need not be valid UTF-8
        if value is None:
            raise UsageError(f"{env_option} {name}: the variable is not set.")
        out.append(value)
    return tuple(dict.fromkeys(out))


def read_password_map(path: Path | None) -> tuple[tuple[str, tuple[bytes, ...]], ...]:
    """--passwords MAP: lines 'GLOB = file:PATH' or 'GLOB = env:VAR' ('#' comments)."""
    if path is None:
        return ()
    from . import discover

    try:
        text = discover.read_bytes(str(path), 1024 * 1024).decode("utf-8", "replace")
    except OSError as exc:
        raise UsageError(f"--passwords {path}: cannot be read ({exc.strerror or exc}).") from exc
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        glob, sep, where = (part.strip() for part in line.partition("="))
        if not sep or not glob or not where.startswith(("file:", "env:")):
            raise UsageError(
                f"--passwords {path}: line {number}: expected 'GLOB = file:PATH' or 'GLOB = env:VAR'."
            )
        kind, _, ref = where.partition(":")
        where_ = f"--passwords {path}: line {number}"
        if kind == "file":
            ref_path = Path(ref) if os.path.isabs(ref) else path.parent / ref
            try:
                data = discover.read_bytes(str(ref_path), 1024 * 1024)
            except OSError as exc:
                raise UsageError(f"{where_}: {ref_path} cannot be read ({exc.strerror or exc}).") from exc
            found = (line for line in data.splitlines() if line)
            out.append((glob, tuple(dict.fromkeys(found))))
        else:
            value = os.environb.get(os.fsencode(ref))
            if value is None:
                raise UsageError(f"{where_}: the variable {ref} is not set.")
            out.append((glob, (value,)))
    return tuple(out)


def read_names(path: Path | None) -> tuple[tuple[str, str], ...]:
    """--names MAP.csv: rows of (sha1 or source path, AKV name)."""
    if path is None:
        return ()
    import csv
    import re

    from . import discover

    try:
        text = discover.read_bytes(str(path), 16 * 1024 * 1024).decode("utf-8-sig", "replace")
    except OSError as exc:
        raise UsageError(f"--names {path}: cannot be read ({exc.strerror or exc}).") from exc
    out = []
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise UsageError(f"--names {path}: not a readable CSV file ({exc}).") from exc
    for number, row in enumerate(rows, 1):
        if not row or row[0].startswith("#") or (number == 1 and row[0].lower() in ("sha1", "source", "key")):
            continue
        if len(row) < 2 or not re.fullmatch(r"[0-9A-Za-z-]{1,127}", row[1].strip()):
            raise UsageError(
                f"--names {path}: line {number}: expected 'sha1-or-path,name' with an AKV name "
                "(letters, digits and '-', at most 127)."
            )
        key = row[0].strip()
        out.append((key.lower() if re.fullmatch(r"[0-9A-Fa-f:]{40,59}", key) else key, row[1].strip()))
    return tuple((k.replace(":", "") if len(k) > 40 and ":" in k else k, v) for k, v in out)


def load_trust(paths: list[str] | None, max_bytes: int) -> tuple[bytes, ...]:
    """The DER of every certificate in the --trust files and folders (PEM or DER)."""
    if not paths:
        return ()
    from . import discover
    from .detect import detect
    from .parse import parse

    certs: list[bytes] = []
    for ref in discover.discover(paths, max_bytes=max_bytes):
        if ref.skip_reason:
            continue
        try:
            parsed = parse(detect(discover.read(ref, max_bytes)), ())
        except (OSError, ValueError) as exc:
            raise UsageError(f"--trust {ref.path}: cannot be read ({exc}).") from exc
        certs.extend(c.der for c in parsed.certs)
    if not certs:
        raise UsageError(f"--trust {' '.join(paths)}: no certificate found.")
    return tuple(certs)


def build_options(
    paths: list[str],
    *,
    password_file: list[Path] | None,
    password_env: list[str] | None,
    passwords: Path | None,
    now: str | None,
    expiry_warn_days: int | None,
    max_iterations: int | None,
    max_file_size: int,
    follow_symlinks: bool,
    jobs: int,
    trust: list[str] | None,
    trust_system: bool,
    select: list[str] | None,
    ignore: list[str] | None,
    config: Path | None,
    no_config: bool,
    content_type: str = "application/x-pkcs12",
    names: Path | None = None,
    tag_from_path: bool = False,
) -> tuple[Any, Any]:
    """pipeline.Options from the command line merged over the repository configuration."""
    from . import config as cfg
    from .pipeline import Options

    conf = cfg.Config()
    if not no_config:
        found = config if config is not None else cfg.find(Path.cwd())
        if config is not None and not config.is_file():
            raise UsageError(f"--config {config}: no such file.")
        if found is not None:
            conf = cfg.load(found)
    disabled = cfg.disabled_rules(conf, select, ignore)
    opts = Options(
        paths=tuple(paths),
        at=parse_now(now),
        passwords=read_passwords(password_file, password_env),
        password_map=read_password_map(passwords),
        expiry_warn_days=next(d for d in (expiry_warn_days, conf.expiry_warn_days, 30) if d is not None),
        max_iterations=max_iterations or conf.max_iterations or 2_000_000,
        max_bytes=max_file_size,
        follow_symlinks=follow_symlinks,
        jobs=jobs,
        content_type=content_type,
        trust=load_trust([*(trust or ()), *conf.trust], max_file_size),
        trust_system=trust_system or bool(conf.trust_system),
        disabled=disabled,
        severities=conf.severity,
        exclude=conf.exclude,
        per_path_ignores=conf.per_path_ignores,
        config_root=conf.root,
        names=read_names(names),
        tag_from_path=tag_from_path,
    )
    return opts, conf


def render(result: Any, fmt: OutFormat) -> str:
    from .emit import document

    if fmt is OutFormat.JSON:
        return document.render_json(result)
    if fmt is OutFormat.SARIF:
        from . import __version__
        from .emit.sarif import render_sarif

        return render_sarif(result, tool_version=__version__, root=os.getcwd())
    if fmt is OutFormat.JUNIT:
        from .emit.junit import render_junit

        return render_junit(result)
    if fmt is OutFormat.GITHUB:
        from .emit.github import render_github

        return render_github(result)
    return document.render_text(result)


def emit_result(result: Any, fmt: OutFormat, output: Path | None) -> None:
    text = render(result, fmt)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from .emit.write import write_user_file

    try:
        write_user_file(output, text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot be written ({exc.strerror or exc}).") from exc


def exit_code(result: Any, fail_on: FailOn) -> ExitCode:
    from .models import Severity

    if fail_on is FailOn.NEVER:
        return ExitCode.OK
    threshold = Severity(fail_on.value).rank
    worst = max((f.severity.rank for f in result.findings), default=0)
    return ExitCode.FINDINGS if worst >= threshold else ExitCode.OK


class _Progress:
    """A rich progress bar on stderr when it is a terminal and the run lasts; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or (self._bar is None and time.monotonic() - self.started < 0.5):
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(stage, total=total)
        self._bar.update(self._tasks[stage], completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _summary_line(result: Any, started: float, outcomes: Any = None) -> str:
    from .emit.document import plural, summary

    s = summary(result)
    line = (
        f"certpipe: {plural(s['files'], 'file')} ({s['skipped']} skipped), "
        f"{plural(s['certificates'], 'certificate')}: {s['ready']} ready, {s['warning']} warning, {s['error']} error"
    )
    if outcomes is not None:
        written = sum(1 for o in outcomes for _, st in o.written if st == "written")
        unchanged = sum(1 for o in outcomes for _, st in o.written if st == "unchanged")
        line += f"; {written} files written, {unchanged} unchanged"
    return line + f" in {time.monotonic() - started:.2f}s"


def _run_and_write(opts: Any, quiet: bool, write: Any) -> tuple[Any, Any]:
    """pipeline.check, then write(result, progress) -> (result, outcomes), under one progress display."""
    from . import pipeline

    progress = _Progress(not quiet)
    try:
        return write(pipeline.check(opts, progress), progress)  # type: ignore[no-any-return]
    finally:
        progress.close()


@app.command()
def check(
    paths: Paths,
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    passwords: PasswordMap = None,
    now: Now = None,
    expiry_warn_days: WarnDays = None,
    format: Format_ = OutFormat.TEXT,
    output: Output = None,
    report: Annotated[Path | None, typer.Option("--report", help="Also write the HTML report here.")] = None,
    fail_on: FailOn_ = None,
    max_iterations: MaxIter = None,
    max_file_size: MaxSize = 8 * 1024 * 1024,
    follow_symlinks: Follow = False,
    jobs: Jobs = 0,
    trust: Trust = None,
    trust_system: TrustSystem = False,
    select: Select = None,
    ignore: Ignore = None,
    config: ConfigOpt = None,
    no_config: NoConfig = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Detect, parse, pair and validate; writes nothing unless asked."""
    from . import pipeline

    started = time.monotonic()
    with _guard(verbose):
        opts, conf = build_options(
            paths,
            password_file=password_file,
            password_env=password_env,
            passwords=passwords,
            now=now,
            expiry_warn_days=expiry_warn_days,
            max_iterations=max_iterations,
            max_file_size=max_file_size,
            follow_symlinks=follow_symlinks,
            jobs=jobs,
            trust=trust,
            trust_system=trust_system,
            select=select,
            ignore=ignore,
            config=config,
            no_config=no_config,
        )
        progress = _Progress(not quiet)
        try:
            result = pipeline.check(opts, progress)
        finally:
            progress.close()
        emit_result(result, format, output)
        if report is not None:
            from .emit.html import render_html
            from .emit.write import write_user_file

            try:
                write_user_file(report, render_html(result).encode("utf-8"))
            except OSError as exc:
                raise UsageError(f"--report {report}: cannot be written ({exc.strerror or exc}).") from exc
        if not quiet and (output is not None or format is not OutFormat.TEXT) and sys.stderr.isatty():
            typer.echo(_summary_line(result, started), err=True)
    raise typer.Exit(exit_code(result, fail_on or FailOn(conf.fail_on or "error")))


@app.command()
def convert(
    paths: Paths,
    out: Annotated[Path, typer.Option("--out", help="Output folder for the AKV bundles.")],
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    passwords: PasswordMap = None,
    now: Now = None,
    expiry_warn_days: WarnDays = None,
    format: Format_ = OutFormat.TEXT,
    output: Output = None,
    fail_on: FailOn_ = None,
    vault_name: Annotated[
        str, typer.Option("--vault-name", help="Vault for the ids: https://NAME.vault.azure.net")
    ] = ("example"),
    content_type: Annotated[
        ContentType, typer.Option("--content-type", help="The secret's content type.")
    ] = (ContentType.PKCS12),
    names: Annotated[Path | None, typer.Option("--names", help="CSV of sha1-or-source-path,name.")] = None,
    tag_from_path: Annotated[
        bool, typer.Option("--tag-from-path", help="Tag items with their source folder.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Rewrite files even when identical.")] = False,
    max_iterations: MaxIter = None,
    max_file_size: MaxSize = 8 * 1024 * 1024,
    follow_symlinks: Follow = False,
    jobs: Jobs = 0,
    trust: Trust = None,
    trust_system: TrustSystem = False,
    select: Select = None,
    ignore: Ignore = None,
    config: ConfigOpt = None,
    no_config: NoConfig = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """All of check, plus the AKV bundles, manifest.json, manifest.csv, report.html and import scripts."""
    import re

    from . import pipeline

    started = time.monotonic()
    with _guard(verbose):
        if not re.fullmatch(r"[0-9A-Za-z-]{3,24}", vault_name):
            raise UsageError(f"--vault-name {vault_name!r}: a vault name is 3-24 letters, digits and '-'.")
        ctype = CONTENT_TYPES[content_type.value]
        opts, conf = build_options(
            paths,
            password_file=password_file,
            password_env=password_env,
            passwords=passwords,
            now=now,
            expiry_warn_days=expiry_warn_days,
            max_iterations=max_iterations,
            max_file_size=max_file_size,
            follow_symlinks=follow_symlinks,
            jobs=jobs,
            trust=trust,
            trust_system=trust_system,
            select=select,
            ignore=ignore,
            config=config,
            no_config=no_config,
            content_type=ctype,
            names=names,
            tag_from_path=tag_from_path,
        )
        result, outcomes = _run_and_write(
            opts, quiet, lambda r, p: pipeline.convert(r, opts, str(out), vault_name, force, p)
        )
        emit_result(result, format, output)
        if not quiet:
            typer.echo(_summary_line(result, started, outcomes), err=True)
    raise typer.Exit(exit_code(result, fail_on or FailOn(conf.fail_on or "error")))


class ExportTarget(enum.StrEnum):
    PEM = "pem"
    PFX = "pfx"
    DER = "der"
    P7B = "p7b"
    AKV = "akv"


class PfxProfileOpt(enum.StrEnum):
    COMPAT = "compat"
    MODERN = "modern"
    LEGACY = "legacy"


class KeyFormatOpt(enum.StrEnum):
    PKCS8 = "pkcs8"
    PKCS1 = "pkcs1"
    SEC1 = "sec1"


def read_out_password(env: str | None, file: Path | None) -> bytes | None:
    """The password for written PFX files: from an environment variable or the first line of a file."""
    if env and file:
        raise UsageError("give --out-password-env or --out-password-file, not both.")
    if env:
        value = os.environb.get(os.fsencode(env))
        if value is None:
            raise UsageError(f"--out-password-env {env}: the variable is not set.")
        return value
    if file:
        found = read_passwords([file], None, file_option="--out-password-file")
        if not found:
            raise UsageError(f"--out-password-file {file}: the file is empty.")
        return found[0]
    return None


@app.command()
def export(
    paths: Paths,
    out: Annotated[Path, typer.Option("--out", help="Output folder: one sub-folder per item.")],
    to: Annotated[ExportTarget, typer.Option("--to", help="Target format.")],
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    passwords: PasswordMap = None,
    now: Now = None,
    expiry_warn_days: WarnDays = None,
    key_format: Annotated[KeyFormatOpt, typer.Option("--key-format", help="Key encoding for pem/der.")] = (
        KeyFormatOpt.PKCS8
    ),
    pfx_profile: Annotated[PfxProfileOpt, typer.Option("--pfx-profile", help="PFX algorithms (pfx).")] = (
        PfxProfileOpt.COMPAT
    ),
    out_password_env: Annotated[
        str | None, typer.Option("--out-password-env", help="Variable holding the PFX password.")
    ] = None,
    out_password_file: Annotated[
        Path | None, typer.Option("--out-password-file", help="File whose first line is the PFX password.")
    ] = None,
    vault_name: Annotated[str, typer.Option("--vault-name", help="(akv) vault for the ids.")] = "example",
    content_type: Annotated[
        ContentType, typer.Option("--content-type", help="(akv) secret content type.")
    ] = (ContentType.PKCS12),
    force: Annotated[bool, typer.Option("--force", help="Replace existing files that differ.")] = False,
    format: Format_ = OutFormat.TEXT,
    output: Output = None,
    fail_on: FailOn_ = None,
    max_iterations: MaxIter = None,
    max_file_size: MaxSize = 8 * 1024 * 1024,
    follow_symlinks: Follow = False,
    jobs: Jobs = 0,
    select: Select = None,
    ignore: Ignore = None,
    config: ConfigOpt = None,
    no_config: NoConfig = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Write each item in the format a target needs (nginx PEM, IIS PFX, DER, PKCS#7, AKV); re-check it."""
    from . import pipeline

    started = time.monotonic()
    with _guard(verbose):
        ctype = CONTENT_TYPES[content_type.value]
        password = read_out_password(out_password_env, out_password_file)
        if to is ExportTarget.PFX and password is None and not quiet:
            typer.echo(
                "certpipe: note: no --out-password-env/--out-password-file; the PFX files have an "
                "empty password.",
                err=True,
            )
        opts, conf = build_options(
            paths,
            password_file=password_file,
            password_env=password_env,
            passwords=passwords,
            now=now,
            expiry_warn_days=expiry_warn_days,
            max_iterations=max_iterations,
            max_file_size=max_file_size,
            follow_symlinks=follow_symlinks,
            jobs=jobs,
            trust=None,
            trust_system=False,
            select=select,
            ignore=ignore,
            config=config,
            no_config=no_config,
            content_type=ctype,
        )
        settings = pipeline.ExportSettings(
            target=to.value,
            key_format=key_format.value,
            pfx_profile=pfx_profile.value,
            password=password or b"",
            vault=vault_name,
            force=force,
        )
        result, outcomes = _run_and_write(
            opts, quiet, lambda r, p: pipeline.export(r, opts, str(out), settings, p)
        )
        emit_result(result, format, output)
        if not quiet:
            typer.echo(_summary_line(result, started, outcomes), err=True)
    raise typer.Exit(exit_code(result, fail_on or FailOn(conf.fail_on or "error")))


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="One file.")],
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    now: Now = None,
    format: Annotated[TextOrJson, typer.Option("--format", help="stdout format.")] = TextOrJson.TEXT,
    max_iterations: MaxIter = None,
    max_file_size: MaxSize = 8 * 1024 * 1024,
    verbose: Verbose = False,
) -> None:
    """What was found in one file, for a human."""
    from . import pipeline
    from .emit.inspect import render_inspect_json, render_inspect_text

    with _guard(verbose):
        if file.is_dir():
            raise UsageError(f"{file}: is a folder; inspect takes one file (use check for folders).")
        if not file.is_file():
            raise UsageError(f"{file}: no such file.")
        from .validate import DEFAULT_DISABLED

        opts = pipeline.Options(
            paths=(str(file),),
            at=parse_now(now),
            passwords=read_passwords(password_file, password_env),
            max_iterations=max_iterations or 2_000_000,
            max_bytes=max_file_size,
            jobs=1,
            disabled=DEFAULT_DISABLED,
        )
        result = pipeline.check(opts)
        sys.stdout.write(
            render_inspect_json(result) if format is TextOrJson.JSON else render_inspect_text(result)
        )
    raise typer.Exit(ExitCode.OK)


@app.command()
def rules(
    format: Annotated[TextOrJson, typer.Option("--format", help="stdout format.")] = TextOrJson.TEXT,
) -> None:
    """Every rule: slug, default severity, what it means and why."""
    import json

    from .catalog import RULES
    from .validate import DEFAULT_DISABLED

    if format is TextOrJson.JSON:
        doc = [
            {
                "slug": r.slug,
                "severity": str(r.severity),
                "summary": r.summary,
                "rationale": r.rationale,
                "group": r.group,
                "enabled_by_default": r.slug not in DEFAULT_DISABLED,
            }
            for r in RULES
        ]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    width = max(len(r.slug) for r in RULES)
    for r in RULES:
        off = "  (off by default)" if r.slug in DEFAULT_DISABLED else ""
        sys.stdout.write(
            f"{r.slug:<{width}}  {r.severity.value:<7}  {r.summary}{off}\n"
            f"{'':<{width}}           {r.rationale}\n"
        )


if __name__ == "__main__":  # pragma: no cover
    main()
