"""Every route of the staff page, under /ui/ (none of them in the OpenAPI document)."""

from fastapi import APIRouter

from triage.api.staff import pages, signin

router = APIRouter()
router.include_router(signin.router)
router.include_router(pages.router)
