"""Every route of the staff page, under /ui/ (none of them in the OpenAPI document)."""

from fastapi import APIRouter

from triage.api.clean_request import CleanRoute
from triage.api.staff import incident_page, pages, reports_page, signin

router = APIRouter(route_class=CleanRoute)
router.include_router(signin.router)
router.include_router(pages.router)
router.include_router(reports_page.router)
router.include_router(incident_page.router)
