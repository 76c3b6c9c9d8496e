from wharf_cli.tabwriter import tabulate


def test_columns_padded_by_three_with_min_width_ten() -> None:
    text = tabulate(["CONTAINER ID\tIMAGE\tNAMES", "abc\tbusybox:latest\tweb"])
    assert text == "CONTAINER ID   IMAGE            NAMES\nabc            busybox:latest   web\n"


def test_last_cell_is_not_padded_and_empty_input() -> None:
    assert tabulate(["a\tb"]) == "a         b\n"
    assert tabulate([]) == ""
