"""Sign-in to the portal: Argon2id passwords, TOTP for staff, CSRF, cookies, rate limits."""

from __future__ import annotations

import time
from pathlib import Path

from portal_helpers import BASE, csrf_in, sign_in, sign_in_staff, totp_secret
from privguard.internals.prevention.service import portal_auth as P
from service_helpers import add_user, service_client


def test_attorney_signs_in_with_a_password_and_cookies_are_strict(
    db_url: str, tmp_path: Path
) -> None:
    with service_client(db_url, tmp_path, base_url=BASE) as client:
        add_user(client, "attorney", "ada")
        assert (
            client.get("/attorney", follow_redirects=False)
            .headers["location"]
            .startswith("/sign-in")
        )
        r = sign_in(client, "ada")
        assert r.status_code == 303 and r.headers["location"] == "/attorney"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie  # plain http on loopback only
        page = client.get("/attorney")
        assert page.status_code == 409 and "not linked" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]


def test_cookies_are_secure_off_loopback(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path, base_url="https://portal.example") as client:
        add_user(client, "attorney", "ada")
        r = sign_in(client, "ada")
        assert r.status_code == 303
        assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]


def test_a_wrong_password_is_refused_with_an_error_summary(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path, base_url=BASE) as client:
        add_user(client, "attorney", "ada")
        r = sign_in(client, "ada", "wrong password")
        assert r.status_code == 401
        assert 'role="alert"' in r.text and "username or password is wrong" in r.text
        assert P.COOKIE not in r.headers.get("set-cookie", "")


def test_sign_in_without_csrf_is_refused(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path, base_url=BASE) as client:
        add_user(client, "attorney", "ada")
        client.get("/sign-in")
        r = client.post(
            "/sign-in", data={"username": "ada", "password": "correct horse battery staple"}
        )
        assert r.status_code == 403 and "did not come from this page" in r.text


def test_a_post_without_the_session_csrf_is_refused(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path, base_url=BASE) as client:
        add_user(client, "attorney", "ada")
        sign_in(client, "ada")
        r = client.post("/sign-out", data={}, follow_redirects=False)
        assert r.status_code == 403
        r = client.post("/sign-out", data={"csrf": "0" * 64}, follow_redirects=False)
        assert r.status_code == 403
        assert client.get("/attorney").status_code == 409  # still signed in (unlinked)
        token = csrf_in(client.get("/attorney").text)
        r = client.post("/sign-out", data={"csrf": token}, follow_redirects=False)
        assert r.status_code == 303
        assert client.get("/attorney", follow_redirects=False).status_code == 303


def test_rate_limit_per_user_and_per_address(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path, base_url=BASE) as client:
        add_user(client, "attorney", "ada")
        for _ in range(P.USER_LIMIT):
            assert sign_in(client, "ada", "nope").status_code == 401
        locked = sign_in(client, "ada")  # the right password, too late
        assert locked.status_code == 429 and "Too many failed attempts" in locked.text
        # Per address: many usernames from one address.
        for i in range(P.IP_LIMIT - P.USER_LIMIT):
            sign_in(client, f"nobody{i}", "nope")
        add_user(client, "attorney", "bob")
        assert sign_in(client, "bob").status_code == 429


def test_staff_need_a_totp_code(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path, base_url=BASE) as client:
        uid = add_user(client, "registrar", "rita")
        first = sign_in(client, "rita")
        assert first.headers["location"].startswith("/sign-in/code")
        # The password alone opens no page.
        assert client.get("/registrar", follow_redirects=False).status_code == 303
        page = client.get("/sign-in/code")
        assert "Set up your authenticator app" in page.text
        wrong = client.post("/sign-in/code", data={"code": "000000", "csrf": csrf_in(page.text)})
        assert wrong.status_code == 401 and "not right" in wrong.text
        secret = totp_secret(client, uid)
        good = P.code_at(secret, time.time())
        ok = client.post(
            "/sign-in/code",
            data={"code": good, "csrf": csrf_in(page.text)},
            follow_redirects=False,
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/registrar"
        assert client.get("/registrar").status_code == 200
        # Next time: no enrolment, and the same code is never accepted twice.
        client.post("/sign-out", data={"csrf": csrf_in(client.get("/registrar").text)})
        sign_in(client, "rita")
        page = client.get("/sign-in/code")
        assert "Set up your authenticator app" not in page.text
        again = client.post("/sign-in/code", data={"code": good, "csrf": csrf_in(page.text)})
        assert again.status_code == 401


def test_staff_sign_in_helper_and_wrong_role_is_refused(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path, base_url=BASE) as client:
        uid = add_user(client, "auditor", "aud")
        assert sign_in_staff(client, "aud", uid).status_code == 303
        r = client.get("/registrar")
        assert r.status_code == 403 and "cannot open this page" in r.text


def test_facility_systems_have_no_pages_and_next_is_never_off_site(
    db_url: str, tmp_path: Path
) -> None:
    with service_client(db_url, tmp_path, base_url=BASE) as client:
        add_user(client, "facility_system", "jail")
        assert sign_in(client, "jail").status_code == 403
        add_user(client, "attorney", "ada")
        form = client.get("/sign-in?next=//evil.example/x")
        r = client.post(
            "/sign-in",
            data={
                "username": "ada",
                "password": "correct horse battery staple",
                "csrf": csrf_in(form.text),
                "next": "//evil.example/x",
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == "/attorney"
