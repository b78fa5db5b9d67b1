from triage.core.auth import ApiKey, Scope, find_key, hash_key, new_key


def test_keys_are_random_and_only_their_hash_is_kept() -> None:
    first, second = new_key(), new_key()
    assert first != second
    assert first.startswith("trg_")
    assert len(first) > 40
    stored = ApiKey(name="zammad", sha256=hash_key(first), scopes={Scope.CLASSIFY})
    assert first not in stored.model_dump_json()
    assert find_key(first, [stored]) == stored
    assert find_key(second, [stored]) is None
    assert find_key("", [stored]) is None
