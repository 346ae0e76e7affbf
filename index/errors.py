"""The named errors of newsqa. Every message says what to do next."""


class NewsQAError(Exception):
    """Base class: a problem the user can act on."""

    exit_code = 1
    http_status = 500


class BadInputError(NewsQAError):
    """A question, query or parameter that cannot be used as given."""

    exit_code = 2
    http_status = 422


class IndexMissingError(NewsQAError):
    """No index has been built in the data directory."""

    exit_code = 3
    http_status = 503


class IndexCorruptError(NewsQAError):
    """The index files cannot be read."""

    exit_code = 3
    http_status = 503


class ModelMismatchError(NewsQAError):
    """The index was built with a different embedding model."""

    exit_code = 3
    http_status = 503


class IndexBusyError(NewsQAError):
    """Another `qa index` holds the data directory's lock."""

    exit_code = 4
    http_status = 409


class StoreUnavailableError(NewsQAError):
    """The Chroma server cannot be reached."""

    exit_code = 5
    http_status = 503


class BackendError(NewsQAError):
    """A generative backend failed, timed out or is not installed."""

    exit_code = 6
    http_status = 502


class NotFoundError(NewsQAError):
    """An article id that is not in the index."""

    exit_code = 2
    http_status = 404


class ReadOnlyArticleError(NewsQAError):
    """An article from the configured corpus (QA_CORPUS), which uploads cannot remove."""

    exit_code = 2
    http_status = 409
