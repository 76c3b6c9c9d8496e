import pytest
from wharf_cli.templates import Template, TemplateError, render

DATA = {
    "Id": "abc",
    "State": {"Running": True, "Pid": 42, "ExitCode": 0},
    "Config": {"Labels": {"k": "v", "a": "b"}, "Env": ["A=1", "B=2"], "Cmd": None},
    "Mounts": [{"Source": "/a"}, {"Source": "/b"}],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{.Id}}", "abc"),
        ("{{.State.Running}} {{.State.Pid}}", "true 42"),
        ("{{json .Config.Labels}}", '{"k":"v","a":"b"}'),
        ('{{index .Config.Labels "k"}}', "v"),
        ("{{.Config.Labels}}", "map[a:b k:v]"),
        ("{{.Config.Env}}", "[A=1 B=2]"),
        ("{{.Config.Cmd}} {{.Nope}}", "<no value> <no value>"),
        ("{{range .Mounts}}{{.Source}};{{end}}", "/a;/b;"),
        ("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}", "0:A=1 1:B=2 "),
        ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
        ('{{if eq .Id "x"}}x{{else if eq .Id "abc"}}yes{{else}}no{{end}}', "yes"),
        ("{{with .State}}{{.Pid}}{{end}}", "42"),
        ("{{.Id | upper}}", "ABC"),
        ('{{join .Config.Env ","}}', "A=1,B=2"),
        ("{{len .Mounts}}", "2"),
        ("{{(index .Mounts 1).Source}}", "/b"),
        ('{{printf "%s-%d" .Id .State.Pid}}', "abc-42"),
        ("a {{- .Id -}} b", "aabcb"),
        ("{{json .}}", None),
    ],
)
def test_render_matches_go_text_template(template: str, expected: str | None) -> None:
    result = render(template, DATA)
    if expected is not None:
        assert result == expected


def test_methods_with_arguments_are_called() -> None:
    class Row:
        ID = "x"

        def Label(self, name: str) -> str:
            return name.upper()

    assert render('{{.ID}} {{.Label "k"}}', Row()) == "x K"


@pytest.mark.parametrize("template", ["{{.Id", "{{end}}", "{{if .Id}}", "{{nosuchfunc .Id}}"])
def test_invalid_templates_raise(template: str) -> None:
    with pytest.raises(TemplateError):
        Template(template).render(DATA)
