"""Background classification of a backlog: queue a job, poll it, page through its results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from triage.api.clean_request import CleanRoute
from triage.api.deps import JobQueueDep, require_scope
from triage.api.openapi import error_response
from triage.api.schemas import ErrorOut
from triage.api.schemas_jobs import JobIn, JobItemOut, JobOut
from triage.core.auth import ApiKey, Scope
from triage.core.errors import UnsupportedMediaTypeError
from triage.service.jobs import JobQueue
from triage.service.uploads import read_upload
from triage.store.jobs import Job

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1/jobs",
    tags=["jobs"],
    dependencies=[Depends(require_scope(Scope.CLASSIFY))],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)

_UPLOAD_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-lines": "jsonl",
}
ENCODING_HEADER = "X-Upload-Encoding"
_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/JobIn"}},
        "text/csv": {
            "schema": {"type": "string"},
            "example": "id,subject,body\nINC-1,VPN drops,The VPN disconnects every hour\n",
        },
        "application/x-ndjson": {
            "schema": {"type": "string"},
            "example": '{"id": "INC-1", "subject": "VPN drops"}\n',
        },
    },
}


def _job_out(
    job: Job, queue: JobQueue, request: Request, *, offset: int = 0, limit: int = 0
) -> JobOut:
    handled = job.done + job.failed
    out = JobOut(
        id=job.id,
        status=job.status.value,
        total=job.total,
        done=job.done,
        failed=job.failed,
        progress=round(handled / job.total, 4) if job.total else 1.0,
        model_version=job.model_version,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        links={"self": str(request.url_for("get_job", job_id=job.id))},
    )
    if job.ended and limit > 0:
        items = queue.results(job, offset=offset, limit=limit)
        out.results = [
            JobItemOut(
                position=item.position,
                id=item.ticket.get("id"),
                result=item.result,  # a dict, validated into the model
                error=item.error,
            )
            for item in items
        ]
        if offset + limit < job.total:
            url = request.url_for("get_job", job_id=job.id)
            out.links["next"] = str(url.include_query_params(offset=offset + limit, limit=limit))
    return out


def _charset(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"'):
            return value.strip().strip('"')
    return None


async def _tickets_from_request(
    request: Request, response: Response
) -> tuple[list[dict[str, Any]], bool, str]:
    header = request.headers.get("content-type", "")
    content_type = header.split(";")[0].strip().lower()
    body = await request.body()
    if content_type in _UPLOAD_TYPES:
        fmt = _UPLOAD_TYPES[content_type]
        explain = request.query_params.get("explain", "").lower() in ("1", "true", "yes")
        upload = read_upload(body, fmt, _charset(header))
        # Which encoding the file was read in; "; detected" when it was not UTF-8 and the
        # request named none.
        response.headers[ENCODING_HEADER] = upload.encoding + (
            "; detected" if upload.detected else ""
        )
        return upload.tickets, explain, fmt
    if content_type not in ("application/json", ""):
        raise UnsupportedMediaTypeError(
            f"unsupported content type {content_type!r}: send application/json, text/csv or "
            "application/x-ndjson"
        )
    try:
        job = JobIn.model_validate_json(body)
    except ValidationError as exc:
        # The same 422 as any other body: the shared handler names the field.
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=body) from exc
    tickets = [t.model_dump(include={"id", "subject", "body", "metadata"}) for t in job.tickets]
    return tickets, job.explain, "json"


@router.post(
    "/classify",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={413: {"model": ErrorOut}, 415: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def create_job(
    request: Request,
    response: Response,
    queue: JobQueueDep,
    key: Annotated[ApiKey | None, Depends(require_scope(Scope.CLASSIFY))],
) -> JobOut:
    """Queue tickets for classification in the background; answers 202 with the job to poll.

    Send JSON ``{"tickets": [...]}``, or a file as the body with ``Content-Type: text/csv``
    or ``application/x-ndjson`` (columns/keys ``id``, ``subject``, ``body``; add
    ``?explain=true`` for explanations). A file is read as UTF-8, in the ``charset`` of its
    Content-Type, or else in the encoding detected; the ``X-Upload-Encoding`` header says
    which. The job is committed before the 202.
    """
    tickets, explain, source = await _tickets_from_request(request, response)
    job = await run_in_threadpool(
        queue.submit,
        tickets,
        explain=explain,
        source=source,
        max_tickets=key.max_job_tickets if key else None,
    )
    response.headers["Location"] = str(request.url_for("get_job", job_id=job.id))
    return _job_out(job, queue, request)


@router.get(
    "/{job_id}",
    response_model=JobOut,
    responses={404: error_response("job_not_found", "no job '7fc19d818d7647c88973c659b5479bc1'")},
)
def get_job(
    job_id: Annotated[str, Path(examples=["7fc19d818d7647c88973c659b5479bc1"])],
    request: Request,
    queue: JobQueueDep,
    # Bounded: the database's OFFSET is a 64-bit integer (a larger one was a 500).
    offset: Annotated[
        int, Query(ge=0, le=2**31, description="First result to return.", examples=[0])
    ] = 0,
    limit: Annotated[
        int, Query(ge=0, le=5_000, description="Results per page.", examples=[100])
    ] = 1_000,
) -> JobOut:
    """Progress of a job; once it has ended, a page of its results in submission order."""
    job = queue.get(job_id)
    return _job_out(job, queue, request, offset=offset, limit=limit)
