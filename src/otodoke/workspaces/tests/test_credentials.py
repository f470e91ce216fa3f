"""Channel credentials are encrypted at rest and a wrong key is a clear error."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from otodoke.core.crypto import EncryptionKeyError, Secret
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace

SECRET = "c0ffee0123456789abcdef0123456789"
TOKEN = "plain-channel-access-token-ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def make_workspace() -> Workspace:
    return create_workspace(
        name="Salon Hanako",
        channel_id="1650000000",
        channel_secret=SECRET,
        channel_access_token=TOKEN,
        api_base_url="http://127.0.0.1:9/",
    )


@pytest.mark.django_db
def test_credentials_read_back_through_reveal_only() -> None:
    workspace = Workspace.objects.get(pk=make_workspace().pk)
    assert isinstance(workspace.channel_secret, Secret)
    assert workspace.channel_secret.reveal() == SECRET
    assert workspace.channel_access_token.reveal() == TOKEN
    assert SECRET not in str(workspace.channel_secret)
    assert SECRET not in repr(workspace.__dict__)
    assert workspace.channel_secret.masked().endswith(SECRET[-4:])
    assert SECRET[:-4] not in workspace.channel_secret.masked()


@pytest.mark.django_db
def test_credentials_are_not_stored_in_plaintext() -> None:
    workspace = make_workspace()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT channel_secret, channel_access_token FROM workspaces_workspace WHERE id = %s",
            [workspace.pk],
        )
        secret_column, token_column = cursor.fetchone()
    assert SECRET not in secret_column
    assert TOKEN not in token_column
    assert secret_column.startswith("gAAAA")  # a Fernet token


@pytest.mark.django_db(transaction=True)
def test_sqlite_file_never_contains_the_plaintext() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("inspects the SQLite database file")
    make_workspace()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(FULL)")
    db_file = Path(str(connection.settings_dict["NAME"]))
    raw = db_file.read_bytes() + (
        db_file.with_name(db_file.name + "-wal").read_bytes()
        if db_file.with_name(db_file.name + "-wal").exists()
        else b""
    )
    assert SECRET.encode() not in raw
    assert TOKEN.encode() not in raw


@pytest.mark.django_db
def test_wrong_encryption_key_is_a_clear_error_not_garbage() -> None:
    pk = make_workspace().pk
    with override_settings(ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        workspace = Workspace.objects.get(pk=pk)
        with pytest.raises(EncryptionKeyError, match="OTODOKE_ENCRYPTION_KEYS"):
            workspace.channel_secret.reveal()


@pytest.mark.django_db
def test_rotated_keys_still_decrypt_old_values() -> None:
    old_key = Fernet.generate_key().decode()
    with override_settings(ENCRYPTION_KEYS=[old_key]):
        pk = make_workspace().pk
    with override_settings(ENCRYPTION_KEYS=[Fernet.generate_key().decode(), old_key]):
        assert Workspace.objects.get(pk=pk).channel_access_token.reveal() == TOKEN
