"""The user's name in memories and prompts: a lower-case id that is a name is written as one."""

from __future__ import annotations

import pytest

from hearth.assistant.user_name import user_name
from hearth.store.memories import Owner


@pytest.mark.parametrize(("user_id", "name"), [
    ("ingrid", "Ingrid"),
    ("ingrid.olsen", "Ingrid Olsen"),
    ("ingrid_olsen@example.org", "Ingrid Olsen"),
    ("Ingrid", "Ingrid"),
    ("McKenzie", "McKenzie"),
    ("u-4821", "u-4821"),
])
def test_a_lower_case_id_that_is_a_name_is_written_as_one_and_others_as_given(user_id, name):
    assert user_name(Owner("org", user_id)) == name
