"""Model archives: a version's model folder as one zip that another ctir instance (or this
one) takes in as a new version of a project with the same categories.

An archive holds
  model/...         the version's folder as it is: label_map.json (labels, calibration,
                    the served candidate), tfidf.joblib, the encoder's Hugging Face files
                    where the version has one, metrics.json
  model_card.json   what the model is: categories, data, recipe, figures, where it came from
  MODEL_CARD.md     the same card for people
  manifest.json     the sha256 of every other file, signed with HMAC-SHA256 under
                    CTIR_MODEL_SIGNING_KEY (by default a key derived from SECRET_KEY)

Why the checks come before anything is unpacked: tfidf.joblib is a pickle and the encoder
folder is read by transformers, so loading an archive runs what is in it. An instance
loads only files whose bytes another instance holding the same key signed, in a zip that
cannot write outside its folder or expand without bound.

Plain Python and zipfile, no torch: the web process writes and checks archives; only a
worker loads the model in one (modeling.jobs.evaluate_imported).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from django.utils.crypto import salted_hmac

FORMAT = "ctir-model-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CARD = "model_card.json"
CARD_TEXT = "MODEL_CARD.md"
MODEL = "model/"  # the model folder's files, under this prefix
LABEL_MAP = MODEL + "label_map.json"
_MB = 1024 * 1024
# What a model archive may cost to read, checked from the zip's directory before any part
# is inflated (the habits of the .xlsx import: annotation/importing/readers/xlsx.py). A
# BERT-base folder is about 450 MB; a setting raises the limits for larger encoders.
MAX_ARCHIVE_BYTES = 2048 * _MB
MAX_EXPANDED_BYTES = 4096 * _MB
MAX_PARTS = 200  # a model folder has a dozen files
MAX_RATIO = 100  # weights barely compress; a part compressed 100 times is a bomb
RATIO_FLOOR = 4 * _MB  # small JSON and vocabulary files may compress far better
MAX_JSON_BYTES = 10 * _MB  # the manifest, the card, label_map.json
_CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")


class ArchiveError(ValueError):
    """An archive cannot be made or taken in; the message says why, for the page and API."""


def limit(name: str) -> int:
    """A limit, overridable by a setting of the same name with CTIR_MODEL_ARCHIVE_ before it
    (CTIR_MODEL_ARCHIVE_MAX_ARCHIVE_BYTES, ...), so tests and big encoders can change it."""
    return int(getattr(settings, f"CTIR_MODEL_ARCHIVE_{name}", globals()[name]))


# --- The key ------------------------------------------------------------------------------


def signing_key() -> bytes:
    """CTIR_MODEL_SIGNING_KEY, or one derived from SECRET_KEY: archives move between two
    instances only when an admin gives both the same CTIR_MODEL_SIGNING_KEY; with the
    default, an instance takes back only its own archives."""
    if settings.CTIR_MODEL_SIGNING_KEY:
        return settings.CTIR_MODEL_SIGNING_KEY.encode()
    return salted_hmac("ctir.modeling.archive", "model signing key",
                       algorithm="sha256").hexdigest().encode()


def key_id(key: bytes) -> str:
    """Names a key without giving it away, so a refusal can tell "another key" from "changed
    after signing"."""
    return hmac.new(key, b"ctir model archive key id", hashlib.sha256).hexdigest()[:16]


def _signature(files: dict[str, str], key: bytes) -> str:
    payload = json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, "files": files},
                         sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def manifest_for(files: dict[str, str], key: bytes | None = None) -> dict:
    """The manifest of files (name -> sha256), signed with `key` (this instance's by default)."""
    key = key or signing_key()
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "files": dict(sorted(
        files.items())), "signature": {"algorithm": "HMAC-SHA256", "key_id": key_id(key),
                                       "value": _signature(files, key)}}


# --- Writing --------------------------------------------------------------------------------


def archive_write(folder: Path, card: dict, card_text: str, handle: IO[bytes]) -> None:
    """The archive of a model folder into `handle`: the folder's files under model/, the card
    in two forms, and the signed manifest last."""
    files: dict[str, str] = {}
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        for path in sorted(folder.rglob("*")):
            # A training job writes plain files; anything else (a link left by hand) stays.
            if path.is_symlink() or not path.is_file():
                continue
            name = MODEL + path.relative_to(folder).as_posix()
            digest = hashlib.sha256()
            with open(path, "rb") as source, out.open(name, "w", force_zip64=True) as target:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
            files[name] = digest.hexdigest()
        for name, text in ((CARD, json.dumps(card, indent=2, ensure_ascii=False)),
                           (CARD_TEXT, card_text)):
            data = text.encode()
            out.writestr(name, data)
            files[name] = hashlib.sha256(data).hexdigest()
        out.writestr(MANIFEST, json.dumps(manifest_for(files), indent=2))


def card_text(card: dict) -> str:
    """MODEL_CARD.md: the card as a person reads it."""
    version, exported = card["version"], card["exported"]
    lines = [f"# {card['project']['name']} v{version['number']}", "",
             f"Exported from ctir instance `{exported['instance']}` on {exported['at']} "
             f"(ctir {exported['ctir_version']}, archive format {FORMAT_VERSION}).", "",
             f"Serves: **{card['served']}**. Base model: `{version['base_model']}`. "
             f"Trained {version.get('finished_at') or 'at an unknown time'}.", "",
             "## Categories", "", "| code | name |", "|---|---|"]
    lines += [f"| {c['code']} | {c['name']} |" for c in card["categories"]]
    lines += ["", "## Data at training time", ""]
    for split, counts in card["data"]["counts"].items():
        detail = ", ".join(f"{code}: {n}" for code, n in counts.items()) \
            if isinstance(counts, dict) else str(counts)
        lines.append(f"- {split}: {detail}")
    lines += ["", f"({card['data']['source']})", "", "## Recipe", ""]
    lines += [f"- {k}: {v}" for k, v in card["recipe"].items()] or ["- (none recorded)"]
    lines += ["", "## Figures (on the exporting instance's splits)", ""]
    for split in ("validation", "test"):
        block = (card["metrics"] or {}).get(split) or {}
        if block.get("accuracy") is not None:
            lines.append(f"- {split}: accuracy {block['accuracy']:.3f} "
                         f"({block.get('correct')}/{block.get('n')}), macro F1 "
                         f"{block.get('macro_f1', 0):.3f}")
    lines += ["", "An instance that imports this archive scores it again on its own "
              "validation split before it can be promoted.", ""]
    return "\n".join(lines)


# --- Checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedArchive:
    """An archive whose zip, signature, checksums and categories were checked."""

    manifest: dict
    card: dict
    label_map: dict
    model_files: tuple[str, ...]  # the names under model/


def archive_check(source: Path | IO[bytes], *, categories: list[tuple[int, str]]
                  ) -> CheckedArchive:
    """Check an uploaded archive without loading anything it holds: the zip itself (names,
    links, sizes), the manifest's signature under this instance's key, every file's
    sha256, and the categories against the project's `categories` ((code, name), by code).
    Raises ArchiveError with the reason."""
    try:
        with zipfile.ZipFile(source) as archive:
            parts = _checked_parts(archive)
            manifest = _manifest(archive, parts)
            for name in manifest["files"]:
                if _sha256(archive, parts[name]) != manifest["files"][name]:
                    raise ArchiveError(f"file {name} does not match the manifest")
            card = _json(archive, parts[CARD])
            label_map = _json(archive, parts[LABEL_MAP])
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"not a readable zip archive ({exc})") from exc
    _check_categories(card, label_map, categories)
    return CheckedArchive(manifest=manifest, card=card, label_map=label_map,
                          model_files=tuple(n for n in manifest["files"] if n.startswith(MODEL)))


def _checked_parts(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limit("MAX_PARTS"):
        raise ArchiveError(f"{len(infos):,} files in the zip; a model archive has a few dozen")
    expanded = sum(info.file_size for info in infos)
    if expanded > limit("MAX_EXPANDED_BYTES"):
        raise ArchiveError(f"it expands to {expanded / _MB:,.0f} MB; model archives are read "
                           f"up to {limit('MAX_EXPANDED_BYTES') / _MB:,.0f} MB")
    parts: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        _check_name(name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArchiveError(f"{name[:100]} is a symbolic link; an archive holds plain files")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{name[:100]} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveError(f"{name[:100]} is compressed with method {info.compress_type}; "
                               "ctir writes stored or deflated files only")
        if info.file_size > max(limit("RATIO_FLOOR"), limit("MAX_RATIO") * info.compress_size):
            raise ArchiveError(
                f"{name[:100]} expands {info.file_size / max(info.compress_size, 1):,.0f} "
                f"times ({info.compress_size:,} bytes to {info.file_size / _MB:,.0f} MB): "
                "refused as a decompression bomb")
        if info.is_dir():
            continue
        if name in parts:
            raise ArchiveError(f"{name[:100]} is in the zip twice")
        parts[name] = info
    return parts


def _check_name(name: str) -> None:
    """A member name that stays inside the folder it is unpacked to: relative, forward
    slashes, no '..', plain characters."""
    path = PurePosixPath(name)
    bad = (not name or name.startswith("/") or "\\" in name or "\x00" in name
           or ":" in name or any(part in ("..", ".") for part in path.parts)
           or not all(_SAFE_NAME.fullmatch(part) for part in path.parts))
    if bad:
        raise ArchiveError(f"the path {name[:100]!r} would leave the model folder or is not "
                           "a plain file name")


def _manifest(archive: zipfile.ZipFile, parts: dict[str, zipfile.ZipInfo]) -> dict:
    if MANIFEST not in parts:
        raise ArchiveError("no manifest: not a ctir model archive")
    manifest = _json(archive, parts[MANIFEST])
    files, signature = manifest.get("files"), manifest.get("signature")
    if (manifest.get("format") != FORMAT or not isinstance(files, dict)
            or not isinstance(signature, dict)
            or not all(isinstance(v, str) for v in [*files, *files.values()])):
        raise ArchiveError("the manifest is not a ctir model archive's")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(f"archive format {manifest.get('format_version')!r}; this ctir "
                           f"reads format {FORMAT_VERSION}")
    key = signing_key()
    if not hmac.compare_digest(str(signature.get("key_id", "")), key_id(key)):
        raise ArchiveError("signed with another key: set CTIR_MODEL_SIGNING_KEY to the "
                           "exporting instance's")
    if not hmac.compare_digest(str(signature.get("value", "")), _signature(files, key)):
        raise ArchiveError("the manifest was changed after it was signed")
    for name in parts:
        if name != MANIFEST and name not in files:
            raise ArchiveError(f"file {name[:100]} is not in the manifest")
    for name in files:
        if name not in parts:
            raise ArchiveError(f"file {name[:100]} of the manifest is missing")
    for needed in (CARD, LABEL_MAP):
        if needed not in files:
            raise ArchiveError(f"no {needed}: not a ctir model archive")
    return manifest


def _sha256(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    # zipfile never inflates past the size its directory gives, and fails on a bad CRC.
    with archive.open(info) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _json(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
    if info.file_size > limit("MAX_JSON_BYTES"):
        raise ArchiveError(f"{info.filename} is {info.file_size / _MB:,.0f} MB; too big")
    try:
        data = json.loads(archive.read(info).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"{info.filename} is not JSON ({type(exc).__name__})") from exc
    if not isinstance(data, dict):
        raise ArchiveError(f"{info.filename} is not a JSON object")
    return data


def _check_categories(card: dict, label_map: dict, categories: list[tuple[int, str]]) -> None:
    """The model's outputs are the exporting project's codes in order: they must be this
    project's, or every prediction would name the wrong category."""
    ours = [code for code, _ in categories]
    try:
        theirs = [int(c["code"]) for c in card.get("categories") or []]
        labels = [int(c) for c in label_map.get("labels") or []]
    except (TypeError, ValueError, KeyError) as exc:
        raise ArchiveError("the card's categories cannot be read") from exc
    if labels != theirs:
        raise ArchiveError("the model's labels and its card's categories differ")
    if theirs != ours:
        names = {int(c["code"]): c.get("name", "") for c in card["categories"]}
        raise ArchiveError(
            "the categories differ: the archive's are "
            f"{', '.join(f'{c} {names[c]}' for c in theirs) or 'none'}; this project's are "
            f"{', '.join(f'{c} {n}' for c, n in categories) or 'none'}")


# --- Unpacking ------------------------------------------------------------------------------


def archive_unpack(source: Path | IO[bytes], checked: CheckedArchive, target: Path) -> None:
    """The model folder of a checked archive into `target` (which must not exist yet): into
    a hidden sibling first, each file's sha256 checked again as it is written, then renamed
    into place in one step, so a half-written folder is never a model."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}-{secrets.token_hex(4)}.tmp")
    try:
        tmp.mkdir()
        with zipfile.ZipFile(source) as archive:
            for name in checked.model_files:
                path = tmp.joinpath(*PurePosixPath(name[len(MODEL):]).parts)
                if tmp.resolve() not in path.resolve().parents:
                    raise ArchiveError(f"the path {name[:100]!r} would leave the model folder")
                path.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with archive.open(name) as part, open(path, "xb") as out:
                    while chunk := part.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != checked.manifest["files"][name]:
                    raise ArchiveError(f"file {name} does not match the manifest")
        if target.exists():
            raise ArchiveError(f"{target} appeared while unpacking")
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def manifest_digest(manifest: dict) -> str:
    """Names an archive's contents in one string (its signed manifest's sha256)."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
