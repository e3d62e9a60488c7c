"""The request and response bodies of the auth and health endpoints (pydantic).

Every limit a handler relies on is in the schema, so a request the schema admits is one
the service can store: ids fit a 32-bit integer column, text has no NUL (PostgreSQL
refuses it), lengths match the columns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

MAX_ID = 2**31 - 1


def _utc(value: object) -> object:
    # SQLite hands back naive datetimes; every stored time is UTC, and RFC 3339 needs a zone.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


UtcTime = Annotated[datetime, BeforeValidator(_utc)]
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
NO_NUL = r"^[^\x00]*$"

Username = Annotated[
    str, Field(pattern=USERNAME, description="Letters, digits and . _ @ - (at most 64).")
]
RoleName = Literal[
    "attorney",
    "registrar",
    "facility_system",
    "auditor",
    "admin",
    "investigator",
    "prosecutor",
    "records_officer",
]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="A user's id.")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="A token's id.")]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class LoginIn(BaseModel):
    username: Username
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(_Out):
    id: int
    user_id: int
    label: str
    created_at: UtcTime
    expires_at: UtcTime | None
    last_used_at: UtcTime | None
    revoked_at: UtcTime | None


class TokenIssued(BaseModel):
    token: str = Field(description="The secret. Shown once, never stored: keep it safe.")
    details: TokenOut


class TokenIn(BaseModel):
    label: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="None: until revoked."
    )


class UserIn(BaseModel):
    username: Username
    role: RoleName
    password: str | None = Field(
        default=None,
        min_length=12,
        max_length=1024,
        description="None for a system that signs in with tokens only.",
    )
    display_name: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    attorney_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The attorney or office this user is."
    )


class UserOut(_Out):
    id: int
    username: str
    role: RoleName
    display_name: str | None
    attorney_id: int | None
    active: bool
    created_at: UtcTime


class Me(BaseModel):
    user: UserOut
    token: TokenOut
