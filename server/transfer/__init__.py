"""Moving bytes between the user's disk and the services: uploads, downloads, thumbnails."""

from .downloads import DownloadResult, SavedFile, download_outputs
from .progress import Progress
from .thumbnails import thumbnail_preview
from .uploads import RunFiles, UploadedAsset, attachment_from_path, upload_local_file

__all__ = [
    "DownloadResult",
    "Progress",
    "RunFiles",
    "SavedFile",
    "UploadedAsset",
    "attachment_from_path",
    "download_outputs",
    "thumbnail_preview",
    "upload_local_file",
]
