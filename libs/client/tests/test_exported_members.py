import wharf_client


def test_all_exports_exist_and_are_sorted_groups() -> None:
    for name in wharf_client.__all__:
        assert hasattr(wharf_client, name), name
    public = {name for name in dir(wharf_client) if not name.startswith("_")}
    modules = {"testing", "lean"}  # public modules: the fake engine, the hot-path stand-ins
    assert public - modules - set(wharf_client.__all__) == set()
