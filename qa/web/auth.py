"""The API key: with `api_key` set, every /v1 route needs `Authorization: Bearer <key>`."""

# No `from __future__ import annotations`: FastAPI reads the dependency's signature at runtime.
import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from index.settings import Settings


def key_check(settings: Settings) -> tuple[Callable[..., None], bool]:
    """The dependency that checks the key (compared in constant time), and whether one is set."""
    bearer = HTTPBearer(auto_error=False, description="The server's QA_API_KEY.")
    expected = settings.api_key.encode() if settings.api_key else None

    def require_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if expected is None:
            return
        # Starlette decodes header bytes as latin-1: this recovers what the client sent.
        given = credentials.credentials.encode("latin-1") if credentials else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(
                401,
                "Missing or wrong API key: send the header 'Authorization: Bearer <key>' "
                "with the key the server was started with (QA_API_KEY).",
            )

    return require_key, expected is not None
