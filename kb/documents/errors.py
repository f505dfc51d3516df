"""The one error of document reading."""


class UploadError(ValueError):
    """The upload cannot become a source; the message says why, for people (file name first)."""
