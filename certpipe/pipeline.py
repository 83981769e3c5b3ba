"""The one place that knows the order: discover -> detect -> parse -> pair -> validate -> emit -> write."""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import catalog, discover
from .detect import detect
from .models import FileResult, Finding, Format, Item, Parsed, Result, SourceRef, Status, load_certificate
from .parse import DEFAULT_MAX_ITERATIONS, parse

Progress = Callable[[str, int, int], None]  # (stage, done, total)
POOL_THRESHOLD = 64  # below this many files or items, one process beats a pool's start-up cost


@dataclass(frozen=True, slots=True)
class Options:
    """Everything a run depends on. Passwords are candidates, tried after "no password" and ""."""

    paths: tuple[str, ...]
    at: dt.datetime
    passwords: tuple[bytes, ...] = field(default=(), repr=False)
    password_map: tuple[tuple[str, tuple[bytes, ...]], ...] = field(
        default=(), repr=False
    )  # glob -> candidates
    expiry_warn_days: int = 30
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    max_bytes: int = discover.DEFAULT_MAX_BYTES
    follow_symlinks: bool = False
    jobs: int = 0  # 0: one per core
    content_type: str = "application/x-pkcs12"
    trust: tuple[bytes, ...] = field(default=(), repr=False)  # DER of the --trust anchors (picklable)
    trust_system: bool = False
    disabled: frozenset[str] = frozenset()
    severities: tuple[tuple[str, str], ...] = ()
    exclude: tuple[str, ...] = ()
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    config_root: str | None = None  # exclude, per-path-ignores globs are relative to it (None: to each root)
    names: tuple[tuple[str, str], ...] = ()
    tag_from_path: bool = False


def _candidates(opts: Options, ref: SourceRef) -> tuple[bytes | None, ...]:
    """No password, "", the --passwords entries whose glob matches the file, then the candidate list.

    A glob matches the path as shown, the path inside the folder that was scanned, or the file name.
    """
    specific: list[bytes] = []
    if opts.password_map:
        forms = {ref.path, os.path.basename(ref.path)}
        if ref.root:
            forms.add(discover.shown_path(os.path.relpath(ref.fs_path, ref.root).replace(os.sep, "/")))
        for pattern, passwords in opts.password_map:
            if any(fnmatch.fnmatch(form, pattern) for form in forms):
                specific.extend(passwords)
    return (None, b"", *specific, *opts.passwords)


def quiet_library_warnings() -> Any:
    """Library warnings about odd input (negative serials, lax encodings) become no stray stderr lines;
    certpipe reports what matters about such input as findings."""
    import contextlib
    import warnings

    @contextlib.contextmanager
    def ctx() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield

    return ctx()


def load_one(ref: SourceRef, opts: Options) -> Parsed:
    """Read, detect and parse one file (runs in a worker process for large inputs)."""
    with quiet_library_warnings():
        return _load_one(ref, opts)


def _load_one(ref: SourceRef, opts: Options) -> Parsed:
    if ref.skip_reason:
        return Parsed(ref.path, Format.UNKNOWN, skipped=ref.skip_reason)
    try:
        source = discover.read(ref, opts.max_bytes)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        finding = catalog.UNREADABLE_INPUT.finding(f"{ref.path}: cannot be read ({why}).", ref.path)
        return Parsed(ref.path, Format.UNKNOWN, findings=(finding,))
    detected = detect(source)
    try:
        return parse(detected, _candidates(opts, ref), opts.max_iterations)
    except Exception as exc:
        finding = catalog.UNREADABLE_INPUT.finding(
            f"{ref.path}: could not be parsed ({type(exc).__name__}); the rest of the run went on.", ref.path
        )
        return Parsed(ref.path, detected.format, findings=(finding,))


def _load_chunk(refs: Sequence[SourceRef], opts: Options) -> list[Parsed]:
    return [load_one(r, opts) for r in refs]


def jobs_for(opts: Options, count: int) -> int:
    jobs = opts.jobs or (os.cpu_count() or 1)
    return 1 if count < POOL_THRESHOLD else max(1, jobs)


def _map_chunks(
    fn: Callable[..., list[Any]],
    values: Sequence[Any],
    extra: tuple[Any, ...],
    jobs: int,
    progress: Progress | None,
    stage: str,
) -> list[Any]:
    """fn(chunk, *extra) over chunks of values, one result per value, in order; a pool when jobs > 1.

    On Linux the workers are forked and inherit fn, values and extra, and are sent only chunk numbers:
    nothing is pickled on the way in (and anything may be passed, certificate objects included).
    Elsewhere chunks are pickled to the workers; arguments that cannot be pickled run in-process.
    """
    import multiprocessing
    import pickle
    import sys

    total = len(values)
    if jobs <= 1 or not total:
        out: list[Any] = []
        size = max(1, min(256, total // 8 or 1))
        for start in range(0, total, size):
            out.extend(fn(values[start : start + size], *extra))
            if progress:
                progress(stage, len(out), total)
        return out
    # Chunk k holds values k, k+n, k+2n...: inputs sorted by path cluster the costly ones (a folder
    # of PFX files), and contiguous chunks left one worker alone with them at the end.
    count = min(total, max(jobs * 8, -(-total // 256)))
    # Fork only on Linux: macOS offers it, but forking there after system libraries start threads
    # is unsafe (CPython's default there is spawn).
    forking = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
    if forking:
        context = multiprocessing.get_context("fork")
        tasks = [(_run_inherited, (k, count)) for k in range(count)]
        chunks = _run_pool(tasks, jobs, context, progress, stage, total, inherited=(fn, values, extra))
    else:
        try:
            pickle.dumps(extra)  # what the pool cannot send would hang it, not fail
        except (pickle.PicklingError, TypeError, AttributeError):
            return _map_chunks(fn, values, extra, 1, progress, stage)
        tasks = [(fn, (values[k::count], *extra)) for k in range(count)]
        chunks = _run_pool(tasks, jobs, None, progress, stage, total)
    ordered: list[Any] = [None] * total
    for k, chunk in enumerate(chunks):
        ordered[k::count] = chunk
    return ordered


_INHERITED: tuple[Callable[..., list[Any]], Sequence[Any], tuple[Any, ...]] | None = None
_FORKING = threading.Lock()  # one pool at a time sets _INHERITED and forks its workers


def _run_inherited(k: int, count: int) -> list[Any]:
    """In a forked worker: the parent's fn over its values[k::count]."""
    assert _INHERITED is not None
    fn, values, extra = _INHERITED
    return fn(values[k::count], *extra)


def _call(fn: Callable[..., list[Any]], args: tuple[Any, ...]) -> list[Any]:
    return fn(*args)


def _run_pool(
    tasks: Sequence[tuple[Callable[..., list[Any]], tuple[Any, ...]]],
    jobs: int,
    context: Any,
    progress: Progress | None,
    stage: str,
    total: int,
    inherited: tuple[Callable[..., list[Any]], Sequence[Any], tuple[Any, ...]] | None = None,
) -> list[list[Any]]:
    """Each task's result list, in task order; forked workers see `inherited` as _INHERITED."""
    global _INHERITED
    import gc
    import signal

    # Workers are forked with SIGINT ignored until their initializer installs a quiet handler, so a
    # Ctrl-C during start-up cannot make one print a traceback.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
    # Frozen, the parent's objects are out of the workers' garbage collections: a collection that
    # walked them would copy every page of the inherited heap into each worker.
    _FORKING.acquire()
    _INHERITED = inherited
    gc.freeze()
    try:
        pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
        )
        # Submitting forks every worker at once (a fork pool does not add workers later).
        results = pool.map(_call, *zip(*tasks, strict=True))
    finally:
        gc.unfreeze()
        _INHERITED = None
        _FORKING.release()
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    chunks: list[list[Any]] = []
    done = 0
    try:
        for result in results:
            chunks.append(result)
            done += len(result)
            if progress:
                progress(stage, done, total)
        pool.shutdown()
    except BaseException:
        # Ctrl-C: stop now. The workers are terminated rather than left to finish their chunks (their
        # writes are atomic), and the pool is shut down completely before the exception goes on:
        # leaving it shutting down raced with concurrent.futures' exit hook, which then printed an
        # "Exception ignored ... Bad file descriptor" traceback.
        for worker in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                worker.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    return chunks


def _die_with_parent(parent: int) -> None:
    """Pool initializer: a worker must not outlive (and keep writing after) a killed main process."""
    import signal
    import sys
    import time

    # Ctrl-C reaches the whole process group: the main process reports it; a worker just stops.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
    if sys.platform.startswith("linux"):
        return

    def watch() -> None:  # without PR_SET_PDEATHSIG, poll
        while os.getppid() == parent:
            time.sleep(0.1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def check(opts: Options, progress: Progress | None = None) -> Result:
    """Steps 1-5: discover, detect+parse, pair, validate; no file is written."""
    with quiet_library_warnings():
        return _check(opts, progress)


def _check(opts: Options, progress: Progress | None = None) -> Result:
    from .pair import pair
    from .validate import Context, apply_config, file_findings, rule_findings, validate
    from .validate.chain import ChainIndex
    from .validate.trust import TrustStore

    # 1. discover
    refs = discover.discover(
        opts.paths,
        follow_symlinks=opts.follow_symlinks,
        max_bytes=opts.max_bytes,
        exclude=opts.exclude,
        base=opts.config_root,
    )
    # 2. detect + parse, in a pool when the input is large
    parsed: list[Parsed] = _map_chunks(
        _load_chunk, refs, (opts,), jobs_for(opts, len(refs)), progress, "reading"
    )
    # 3. pair
    index = ChainIndex(list({c.der: c.cert for p in parsed for c in p.certs}.values()))
    pairing = pair(
        parsed, index.chain_of, dict(opts.names), opts.tag_from_path, {r.path: r.root for r in refs}
    )
    # 4. validate
    anchors = TrustStore.from_certs([load_certificate(der)[1] for der in opts.trust])
    if opts.trust_system:
        anchors = anchors.merged(TrustStore.system())
    well_known = TrustStore.well_known()
    ctx = Context(
        at=opts.at,
        expiry_warn_days=opts.expiry_warn_days,
        content_type=opts.content_type,
        anchors=anchors,
        explicit_trust=bool(opts.trust) or opts.trust_system,
        well_known=well_known,
        all_anchors=anchors.merged(well_known),
    )
    by_item = _map_chunks(
        rule_findings, pairing.items, (ctx,), jobs_for(opts, len(pairing.items)), progress, "checking"
    )
    items = validate(pairing.items, ctx, by_item)
    # 5. configuration: disabled rules, severities, per-path ignores
    severities = dict(opts.severities)
    config_paths = _config_paths(refs, opts)

    def configured(findings: Iterable[Finding]) -> tuple[Finding, ...]:
        kept = apply_config(tuple(findings), opts.disabled, severities)
        return tuple(f for f in kept if not _ignored_here(f, opts.per_path_ignores, config_paths))

    items = tuple(replace(i, findings=configured(i.findings)) for i in items)
    by_file: dict[str, list[Finding]] = {}
    for f in (*(f for p in parsed for f in p.findings), *pairing.file_findings, *file_findings(parsed)):
        by_file.setdefault(f.source, []).append(f)
    used = dict(pairing.used_by)
    files = []
    for p in parsed:
        found = configured(by_file.get(p.path, ()))
        files.append(_file_result(p, found, used.get(p.path, ())))
    skipped = sum(1 for f in files if f.status == "skipped")
    return Result(opts.at, tuple(files), items, skipped, tuple(parsed))


def _config_paths(refs: Sequence[SourceRef], opts: Options) -> dict[str, str | None]:
    """Each file as per-path-ignores globs see it: relative to the configuration's folder (None: outside)."""
    from .config import relative

    if opts.config_root is None or not opts.per_path_ignores:
        return {r.path: r.path for r in refs}
    return {r.path: relative(r.fs_path, opts.config_root) for r in refs}


def _ignored_here(
    f: Finding, per_path: Sequence[tuple[str, frozenset[str]]], config_paths: Mapping[str, str | None]
) -> bool:
    from .config import matches

    rel = config_paths.get(f.source, f.source)
    return rel is not None and any(f.rule in rules and matches(rel, glob) for glob, rules in per_path)


def _file_result(p: Parsed, findings: tuple[Finding, ...], items: tuple[str, ...]) -> FileResult:
    if p.skipped:
        return FileResult(p.path, p.format, findings, "skipped", p.skipped, items)
    if any(
        f.rule in (catalog.UNREADABLE_INPUT.slug, catalog.PASSWORD_REQUIRED.slug) for f in findings
    ) and not (p.certs or p.keys):
        return FileResult(p.path, p.format, findings, "failed", findings[0].message, items)
    if items:
        return FileResult(p.path, p.format, findings, "used", None, items)
    errors = [f for f in findings if f.severity.value == "error"]
    if errors:
        return FileResult(p.path, p.format, findings, "failed", errors[0].message, items)
    if findings:  # e.g. an orphan key: read fine, fed nothing
        return FileResult(p.path, p.format, findings, "unused", findings[0].message, items)
    return FileResult(p.path, p.format, findings, "unused", "held nothing any item needed", items)


# 6-7. emit and write (convert)
@dataclass(frozen=True, slots=True)
class ItemOutcome:
    name: str
    status: Status
    written: tuple[tuple[str, str], ...]  # (relative path, "written" | "unchanged")
    skipped_reason: str | None = None
    findings: tuple[Finding, ...] = ()


def _emit_chunk(
    items: Sequence[Item], out_dir: str, vault: str, content_type: str, force: bool
) -> list[ItemOutcome]:
    from .emit.akv import build
    from .emit.write import Output, write
    from .validate.rules import SECRET_LIMIT

    out = []
    for item in items:
        bundle = build(item, vault, content_type)
        secret_len = len(bundle.secret_value)
        if secret_len > SECRET_LIMIT:
            finding = catalog.SECRET_TOO_LARGE.finding(
                f"{item.leaf.source}: the secret for {item.name} is {secret_len} bytes, above AKV's "
                f"{SECRET_LIMIT}-byte limit; shorten the chain or the certificate (fewer SANs).",
                item.leaf.source,
                item.leaf.line,
            )
            out.append(ItemOutcome(item.name, Status.ERROR, (), finding.message, (finding,)))
            continue
        outputs = [
            Output(f"{item.name}/{name}", data, name in bundle.secret_files)
            for name, data in bundle.files.items()
        ]
        try:
            statuses = write(outputs, Path(out_dir), force=force)
        except OSError as exc:  # a planted symlink, a full disk, a read-only folder: this item only
            message = f"{item.name}: could not be written ({exc.strerror or exc})."
            finding = catalog.EXPORT_FAILED.finding(message, item.leaf.source, item.leaf.line)
            out.append(ItemOutcome(item.name, Status.ERROR, (), message, (finding,)))
            continue
        out.append(ItemOutcome(item.name, item.status, tuple((p, str(s)) for p, s in statuses.items())))
    return out


def convert(
    result: Result,
    opts: Options,
    out_dir: str,
    vault: str,
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[Result, tuple[ItemOutcome, ...]]:
    """Steps 6-7: AKV bundles for every item without an error, then the manifest and report."""
    from .emit.write import prepare, remove_stale_temps

    path = prepare(out_dir)
    remove_stale_temps(path)
    ready = [i for i in result.items if i.status is not Status.ERROR]
    outcomes: list[ItemOutcome] = _map_chunks(
        _emit_chunk,
        ready,
        (str(path), vault, opts.content_type, force),
        jobs_for(opts, len(ready)),
        progress,
        "writing",
    )
    by_name = {o.name: o for o in outcomes}
    result = _with_late_findings(result, outcomes)
    all_outcomes = []
    for item in result.items:
        if item.name in by_name and not by_name[item.name].findings:
            all_outcomes.append(by_name[item.name])
        else:
            all_outcomes.append(_not_written(item))
    # 7. the run's own files: manifest, spreadsheet, report, import scripts
    from .emit.html import render_html
    from .emit.manifest import render_csv, render_import_ps1, render_import_sh, render_manifest
    from .emit.write import Output, write

    write(
        [
            Output("manifest.json", render_manifest(result, all_outcomes, vault, opts.content_type)),
            Output("manifest.csv", render_csv(result)),
            Output("report.html", render_html(result).encode("utf-8")),
            Output("import.sh", render_import_sh(all_outcomes, opts.content_type), mode=0o755),
            Output("import.ps1", render_import_ps1(all_outcomes, opts.content_type)),
        ],
        path,
        force=force,
    )
    return result, tuple(all_outcomes)


@dataclass(frozen=True, slots=True)
class ExportSettings:
    target: str
    key_format: str = "pkcs8"
    pfx_profile: str = "compat"
    password: bytes = field(default=b"", repr=False)
    vault: str = "example"
    force: bool = False


def _export_chunk(
    items: Sequence[Item], out_dir: str, settings: ExportSettings, opts: Options
) -> list[ItemOutcome]:
    from .emit.export import KeyFormat, Target, render_export
    from .emit.write import write

    out = []
    for item in items:
        try:
            outputs = render_export(
                item,
                Target(settings.target),
                key_format=KeyFormat(settings.key_format),
                pfx_profile=settings.pfx_profile,
                password=settings.password,
                vault=settings.vault,
                content_type=opts.content_type,
            )
        except ValueError as exc:
            out.append(_export_failed(item, f"{item.name}: cannot export to {settings.target}: {exc}."))
            continue
        root = Path(out_dir)
        existed = {o.relpath for o in outputs if (root / o.relpath).exists()}
        try:
            statuses = write(outputs, root, force=settings.force, overwrite=False)
        except FileExistsError as exc:
            # overwrite=False left every existing file as it was: removing the new ones undoes the item.
            _remove_new(root, outputs, existed)
            out.append(_export_failed(item, f"{item.name}: {exc}."))
            continue
        problem = _verify_written(item, outputs, root, settings, opts)
        if problem:
            _remove_new(root, outputs, existed - {p for p, s in statuses.items() if s == "written"})
            out.append(
                _export_failed(
                    item, f"{item.name}: written file failed its re-check: {problem.rstrip('.')}; removed."
                )
            )
            continue
        out.append(ItemOutcome(item.name, item.status, tuple((p, str(s)) for p, s in statuses.items())))
    return out


def _remove_new(root: Path, outputs: Sequence[Any], keep: set[str]) -> None:
    """Delete the outputs not in `keep`, then their folders if that left them empty."""
    for o in outputs:
        if o.relpath not in keep:
            (root / o.relpath).unlink(missing_ok=True)
    for folder in {(root / o.relpath).parent for o in outputs} - {root}:
        with contextlib.suppress(OSError):  # not empty
            folder.rmdir()


def _export_failed(item: Item, message: str) -> ItemOutcome:
    finding = catalog.EXPORT_FAILED.finding(message, item.leaf.source, item.leaf.line)
    return ItemOutcome(item.name, Status.ERROR, (), message, (finding,))


def _verify_written(
    item: Item, outputs: Sequence[Any], out_dir: Path, s: ExportSettings, opts: Options
) -> str | None:
    """Re-read every written file: key matches the leaf, certificates in order, PFX opens with the password."""
    from .models import SourceRef

    wanted = [item.leaf.der, *(c.der for c in item.chain)]
    candidates = (None, b"", s.password)
    for o in outputs:
        path = out_dir / o.relpath
        if path.suffix == ".json" and not o.relpath.endswith(("secret.json", "certificate.json")):
            continue
        parsed = parse(
            detect(discover.read(SourceRef(o.relpath, str(path)), opts.max_bytes)),
            candidates,
            opts.max_iterations,
        )
        if parsed.findings:
            return parsed.findings[0].message
        ders = [c.der for c in parsed.certs]
        if path.name in ("leaf.pem", "leaf.cer", "certificate.json"):
            if ders != wanted[:1]:
                return f"{o.relpath} does not hold the leaf"
        elif path.name == "chain.pem":
            if ders != wanted[1:]:
                return f"{o.relpath} does not hold the chain in order"
        elif ders and ders != wanted:
            return f"{o.relpath} does not hold leaf and chain in order"
        if parsed.keys and item.key is not None and parsed.keys[0].spki != item.key.spki:
            return f"{o.relpath} holds a key that is not the item's"
        if path.suffix == ".pfx":
            info = parsed.pkcs12
            expected = {"modern": "AES-256", "compat": "3DES", "legacy": "RC2"}.get(s.pfx_profile, "")
            if info is None or not any(
                expected.lower() in e.lower().replace("tripledes", "3des") for e in info.encryptions
            ):
                return f"{o.relpath} is not protected with {expected}"
    return None


def export(
    result: Result, opts: Options, out_dir: str, settings: ExportSettings, progress: Progress | None = None
) -> tuple[Result, tuple[ItemOutcome, ...]]:
    """Files for every item without an error, each re-read and checked after writing."""
    from .emit.write import prepare, remove_stale_temps

    path = prepare(out_dir)
    remove_stale_temps(path)
    ready = [i for i in result.items if i.status is not Status.ERROR]
    outcomes: list[ItemOutcome] = _map_chunks(
        _export_chunk, ready, (str(path), settings, opts), jobs_for(opts, len(ready)), progress, "writing"
    )
    by_name = {o.name: o for o in outcomes}
    result = _with_late_findings(result, outcomes)
    all_outcomes = [by_name.get(i.name) or _not_written(i) for i in result.items]
    return result, tuple(all_outcomes)


def _with_late_findings(result: Result, outcomes: Sequence[ItemOutcome]) -> Result:
    """The result with the findings writing added (a secret over the limit, a file that could not be written)."""
    late = {o.name: o.findings for o in outcomes if o.findings}
    if not late:
        return result
    items = tuple(
        replace(i, findings=(*i.findings, *late[i.name])) if i.name in late else i for i in result.items
    )
    return replace(result, items=items)


def _not_written(item: Item) -> ItemOutcome:
    errors = tuple(f for f in item.findings if f.severity.value == "error")
    reason = "; ".join(sorted({f.rule for f in errors})) or "error"
    return ItemOutcome(item.name, Status.ERROR, (), f"not written: {reason}", errors)
