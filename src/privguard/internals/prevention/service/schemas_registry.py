"""Bodies of the registry endpoints (pydantic), with every limit the handlers rely on."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from privguard.internals.prevention.service.schemas import MAX_ID, NO_NUL, UtcTime

RequestId = Annotated[int, Path(ge=1, le=MAX_ID, description="A registration request's id.")]
LedgerIndex = Annotated[int, Path(ge=0, le=MAX_ID, description="A registry log entry's index.")]
FACILITY = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
FacilityCode = Annotated[str, Query(pattern=FACILITY, description="A facility's code.")]
VendorName = Annotated[str, Query(max_length=100, pattern=r"^[A-Za-z0-9 ._-]*$")]
RequestState = Literal["submitted", "needs_review", "verified", "rejected"]


class SubmitIn(BaseModel):
    numbers: list[Annotated[str, Field(min_length=1, max_length=40, pattern=NO_NUL)]] = Field(
        min_length=1, max_length=100, description="As written: +1 512 555 0100, (512) 555-0100."
    )
    facilities: list[Annotated[str, Field(pattern=FACILITY)]] | None = Field(
        default=None, max_length=200, description="None: every facility."
    )
    effective_from: dt.date | None = Field(default=None, description="None: today.")


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*\S[^\x00]*$")


class RequestOut(BaseModel):
    id: int
    attorney_id: int
    numbers: list[str] = Field(description="E.164, with ;ext=N for an extension.")
    state: RequestState
    reason: str
    receipts: list[str] = Field(description="tlog-proof@v1 receipts of the numbers registered.")


class NumberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    extension: str
    facilities: str = Field(description="`*` for every facility, else codes joined by commas.")
    effective_from: dt.date
    effective_to: dt.date | None
    status: str
    source: str
    ended_reason: str


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    index: int
    at: UtcTime
    actor: str
    action: str
    reason: str
    request_id: int | None
    number_id: int | None


class ReceiptIn(BaseModel):
    receipt: str = Field(min_length=1, max_length=65536, description="A tlog-proof@v1 text.")


class ReceiptLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    file: str
    ok: bool
    index: int | None
    action: str
    summary: str
    problems: list[str]


class ReceiptCheckOut(BaseModel):
    ok: bool
    receipts: list[ReceiptLineOut]
    registrations: list[str] = Field(description="One sentence per registration proven.")
