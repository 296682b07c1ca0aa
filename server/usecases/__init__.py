"""Use cases: the multi-step flows behind the tools, one module per flow.

A tool maps its arguments to one call here and the answer to its result type; the order of the
steps (what is checked before anything is sent, what is uploaded before a job starts) is decided
in these functions, once.
"""

from .card import APP_ONLY_META, CARD_NOTE, CARD_TOOL_META, CARD_URI, JobCard, card_csp, card_html, job_card
from .disk import save_outputs, upload_from_disk
from .jobs import Reading, TrackedJobs, read_job, tracked_jobs
from .motion import GivenAttachment, revise_video_session, start_video_session
from .runs import Resumed, ResumeRefusedError, resume_agent_run, start_agent_run

__all__ = [
    "APP_ONLY_META",
    "CARD_NOTE",
    "CARD_TOOL_META",
    "CARD_URI",
    "GivenAttachment",
    "JobCard",
    "Reading",
    "ResumeRefusedError",
    "Resumed",
    "TrackedJobs",
    "card_csp",
    "card_html",
    "job_card",
    "read_job",
    "resume_agent_run",
    "revise_video_session",
    "save_outputs",
    "start_agent_run",
    "start_video_session",
    "tracked_jobs",
    "upload_from_disk",
]
