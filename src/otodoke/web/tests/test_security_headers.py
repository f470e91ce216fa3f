"""Headers and files (issue 12.16): a Content-Security-Policy with no inline script or style,
HSTS once cookies are secure, the proxy's HTTPS header as a setting, ``no-store`` on pages and
API answers that carry personal data, and private files: the data folder, keys and SQLite
database, uploads (deleted once imported)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from otodoke.api.services import create_token
from otodoke.contacts.models import Contact, ImportJob, ImportStatus
from otodoke.contacts.tasks import run_import_job
from otodoke.web.imports import prune_uploads, upload_dir
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

SRC = Path(__file__).resolve().parents[2]
CSV = "顧客番号,氏名\n1,山田花子\n2,佐藤太郎\n"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_pages_carry_a_policy_without_inline_script_or_style(
    client_as: Callable[[Role], Client],
) -> None:
    response = client_as(Role.OWNER).get("/w/salon/")
    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]


def test_no_template_has_inline_script_style_or_event_handlers() -> None:
    """What the policy refuses must not be in a template: <script> without src, <style>,
    style="" and on…="" attributes (the browser test proves the pages still work)."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=\"|\son[a-z]+=\"")
    offenders = [
        f"{path.relative_to(SRC)}: {match.group(0)}"
        for path in SRC.rglob("templates/**/*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert offenders == []


def test_pages_and_api_answers_are_not_stored_static_files_are_cached(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    Contact.objects.create(workspace=workspace, external_id="C1", phone="+819012345678")
    client = client_as(Role.OWNER)
    for path in ("/w/salon/", "/w/salon/contacts/", "/login/"):
        response = client.get(path)
        assert "no-store" in response["Cache-Control"], path
        assert "private" in response["Cache-Control"], path
    token = create_token(workspace, name="t", scopes=["read", "pii"]).plaintext
    api = Client().get("/api/v1/contacts", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert "no-store" in api["Cache-Control"]
    refused = Client().get("/api/v1/contacts")
    assert refused.status_code == 401
    assert "no-store" in refused["Cache-Control"]
    static = Client().get("/static/otodoke/app.js")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")


def _settings_of(**env: str) -> dict[str, object]:
    """The settings a fresh process reads from this environment. Reading them evaluates the
    settings module, where these are decided; loading every app (django.setup) would only add
    seconds."""
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "otodoke.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    hsts, header = json.loads(result.stdout)
    return {"hsts": hsts, "header": header}


def test_hsts_follows_secure_cookies_and_the_proxy_header_is_a_setting() -> None:
    assert _settings_of(OTODOKE_SECURE_COOKIES="false") == {"hsts": 0, "header": None}
    secure = _settings_of(
        OTODOKE_SECURE_COOKIES="true", OTODOKE_PROXY_SSL_HEADER="X-Forwarded-Proto: https"
    )
    assert secure == {"hsts": 31_536_000, "header": ["HTTP_X_FORWARDED_PROTO", "https"]}
    assert _settings_of(OTODOKE_PROXY_SSL_HEADER="X-Forwarded-Ssl: on")["header"] == [
        "HTTP_X_FORWARDED_SSL",
        "on",
    ]


def test_a_bad_proxy_header_setting_stops_the_process_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "otodoke.settings",
            "OTODOKE_PROXY_SSL_HEADER": "X Forwarded Proto",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "OTODOKE_PROXY_SSL_HEADER" in result.stderr


@override_settings(
    SECURE_HSTS_SECONDS=31_536_000, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_https_through_the_proxy_gets_hsts_and_plain_http_does_not(db: None) -> None:
    over_https = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert over_https["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in Client().get("/login/")


def test_init_and_migrate_create_a_private_data_folder_keys_and_database(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "OTODOKE_ENCRYPTION_KEYS", "DATABASE_URL"}
    }
    env["OTODOKE_DATA_DIR"] = str(data)
    for command in (["init"], ["migrate", "--verbosity", "0"]):
        result = subprocess.run(
            [sys.executable, "-m", "otodoke", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            # What a shell usually has: files world-readable unless Otodoke says otherwise.
            preexec_fn=lambda: os.umask(0o022),
        )
        assert result.returncode == 0, result.stderr
    assert _mode(data) == 0o700
    assert _mode(data / "keys.json") == 0o600
    database = data / "otodoke.sqlite3"
    assert _mode(database) == 0o600
    for journal in data.glob("otodoke.sqlite3-*"):
        assert _mode(journal) == 0o600, journal


def _upload(client: Client) -> str:
    upload = SimpleUploadedFile("customers.csv", CSV.encode(), "text/csv")
    response = client.post("/w/salon/contacts/import/", {"kind": "contacts", "file": upload})
    assert response.status_code == 302
    handle = re.search(r"f=([0-9a-f]+\.csv)", response["Location"])
    assert handle is not None
    return handle.group(1)


def test_an_upload_is_private_and_deleted_once_imported(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    client = client_as(Role.OPERATOR)
    handle = _upload(client)
    stored = upload_dir(workspace) / handle
    assert _mode(stored) == 0o600
    assert _mode(upload_dir(workspace)) == 0o700
    form = {"f": handle, "kind": "contacts", "col_0": "external_id", "col_1": "name"}
    assert client.post("/w/salon/contacts/import/map/", form).status_code == 302
    job = ImportJob.objects.get()
    run_import_job.call(job.pk, str(stored))
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED
    assert Contact.objects.filter(workspace=workspace).count() == 2
    assert not stored.exists()


def test_an_upload_whose_import_fails_is_deleted_too(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    client = client_as(Role.OPERATOR)
    handle = _upload(client)
    stored = upload_dir(workspace) / handle
    form = {"f": handle, "kind": "contacts", "col_0": "external_id", "col_1": "name"}
    assert client.post("/w/salon/contacts/import/map/", form).status_code == 302
    stored.write_bytes(b'"never closed\n' + b"x" * 200_000)  # a file error at import time
    job = ImportJob.objects.get()
    run_import_job.call(job.pk, str(stored))
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert not stored.exists()


def test_the_cli_import_keeps_the_users_own_file(workspace: Workspace, tmp_path: Path) -> None:
    from django.core.management import call_command

    mine = tmp_path / "customers.csv"
    mine.write_text(CSV)
    call_command("import", "contacts", str(mine), "--workspace", "salon", "--json")
    assert Contact.objects.filter(workspace=workspace).count() == 2
    assert mine.exists()


def test_an_upload_left_at_the_mapping_step_is_deleted_after_the_retention(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    client = client_as(Role.OPERATOR)
    stale = upload_dir(workspace) / _upload(client)
    fresh = upload_dir(workspace) / _upload(client)
    hours = settings.UPLOAD_RETENTION_HOURS
    old = time.time() - hours * 3600 - 60
    os.utime(stale, (old, old))
    assert prune_uploads(workspace) == 1
    assert not stale.exists() and fresh.exists()
    # Every new upload prunes: nobody has to run anything.
    os.utime(fresh, (old, old))
    _upload(client)
    assert not fresh.exists()


@pytest.mark.parametrize("hours", ["0", "soon"])
def test_a_bad_retention_setting_stops_the_process_naming_it(hours: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "otodoke.settings",
            "OTODOKE_UPLOAD_RETENTION_HOURS": hours,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "OTODOKE_UPLOAD_RETENTION_HOURS" in result.stderr
