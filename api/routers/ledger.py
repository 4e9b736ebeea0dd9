"""``/v1/ledger``: checkpoints, the verifier key, proofs and raw entries for auditors."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from api.deps import AuditorOnly, RuntimeDep

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

MAX_INDEX = 2**62  # beyond any log; keeps parameters inside the databases' 64-bit integers


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class InclusionProof(BaseModel):
    index: int = Field(examples=[3])
    size: int = Field(examples=[8])
    leaf_hash: str = Field(description="base64 of SHA-256(0x00 || entry)")
    proof: list[str] = Field(description="base64 node hashes, RFC 9162 §2.1.3 order")


class ConsistencyProof(BaseModel):
    from_: int = Field(alias="from", examples=[4])
    to: int = Field(examples=[8])
    proof: list[str] = Field(description="base64 node hashes, RFC 9162 §2.1.4 order")

    model_config = {"populate_by_name": True}


class LedgerEntry(BaseModel):
    index: int
    entry: str = Field(description="base64 of the exact canonical entry bytes")


class LedgerEntries(BaseModel):
    entries: list[LedgerEntry]


@router.get("/checkpoint", response_class=PlainTextResponse, summary="A signed checkpoint")
def get_checkpoint(
    runtime: RuntimeDep,
    size: Annotated[
        int | None,
        Query(ge=0, le=MAX_INDEX, description="An earlier checkpoint's tree size; omit for the latest"),
    ] = None,
) -> PlainTextResponse:
    """A C2SP tlog-checkpoint signed as a C2SP signed note: the latest (signing one now if the log
    grew), or the one signed at ``size``. Every signed checkpoint is kept."""
    checkpointer = runtime.checkpointer
    stored = checkpointer.checkpoint() if size is None else checkpointer.checkpoint_at(size)
    return PlainTextResponse(stored.note)


@router.get("/vkey", response_class=PlainTextResponse, summary="Verifier key of the checkpoints")
def get_vkey(runtime: RuntimeDep) -> PlainTextResponse:
    return PlainTextResponse(runtime.checkpointer.signer.vkey + "\n")


@router.get("/proof/inclusion", response_model=InclusionProof)
def get_inclusion_proof(
    runtime: RuntimeDep,
    index: Annotated[int, Query(ge=0, le=MAX_INDEX, description="Leaf index")],
    size: Annotated[int, Query(ge=1, le=MAX_INDEX, description="Tree size the proof is for")],
) -> InclusionProof:
    leaf, proof = runtime.ledger.inclusion_proof(index, size)
    return InclusionProof(index=index, size=size, leaf_hash=b64(leaf), proof=[b64(p) for p in proof])


@router.get("/proof/consistency", response_model=ConsistencyProof, response_model_by_alias=True)
def get_consistency_proof(
    runtime: RuntimeDep,
    from_: Annotated[int, Query(alias="from", ge=0, le=MAX_INDEX, description="Earlier tree size")],
    to: Annotated[int, Query(ge=0, le=MAX_INDEX, description="Later tree size")],
) -> ConsistencyProof:
    proof = runtime.ledger.consistency_proof(from_, to)
    return ConsistencyProof(from_=from_, to=to, proof=[b64(p) for p in proof])


@router.get("/entries", response_model=LedgerEntries, dependencies=[AuditorOnly])
def get_entries(
    runtime: RuntimeDep,
    start: Annotated[int, Query(ge=0, le=MAX_INDEX, description="First leaf index")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most 1000 entries")] = 100,
) -> LedgerEntries:
    return LedgerEntries(
        entries=[LedgerEntry(index=i, entry=b64(e)) for i, e in runtime.ledger.entries(start, limit)]
    )
