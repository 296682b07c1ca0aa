"""The job handle every job-starting tool returns."""

from typing import Literal

from pydantic import BaseModel, Field

from ..server.jobs.journal import JobRecord
from ..server.usecases import CARD_NOTE


class JobHandle(BaseModel):
    """A started job: follow it with poll_job or by reading its resource."""

    job_id: str = Field(description="Pass to poll_job.")
    kind: Literal["mosaic_run", "motion_session"] = Field(description="A Mosaic agent run or a Motion session.")
    status: str = Field(description="The service's status word.")
    resource_uri: str = Field(description="Read or subscribe to follow the job.")
    next_step: str = Field(description="What to do next.")
    warnings: list[str] = Field(default_factory=list, description="Things the user should know (e.g. low balance).")

    @classmethod
    def of(cls, record: JobRecord, warnings: list[str] | None = None, *, card: bool = False) -> "JobHandle":
        """The handle of a journaled job; `card` when the client shows the job card (MCP Apps)."""
        what = "the run" if record.kind == "mosaic_run" else "the video"
        next_step = f"Call poll_job('{record.job_id}', wait_seconds=30) to follow {what} until it is settled."
        return cls(
            job_id=record.job_id,
            kind=record.kind,
            status=record.snapshot.status,
            resource_uri=record.snapshot.resource_uri,
            next_step=f"{CARD_NOTE} {next_step}" if card else next_step,
            warnings=warnings or [],
        )
