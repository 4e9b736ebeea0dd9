"""``POST /v1/reads``: a recognition pipeline or camera appends a batch of reads with a device token.

One route, three bodies (see ``api.schemas_reads``): our JSON batch, an OpenALPR ``alpr_group``
webhook result, or multipart/form-data with a ``reads`` JSON part and image file parts
``plate_image[i]`` / ``vehicle_image[i]``. The batch is stored atomically or rejected whole
(422, one error per bad item). A device token bound to a camera may send that camera's reads
only: a read of another camera refuses the whole batch with 403, recorded as an access denial.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from api.deps import Authorize, RuntimeDep
from api.errors import PROBLEM, Problem, problem
from api.schemas_reads import (
    IMAGE_PART,
    Document,
    Mapped,
    ReadsIngested,
    parse_document,
    read_from_alpr_group,
    reads_from_batch,
    request_body_openapi,
)
from domain.account import Principal
from domain.errors import AccessDeniedError, ConflictError, DomainError, InvalidFieldError
from ledger.blobs import blob_digest
from ops.bootstrap import Runtime
from ops.commands.reads import MAX_BATCH, BatchRejectedError

router = APIRouter(prefix="/v1/reads", tags=["reads"])

MAX_JSON_PART = 32 * 1024 * 1024  # the ``reads`` part of a multipart body, base64 images included
MAX_BODY = 64 * 1024 * 1024
"""Largest request body accepted (413 beyond it): read whole before parsing, so it bounds memory.
A batch with many full-frame images should be split into several smaller batches."""


@router.post(
    "",
    status_code=201,
    response_model=ReadsIngested,
    summary="Append a batch of reads (device token)",
    openapi_extra=request_body_openapi(),
    responses={
        409: {
            "model": Problem,
            "description": "A (camera_id, capture_id) is already used by a read with different content",
            "content": {PROBLEM: {}},
        },
        413: {"model": Problem, "description": "The body is larger than 64 MiB", "content": {PROBLEM: {}}},
        415: {"model": Problem, "description": "Not JSON or multipart", "content": {PROBLEM: {}}},
    },
)
async def ingest_reads(
    request: Request,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("reads.ingest")],
) -> ReadsIngested | JSONResponse:
    """Store up to 1,000 reads atomically; retries with the same (camera_id, capture_id) and the
    same content store nothing new and return the stored ids; different content under a used
    (camera_id, capture_id) refuses the batch (409). Every read's camera must be registered and in
    service. Bodies larger than 64 MiB are refused (413)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("multipart/form-data", "application/json") or content_type.endswith("+json"):
        # Read (and cache) the body under the cap first; the multipart parser reuses the cache.
        if not await _body_within_cap(request):
            return problem(
                413,
                "Request body too large",
                f"the body must be at most {MAX_BODY // (1024 * 1024)} MiB; split the batch",
                errors=[{"field": "request", "rule": "body.size", "message": f"at most {MAX_BODY} bytes"}],
            )
    files: dict[tuple[str, int], bytes] = {}
    part_errors: list[InvalidFieldError] = []
    if content_type == "multipart/form-data":
        document, files, part_errors = await _multipart(request)
    elif content_type == "application/json" or content_type.endswith("+json"):
        document = parse_document(await request.body())
    else:
        return problem(
            415,
            "Unsupported media type",
            "send application/json or multipart/form-data",
            errors=[{"field": "content-type", "rule": "content_type.unsupported", "message": content_type}],
        )
    path = f"{request.method} {request.url.path}"
    return await run_in_threadpool(_ingest, runtime, who, document, files, part_errors, path)


async def _body_within_cap(request: Request) -> bool:
    """Read the body into ``request``'s cache unless it exceeds :data:`MAX_BODY`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return False
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return False
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette's own cache: request.body() and form() reuse it
    return True


def _ingest(
    runtime: Runtime,
    who: Principal,
    document: Document,
    files: dict[tuple[str, int], bytes],
    part_errors: list[InvalidFieldError],
    path: str,
) -> ReadsIngested:
    try:
        mapped = _mapped(runtime, document, files)
    except BatchRejectedError as rejected:
        raise BatchRejectedError(part_errors + rejected.errors) from None
    if part_errors:
        raise BatchRejectedError(part_errors)
    if mapped is None:
        return ReadsIngested(read_ids=[], duplicates=[], hits=[])  # heartbeat or preview
    try:
        result = runtime.app.ingest_reads(mapped.reads, images=mapped.images, bound_camera_id=who.camera_id)
    except BatchRejectedError as rejected:
        raise BatchRejectedError([mapped.rename(e) for e in rejected.errors]) from None
    except AccessDeniedError as denied:
        runtime.app.record_access_denied(who, permission="reads.ingest", path=path, rule=denied.rule)
        raise mapped_denial(denied, mapped) from None
    except ConflictError as conflict:  # named as the client sent it (an alpr_group's own field)
        renamed = mapped.rename(InvalidFieldError(conflict.field, conflict.rule, conflict.message))
        raise ConflictError(renamed.field, conflict.rule, conflict.message) from None
    return ReadsIngested(
        read_ids=[str(i) for i in result.read_ids],
        duplicates=list(result.duplicates),
        hits=[str(i) for i in result.hit_ids],
    )


def _mapped(runtime: Runtime, document: Document, files: dict[tuple[str, int], bytes]) -> Mapped | None:
    if document.group is not None:
        mapped = read_from_alpr_group(document.group, runtime.app.find_camera(str(document.group.camera_id)))
        return _with_files(mapped, files) if files else mapped
    if document.batch is not None:
        return reads_from_batch(document.batch, files)
    return None


def mapped_denial(denied: AccessDeniedError, mapped: Mapped) -> AccessDeniedError:
    renamed = mapped.rename(InvalidFieldError(denied.field, denied.rule, denied.message))
    return AccessDeniedError(renamed.field, denied.rule, denied.message)


def _with_files(mapped: Mapped, files: dict[tuple[str, int], bytes]) -> Mapped:
    """An alpr_group's images sent as file parts instead of base64 inside the JSON."""
    read = mapped.reads[0]
    images = dict(mapped.images)
    changes: dict[str, str] = {}
    errors: list[InvalidFieldError] = []
    for (name, position), data in files.items():
        if position != 0:
            errors.append(
                InvalidFieldError(
                    f"{name}[{position}]", "image.unmatched", "an alpr_group is one read: use [0]"
                )
            )
        elif getattr(read, name) is not None:
            errors.append(InvalidFieldError(f"{name}[0]", "image.conflict", "is also given inside the JSON"))
        elif not data:
            errors.append(InvalidFieldError(f"{name}[0]", "image.empty", "must not be empty"))
        else:
            changes[name] = blob_digest(data)
            images[changes[name]] = data
    if errors:
        raise BatchRejectedError(errors)
    read = dataclasses.replace(
        read,
        plate_image=changes.get("plate_image", read.plate_image),
        vehicle_image=changes.get("vehicle_image", read.vehicle_image),
    )
    return Mapped([read], images, mapped.rename)


async def _multipart(
    request: Request,
) -> tuple[Document, dict[tuple[str, int], bytes], list[InvalidFieldError]]:
    """The ``reads`` document, the image parts by (field, position), and errors in part names."""
    try:
        form = await request.form(max_files=2 * MAX_BATCH, max_fields=16, max_part_size=MAX_JSON_PART)
    except HTTPException as exc:  # Starlette's answer to a malformed body; ours is problem+json
        raise DomainError("request", "multipart.invalid", str(exc.detail)) from None
    document: Document | None = None
    files: dict[tuple[str, int], bytes] = {}
    errors: list[InvalidFieldError] = []
    try:
        for name, value in form.multi_items():
            if name == "reads":
                raw = await value.read() if isinstance(value, UploadFile) else value.encode()
                document = parse_document(raw)
                continue
            match = IMAGE_PART.fullmatch(name)
            if match is None:
                errors.append(
                    InvalidFieldError(
                        name, "multipart.part_unknown", "parts are reads, plate_image[i] and vehicle_image[i]"
                    )
                )
                continue
            key = (match.group(1), int(match.group(2)))
            if key in files:
                errors.append(InvalidFieldError(name, "multipart.part_repeated", "is given twice"))
                continue
            files[key] = await value.read() if isinstance(value, UploadFile) else value.encode()
    finally:
        await form.close()
    if document is None:
        errors.insert(0, InvalidFieldError("reads", "reads.required", "a multipart body needs a reads part"))
        raise BatchRejectedError(errors)
    return document, files, errors
