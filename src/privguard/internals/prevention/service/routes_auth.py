"""Signing in, who am I, and the administrator's users and tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from privguard.internals.prevention.service import auth
from privguard.internals.prevention.service.auth import Principal, audit_event
from privguard.internals.prevention.service.deps import DbSession, access_log, client_ip
from privguard.internals.prevention.service.errors import (
    AUTH_RESPONSES,
    CONFLICT_RESPONSES,
    NOT_FOUND_RESPONSES,
    NotFound,
    error_doc,
)
from privguard.internals.prevention.service.models import Token, User
from privguard.internals.prevention.service.policy import SIGNED_IN, public, requires
from privguard.internals.prevention.service.schemas import (
    MAX_ID,
    LoginIn,
    Me,
    TokenId,
    TokenIn,
    TokenIssued,
    TokenOut,
    UserId,
    UserIn,
    UserOut,
)

router = APIRouter(prefix="/v1", tags=["auth"])
Admin = Annotated[Principal, requires("admin")]
AnyRole = Annotated[Principal, requires(*SIGNED_IN)]


def _issued(issued: auth.IssuedToken) -> TokenIssued:
    return TokenIssued(token=issued.token, details=TokenOut.model_validate(issued.record))


@router.post(
    "/session",
    status_code=201,
    operation_id="login",
    responses={401: error_doc("The username or password is wrong.")},
)
def login(body: LoginIn, request: Request, session: DbSession, _: None = public()) -> TokenIssued:
    """Exchange a username and password for a token that lasts 12 hours."""
    issued = auth.login(
        session, body.username, body.password, ip=client_ip(request), sink=access_log(request)
    )
    session.commit()
    return _issued(issued)


@router.delete("/session", operation_id="logout", responses=AUTH_RESPONSES)
def logout(me: AnyRole, session: DbSession, request: Request) -> TokenOut:
    """Sign out: revoke the token this request was sent with."""
    record = auth.revoke_token(session, me.token_id)
    session.commit()
    audit_event("logout", actor=me.actor, outcome="ok", sink=access_log(request))
    return TokenOut.model_validate(record)


@router.get("/me", operation_id="me", responses=AUTH_RESPONSES)
def whoami(me: AnyRole, session: DbSession) -> Me:
    """The signed-in user and the token in use."""
    user = auth.get_user(session, me.user_id)
    token = session.get(Token, me.token_id)
    return Me(user=UserOut.model_validate(user), token=TokenOut.model_validate(token))


@router.post(
    "/users",
    status_code=201,
    operation_id="create_user",
    responses={**AUTH_RESPONSES, **CONFLICT_RESPONSES, **NOT_FOUND_RESPONSES},
)
def create_user(body: UserIn, me: Admin, session: DbSession, request: Request) -> UserOut:
    """Add a user with one role (administrators only)."""
    if body.attorney_id is not None:
        _attorney_exists(session, body.attorney_id)
    user = auth.create_user(
        session,
        body.username,
        body.role,
        password=body.password,
        display_name=body.display_name,
        attorney_id=body.attorney_id,
    )
    session.commit()
    audit_event(
        "user.created",
        actor=me.actor,
        outcome="ok",
        detail=f"{user.role}:{user.username}",
        sink=access_log(request),
    )
    return UserOut.model_validate(user)


def _attorney_exists(session: DbSession, attorney_id: int) -> None:
    """Refuse a link to no record: the account could then never submit or see a number."""
    from privguard.internals.prevention.registry.models import Attorney

    if session.get(Attorney, attorney_id) is not None:
        return
    rows = session.execute(select(Attorney.id, Attorney.name).order_by(Attorney.id).limit(11))
    listed = [f"{i} ({name})" for i, name in rows]
    more = ", ..." if len(listed) > 10 else ""
    # 404, as for an id in the path: the request is well formed, the record is missing.
    raise NotFound(
        f"there is no attorney or office record {attorney_id}",
        where="body.attorney_id",
        fix=f"give the id of an attorney or office record: {', '.join(listed[:10])}{more}"
        if listed
        else "import the attorney list first (privguard registry import-feed FILE --source "
        "bar_feed), then give the id of the attorney's record",
    )


@router.get("/users", operation_id="list_users", responses=AUTH_RESPONSES)
def list_users(
    me: Admin,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[UserOut]:
    """Every user, by id (administrators only)."""
    rows = session.scalars(select(User).order_by(User.id).limit(limit).offset(offset))
    return [UserOut.model_validate(u) for u in rows]


@router.get(
    "/users/{user_id}",
    operation_id="get_user",
    responses={**AUTH_RESPONSES, **NOT_FOUND_RESPONSES},
)
def get_user(user_id: UserId, me: Admin, session: DbSession) -> UserOut:
    """One user (administrators only)."""
    return UserOut.model_validate(auth.get_user(session, user_id))


@router.get(
    "/users/{user_id}/tokens",
    operation_id="list_tokens",
    responses={**AUTH_RESPONSES, **NOT_FOUND_RESPONSES},
)
def list_tokens(user_id: UserId, me: Admin, session: DbSession) -> list[TokenOut]:
    """A user's tokens, revoked ones included, never their secrets (administrators only)."""
    auth.get_user(session, user_id)
    rows = session.scalars(select(Token).where(Token.user_id == user_id).order_by(Token.id))
    return [TokenOut.model_validate(t) for t in rows]


@router.post(
    "/users/{user_id}/tokens",
    status_code=201,
    operation_id="issue_token",
    responses={**AUTH_RESPONSES, **NOT_FOUND_RESPONSES},
)
def issue_token(
    user_id: UserId, body: TokenIn, me: Admin, session: DbSession, request: Request
) -> TokenIssued:
    """A new API token for a user, e.g. a facility's system (administrators only)."""
    user = auth.get_user(session, user_id)
    days = body.expires_in_days
    issued = auth.issue_token(
        session, user, body.label, expires_in=timedelta(days=days) if days else None
    )
    session.commit()
    audit_event(
        "token.issued",
        actor=me.actor,
        outcome="ok",
        detail=f"token {issued.record.id}",
        sink=access_log(request),
    )
    return _issued(issued)


@router.delete(
    "/tokens/{token_id}",
    operation_id="revoke_token",
    responses={**AUTH_RESPONSES, **NOT_FOUND_RESPONSES},
)
def revoke_token(token_id: TokenId, me: Admin, session: DbSession, request: Request) -> TokenOut:
    """Revoke a token now; it stops working at once (administrators only)."""
    record = auth.revoke_token(session, token_id)
    session.commit()
    audit_event(
        "token.revoked",
        actor=me.actor,
        outcome="ok",
        detail=f"token {token_id}",
        sink=access_log(request),
    )
    return TokenOut.model_validate(record)
