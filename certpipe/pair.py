"""pair(parsed) -> items: every certificate and key pooled, matched by public key, chains ordered."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .catalog import CHAIN_ORDER, DUPLICATE, KEY_MISMATCH, NAME_COLLISION, ORPHAN_KEY
from .models import CertRecord, Finding, Item, KeyRecord, Pairing, Parsed
from .x509util import common_name, dns_names, is_ca, spki, subject

ChainBuilder = Callable[[x509.Certificate], Sequence[x509.Certificate]]
MAX_NAME = 127


def pair(
    parsed: Sequence[Parsed],
    chain_of: ChainBuilder,
    names: Mapping[str, str] | None = None,
    tag_from_path: bool = False,
    roots: Mapping[str, str] | None = None,
) -> Pairing:
    """Items from everything parsed: one per distinct end-entity certificate (or CA with its key)."""
    names = names or {}
    certs: dict[bytes, list[CertRecord]] = {}
    for p in parsed:
        for c in p.certs:
            certs.setdefault(c.der, []).append(c)
    keys: dict[bytes, list[KeyRecord]] = {}
    for p in parsed:
        for k in p.keys:
            keys.setdefault(k.spki, []).append(k)
    cert_spki = {der: spki(copies[0].cert.public_key()) for der, copies in certs.items()}
    by_path = {p.path: p for p in parsed}

    leaves = [der for der, copies in certs.items() if not is_ca(copies[0].cert) or cert_spki[der] in keys]
    # files that belong to some item (a key or an end-entity certificate): their CA copies are taken last
    bundles = {p.path for p in parsed if p.keys or any(not is_ca(c.cert) for c in p.certs)}
    copies_of = _Copies(certs, bundles)
    key_copies = _KeyCopies(keys)
    mismatched = _mismatches(parsed, keys, cert_spki)
    consumed_keys: set[bytes] = set()
    drafts: list[tuple[str, Item]] = []
    for der in leaves:
        copies = certs[der]
        leaf = copies[0]
        key = key_copies.pick(cert_spki[der], {c.source for c in copies})
        if key is not None:
            consumed_keys.add(key.spki)
        near = {c.source for c in copies} | ({key.source} if key else set())
        chain = tuple(copies_of.pick(c, near) for c in chain_of(leaf.cert))
        findings: list[Finding] = []
        who = subject(leaf.cert)
        sources = _unique([c.source for c in copies] + ([key.source] if key else []))
        if key is None and leaf.source in mismatched:
            wrong = mismatched[leaf.source]
            consumed_keys.add(wrong)
            findings.append(
                KEY_MISMATCH.finding(
                    f"{leaf.source}: the private key in this file does not belong to the certificate {who}.",
                    leaf.source,
                    leaf.line,
                )
            )
        files = _unique([c.source for c in copies])
        if len(files) > 1:
            findings.append(
                DUPLICATE.finding(
                    f"{who} appears in {len(files)} files ({', '.join(files)}); they are one item.",
                    files[0],
                    leaf.line,
                )
            )
        order = _order_problem([by_path[c.source] for c in copies], leaf, chain)
        if order:
            findings.append(
                CHAIN_ORDER.finding(
                    f"{order}: the chain of {who} is out of order; it is emitted leaf first.", order
                )
            )
        sha1 = hashlib.sha1(der).hexdigest()
        wanted = (
            names.get(sha1)
            or names.get(sha1.upper())
            or _named_by_path(names, sources)
            or akv_name(leaf.cert)
        )
        tags = (
            (("source-path", _folder(leaf.source, (roots or {}).get(leaf.source, ""))),)
            if tag_from_path
            else ()
        )
        drafts.append((sha1, Item(wanted, leaf, key, chain, sources, tuple(findings), tags)))

    items = _resolve_collisions(drafts)
    cert_keys = set(cert_spki.values())
    file_findings: list[Finding] = []
    for key_id, same_key in keys.items():
        if key_id in consumed_keys or key_id in cert_keys:
            continue
        for orphan in same_key:
            file_findings.append(
                ORPHAN_KEY.finding(
                    f"{orphan.source}: private key ({_key_desc(orphan)}) matches no certificate in the input.",
                    orphan.source,
                    orphan.line,
                )
            )
    return Pairing(items, tuple(file_findings), _used_by(items))


def akv_name(cert: x509.Certificate) -> str:
    """An AKV object name (^[0-9a-zA-Z-]{1,127}$) from the subject: '*.example.com' -> 'wildcard-example-com'."""
    base = common_name(cert) or (dns_names(cert) or [""])[0]
    base = base.strip()
    if base.startswith("*."):
        base = "wildcard-" + base[2:]
    name = re.sub(r"[^0-9A-Za-z-]+", "-", base)
    name = re.sub(r"-{2,}", "-", name).strip("-")[:MAX_NAME].strip("-")
    if not name:
        name = "cert-" + hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()[:12]
    return name


def _resolve_collisions(drafts: list[tuple[str, Item]]) -> tuple[Item, ...]:
    """Deterministic: by (name, source path, sha1) the first claimant keeps a name; the others get
    '-<sha1 prefix>', lengthened until it is free (a suffixed name must not take another item's name)."""
    from dataclasses import replace

    drafts.sort(key=lambda d: (d[1].name.lower(), d[1].leaf.source, d[0]))
    owner: dict[str, str] = {}  # every name wanted as-is, and its first claimant's source
    for _, item in drafts:
        owner.setdefault(item.name.lower(), item.leaf.source)
    taken = set(owner)
    kept: set[str] = set()
    out: list[Item] = []
    for sha1, item in drafts:
        name = item.name
        if name.lower() not in kept:
            kept.add(name.lower())
            out.append(item)
            continue
        for width in (8, 12, 16, 24, 40):
            suffix = "-" + sha1[:width]
            new = name[: MAX_NAME - len(suffix)] + suffix
            if new.lower() not in taken:
                break
        else:  # pragma: no cover - needs a SHA-1 collision
            new = name[: MAX_NAME - 48] + "-" + sha1 + f"-{len(out)}"
        taken.add(new.lower())
        finding = NAME_COLLISION.finding(
            f"{item.leaf.source}: the name '{name}' is already taken by {owner[name.lower()]}; "
            f"this item is named '{new}'.",
            item.leaf.source,
            item.leaf.line,
        )
        out.append(replace(item, name=new, findings=(*item.findings, finding)))
    out.sort(key=lambda i: i.name.lower())
    return tuple(out)


def _mismatches(
    parsed: Sequence[Parsed], keys: dict[bytes, list[KeyRecord]], cert_spki: dict[bytes, bytes]
) -> dict[str, bytes]:
    """Files holding end-entity certificates and a key that belongs to none of the certificates anywhere."""
    all_cert_keys = set(cert_spki.values())
    out: dict[str, bytes] = {}
    for p in parsed:
        if not p.keys or not p.certs:
            continue
        for k in p.keys:
            if k.spki not in all_cert_keys:
                out[p.path] = k.spki
                break
    return out


class _KeyCopies:
    """Which copy of a key an item uses: in the certificate's own file, else beside it (same stem first),
    else the first anywhere. Indexed once per key, since one key may serve many certificates."""

    def __init__(self, keys: dict[bytes, list[KeyRecord]]) -> None:
        self._keys = keys
        self._index: dict[bytes, tuple[dict[str, KeyRecord], dict[str, KeyRecord], dict[str, KeyRecord]]] = {}

    def pick(self, key_id: bytes, files: set[str]) -> KeyRecord | None:
        copies = self._keys.get(key_id)
        if not copies:
            return None
        if key_id not in self._index:
            by_file: dict[str, KeyRecord] = {}
            by_stem: dict[str, KeyRecord] = {}
            by_folder: dict[str, KeyRecord] = {}
            for k in copies:
                by_file.setdefault(k.source, k)
                by_stem.setdefault(k.source.rsplit(".", 1)[0], k)
                by_folder.setdefault(_folder(k.source), k)
            self._index[key_id] = (by_file, by_stem, by_folder)
        by_file, by_stem, by_folder = self._index[key_id]
        ordered = sorted(files)
        for table, key_of in ((by_file, str), (by_stem, lambda f: f.rsplit(".", 1)[0]), (by_folder, _folder)):
            for f in ordered:
                found = table.get(key_of(f))
                if found is not None:
                    return found
        return copies[0]


def _order_problem(parsed: Sequence[Parsed], leaf: CertRecord, chain: tuple[CertRecord, ...]) -> str | None:
    """The file that lists this item's certificates in another order than leaf, issuer, ..., root."""
    wanted = [leaf.der, *(c.der for c in chain)]
    rank = {der: i for i, der in enumerate(wanted)}
    for p in parsed:
        seen = [rank[c.der] for c in p.certs if c.der in rank]
        if len(seen) > 1 and rank[leaf.der] in seen and seen != sorted(seen):
            return p.path
    return None


class _Copies:
    """Which copy of a chain certificate an item uses: the one in its own file, else in its folder, else
    in a CA-only file, else the first. Indexed once per certificate: an estate's intermediate has a copy
    in every PFX and fullchain.pem, and scanning them per item would be quadratic."""

    def __init__(self, certs: dict[bytes, list[CertRecord]], bundles: set[str]) -> None:
        self._certs = certs
        self._bundles = bundles
        self._index: dict[bytes, tuple[dict[str, CertRecord], dict[str, CertRecord], CertRecord]] = {}

    def pick(self, cert: x509.Certificate, near: set[str]) -> CertRecord:
        der = cert.public_bytes(serialization.Encoding.DER)
        copies = self._certs.get(der)
        if not copies:
            return CertRecord(der, cert, "(trust store)")
        if der not in self._index:
            by_file: dict[str, CertRecord] = {}
            by_folder: dict[str, CertRecord] = {}
            for c in copies:
                by_file.setdefault(c.source, c)
                by_folder.setdefault(_folder(c.source), c)
            fallback = next((c for c in copies if c.source not in self._bundles), copies[0])
            self._index[der] = (by_file, by_folder, fallback)
        by_file, by_folder, fallback = self._index[der]
        for f in sorted(near):
            if f in by_file:
                return by_file[f]
        for f in sorted(near):
            if _folder(f) in by_folder:
                return by_folder[_folder(f)]
        return fallback


def _used_by(items: tuple[Item, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    used: dict[str, list[str]] = defaultdict(list)
    for item in items:
        files = [*item.sources, *(c.source for c in item.chain)]
        for f in _unique(files):
            used[f].append(item.name)
    return tuple(sorted((f, tuple(n)) for f, n in used.items()))


def _named_by_path(names: Mapping[str, str], sources: Sequence[str]) -> str | None:
    for s in sources:
        if s in names:
            return names[s]
    return None


def _folder(path: str, root: str = "") -> str:
    """The folder of path, relative to the scanned root it was found under."""
    root = root.rstrip("/")
    if root and path.startswith(root + "/"):
        path = path[len(root) + 1 :]
    return path.rsplit("/", 1)[0] if "/" in path else "."


def _key_desc(k: KeyRecord) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = k.key
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC {key.curve.name}"
    return type(key).__name__.replace("PrivateKey", "").lstrip("_")


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
