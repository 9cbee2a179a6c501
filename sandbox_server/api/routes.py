"""The /v1 endpoints of DESIGN.md. Handlers are thin: parse, call the service, shape the reply."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from sandbox_server.api.deps import ServiceDep, UserDep
from sandbox_server.errors import DatasetInvalid
from sandbox_server.registry import Dataset
from sandbox_server.schemas import (
    AskRequest,
    Capsule,
    ColumnDetail,
    DatasetDetail,
    DatasetSummary,
    RunRequest,
    RunResponse,
    TableDetail,
)
from sandbox_server.uploads import ingest

router = APIRouter(prefix="/v1")
SAMPLE_VALUES = 5


def summary(d: Dataset) -> DatasetSummary:
    return DatasetSummary(
        id=d.id,
        name=d.name,
        description=d.description,
        tables=d.table_names,
        version_hash=d.version_hash,
        prompts=d.prompts,
        owner=d.owner,
    )


def detail(d: Dataset) -> DatasetDetail:
    def samples(c: Any) -> list[Any]:
        if c.profile.values:
            return c.profile.values[:SAMPLE_VALUES]
        return [v for v in (c.profile.min, c.profile.max) if v is not None]

    return DatasetDetail(
        **summary(d).model_dump(exclude={"tables"}),
        tables=[
            TableDetail(
                name=t.name,
                description=t.description,
                row_count=t.row_count,
                columns=[
                    ColumnDetail(
                        name=c.name,
                        type=c.type,
                        description=c.description,
                        nullable=c.nullable,
                        sample_values=samples(c),
                    )
                    for c in t.columns
                ],
            )
            for t in d.tables
        ],
        relationships=[{"from": r.from_, "to": r.to} for r in d.relationships],
        measures=[m.model_dump(mode="json") for m in d.measures],
    )


@router.get("/datasets", response_model=list[DatasetSummary])
def list_datasets(service: ServiceDep, user: UserDep) -> list[DatasetSummary]:
    return [summary(d) for d in service.catalog.list(user)]


@router.get("/datasets/{dataset_id}", response_model=DatasetDetail)
def get_dataset(dataset_id: str, service: ServiceDep, user: UserDep) -> DatasetDetail:
    return detail(service.catalog.get(dataset_id, user))


@router.post("/datasets", response_model=DatasetSummary, status_code=201)
def upload_dataset(
    service: ServiceDep,
    user: UserDep,
    files: Annotated[list[UploadFile], File(description="CSV files, one table each, named after the file")],
    name: Annotated[str, Form(description="The dataset's name")],
) -> DatasetSummary:
    limit = service.settings.upload_max_bytes
    contents: list[tuple[str, bytes]] = []
    total = 0
    for upload in files:
        data = upload.file.read(limit - total + 1)
        total += len(data)
        if total > limit:
            raise DatasetInvalid(
                f"upload is larger than the limit of {limit:,} bytes",
                suggestion="upload fewer or smaller files, or raise CSVANALYST_UPLOAD_MAX_BYTES",
            )
        contents.append((upload.filename or "upload.csv", data))
    dataset = ingest(
        contents,
        name=name,
        owner=user,
        store=service.store,
        uploads_dir=service.catalog.uploads_dir,
        max_bytes=limit,
    )
    return summary(dataset)


@router.post("/ask", response_model=RunResponse)
def ask(request: AskRequest, service: ServiceDep, user: UserDep) -> RunResponse:
    return service.ask(user, request)


@router.post("/runs", response_model=RunResponse)
def create_run(request: RunRequest, service: ServiceDep, user: UserDep) -> RunResponse:
    return service.run(user, request)


@router.get("/runs", response_model=list[Capsule])
def list_runs(
    service: ServiceDep,
    user: UserDep,
    dataset_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[Capsule]:
    return service.runs(user, dataset_id=dataset_id, limit=limit)


@router.get("/runs/{run_id}", response_model=Capsule)
def get_run(run_id: str, service: ServiceDep, user: UserDep, format: str | None = None) -> Any:
    capsule = service.capsule(user, run_id)
    if format == "download":
        return Response(
            content=json.dumps(capsule.model_dump(mode="json"), indent=2),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="capsule_{run_id}.json"'},
        )
    return capsule


@router.post("/runs/{run_id}/replay")
def replay_run(run_id: str, service: ServiceDep, user: UserDep) -> dict[str, Any]:
    return service.replay(user, run_id)


@router.get("/threads/{thread_id}")
def get_thread(thread_id: str, service: ServiceDep, user: UserDep) -> dict[str, Any]:
    return service.thread(user, thread_id)
