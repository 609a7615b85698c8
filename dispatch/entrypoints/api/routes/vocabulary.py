"""The words of the domain as codes, and the limits of what people enter: the pages offer and check these and
translate the codes themselves (ui/js/i18n.js), so a set changed here is changed on every page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dispatch.domain.vocabulary import CODES, LIMITS
from dispatch.entrypoints.api.answers import VocabularyOut
from dispatch.entrypoints.api.deps import Reader
from dispatch.entrypoints.api.openapi import answers

router = APIRouter(prefix="/api/vocabulary", tags=["vocabulary"])


@router.get("", summary="Every closed set of codes (sources, triage colours, milestones...) and the input limits",
            response_model=None, responses=answers(VocabularyOut))
async def get_vocabulary(actor: Reader) -> dict[str, Any]:
    return {"codes": CODES, "limits": LIMITS}
