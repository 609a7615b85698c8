"""The log's signed checkpoints and their public key, for officials to download and keep: with them, anyone
can later prove that the log was not cut short or rewritten before a kept checkpoint (docs/security.md)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends
from fastapi.responses import Response, StreamingResponse

from dispatch.adapters.eventlog.checkpoints import checkpoints_path, newest_line, public_key_path, whole_lines
from dispatch.domain.commands import Actor
from dispatch.domain.errors import NotFound
from dispatch.entrypoints.api.answers import CheckpointOut
from dispatch.entrypoints.api.deps import ServicesDep, require
from dispatch.entrypoints.api.openapi import answers, problems

router = APIRouter(prefix="/api/log/checkpoints", tags=["audit"])
Official = Annotated[Actor, Depends(require("official"))]
# Each answer is the file as it is now: a cached copy would hide the newest checkpoint.
_FRESH: Final[dict[str, str]] = {"Cache-Control": "no-store"}


class NoCheckpointYet(NotFound):
    code = "no_checkpoint"


@router.get("/latest", summary="The newest signed checkpoint of the log's head (keep it to verify later)",
            operation_id="latestCheckpoint", response_model=None, responses=answers(CheckpointOut, 404))
def latest(actor: Official, services: ServicesDep) -> Response:
    line = newest_line(checkpoints_path(services.settings))
    if line is None:
        raise NoCheckpointYet("no checkpoint has been published yet; the projector signs one once the log has "
                              "events")
    return Response(line, media_type="application/json", headers=_FRESH | {
        "Content-Disposition": 'attachment; filename="checkpoint-latest.json"'})


@router.get("", summary="Every signed checkpoint, one JSON object a line",
            operation_id="listCheckpoints", response_class=StreamingResponse, responses={
                200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                      "description": "the file to keep: one checkpoint (as latestCheckpoint answers) a line"},
                **problems(404)})
def every(actor: Official, services: ServicesDep) -> StreamingResponse:
    try:
        lines = whole_lines(checkpoints_path(services.settings))
    except FileNotFoundError as exc:
        raise NoCheckpointYet("no checkpoint has been published yet") from exc
    # A file to keep, not an answer to parse: octet-stream, which client generators take as a download (they
    # refuse the JSON Lines and PEM types), each line as latestCheckpoint answers; the public key likewise.
    return StreamingResponse(lines, media_type="application/octet-stream", headers=_FRESH | {
        "Content-Disposition": 'attachment; filename="checkpoints.jsonl"'})


@router.get("/public-key", summary="The Ed25519 public key (PEM) the checkpoints verify with",
            operation_id="checkpointPublicKey", response_class=Response, responses={
                200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                      "description": "the public key, PEM"}, **problems(404)})
def public_key(actor: Official, services: ServicesDep) -> Response:
    try:
        pem = public_key_path(services.settings).read_bytes()
    except FileNotFoundError as exc:
        raise NoCheckpointYet("the checkpoint public key has not been published yet") from exc
    return Response(pem, media_type="application/octet-stream", headers=_FRESH | {
        "Content-Disposition": 'attachment; filename="checkpoint-public-key.pem"'})
