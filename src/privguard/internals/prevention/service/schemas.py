"""The request and response bodies of the auth and health endpoints (pydantic).

Every limit a handler relies on is in the schema, so a request the schema admits is one
the service can store: ids fit a 32-bit integer column, text has no NUL (PostgreSQL
refuses it), lengths match the columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
NO_NUL = r"^[^\x00]*$"

Username = Annotated[
    str, Field(pattern=USERNAME, description="Letters, digits and . _ @ - (at most 64).")
]
RoleName = Literal["attorney", "registrar", "facility_system", "auditor", "admin"]
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
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


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
    created_at: datetime


class Me(BaseModel):
    user: UserOut
    token: TokenOut
