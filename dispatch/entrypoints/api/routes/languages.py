"""Patients' languages: every ISO 639-1 code with its Thai and English names, the common ones first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dispatch.domain.languages import ordered
from dispatch.entrypoints.api.answers import LanguagesOut
from dispatch.entrypoints.api.deps import Reader, ServicesDep
from dispatch.entrypoints.api.openapi import answers

router = APIRouter(prefix="/api/languages", tags=["places"])


@router.get("", summary="Every ISO 639-1 language with its names in Thai and English; the report form's common "
                        "ones first (DISPATCH_COMMON_LANGUAGES), then the rest by English name",
            response_model=None, responses=answers(LanguagesOut))
def list_languages(actor: Reader, services: ServicesDep) -> dict[str, Any]:
    return {"languages": [{"code": name.code, "name_en": name.name_en, "name_th": name.name_th, "common": common}
                          for name, common in ordered(services.settings.common_languages)]}
