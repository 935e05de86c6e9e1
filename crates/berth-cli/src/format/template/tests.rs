use serde_json::json;

use super::Template;

fn render(template: &str, data: serde_json::Value) -> String {
    Template::parse(template).unwrap().execute(&data).unwrap()
}

#[test]
fn fields_and_nesting() {
    let data = json!({"ID": "abc", "Config": {"Env": ["A=1", "B=2"], "Labels": {"k": "v"}}});
    assert_eq!(render("{{.ID}}", data.clone()), "abc");
    assert_eq!(render("{{.Config.Env}}", data.clone()), "[A=1 B=2]");
    assert_eq!(render("{{ .Config.Labels }}", data.clone()), "map[k:v]");
    assert_eq!(render("{{.Missing}}", data.clone()), "<no value>");
    assert_eq!(render("id={{.ID}}\tenv", data), "id=abc\tenv");
}

#[test]
fn json_function() {
    let data = json!({"ID": "abc", "Config": {"Env": ["A=1"], "Cmd": null}});
    assert_eq!(render("{{json .Config.Env}}", data.clone()), r#"["A=1"]"#);
    assert_eq!(render("{{json .Config.Cmd}}", data.clone()), "null");
    // Docker's typed structs print nil slices as [] and nil maps as map[].
    assert_eq!(render("{{.Config.Cmd}}", data.clone()), "[]");
    assert_eq!(
        render("{{.Config.Labels}}", json!({"Config": {"Labels": null}})),
        "map[]"
    );
    assert_eq!(
        render("{{.State.Health}}", json!({"State": {"Health": null}})),
        "<nil>"
    );
    assert_eq!(
        render("{{if .Config.Cmd}}y{{else}}n{{end}}", data.clone()),
        "n"
    );
    assert_eq!(render("{{json .ID}}", data.clone()), r#""abc""#);
    assert_eq!(
        render("{{json .}}", json!({"b": "<x>", "a": 1})),
        r#"{"a":1,"b":"<x>"}"#
    );
}

#[test]
fn functions_and_pipes() {
    let data = json!({"Name": "Web", "Labels": {"com.x": "y"}, "Parts": ["a", "b"]});
    assert_eq!(render("{{lower .Name}}", data.clone()), "web");
    assert_eq!(render("{{.Name | upper}}", data.clone()), "WEB");
    assert_eq!(render(r#"{{index .Labels "com.x"}}"#, data.clone()), "y");
    assert_eq!(render(r#"{{index .Labels "nope"}}"#, data.clone()), "");
    assert_eq!(render(r#"{{join .Parts ","}}"#, data.clone()), "a,b");
    assert_eq!(render(r#"{{len .Parts}}"#, data.clone()), "2");
    assert_eq!(
        render(r#"{{printf "%s-%d" .Name 3}}"#, data.clone()),
        "Web-3"
    );
    assert_eq!(render(r#"{{(index .Parts 1) | upper}}"#, data.clone()), "B");
    assert_eq!(render(r#"{{title "hello world"}}"#, data), "Hello World");
}

#[test]
fn control_flow() {
    let data = json!({"Running": true, "Nets": {"bridge": {"IP": "1.2.3.4"}, "b2": {"IP": "5.6.7.8"}}, "E": []});
    assert_eq!(
        render("{{if .Running}}up{{else}}down{{end}}", data.clone()),
        "up"
    );
    assert_eq!(
        render("{{range .Nets}}{{.IP}} {{end}}", data.clone()),
        // Go ranges over maps in key order: "b2" < "bridge".
        "5.6.7.8 1.2.3.4 "
    );
    assert_eq!(
        render("{{range .E}}x{{else}}none{{end}}", data.clone()),
        "none"
    );
    assert_eq!(
        render("{{with .Nets.bridge}}{{.IP}}{{end}}", data.clone()),
        "1.2.3.4"
    );
    assert_eq!(render("a {{- \" b \" -}} c", data.clone()), "a b c");
    assert_eq!(render(r#"{{if eq .Running true}}y{{end}}"#, data), "y");
}

#[test]
fn errors_are_reported_not_panicked() {
    for bad in [
        "{{.ID",
        "{{if .X}}",
        "{{end}}",
        "{{nosuchfunc .X}}",
        "{{\"open}}",
        "{{(.X}}",
    ] {
        assert!(Template::parse(bad).is_err(), "{bad} parsed");
    }
    let t = Template::parse("{{.A.B}}").unwrap();
    assert!(t.execute(&json!({"A": "str"})).is_err());
}

/// Property: text without actions renders as itself.
#[test]
fn plain_text_is_identity() {
    for text in ["", "abc", "a } b", "tab\there", "ünïcode", "{ {x} }"] {
        assert_eq!(render(text, json!({})), text);
    }
}

#[test]
fn label_method() {
    let ps = json!({"Labels": "a=1,com.x=y"});
    assert_eq!(render(r#"{{.Label "com.x"}}"#, ps.clone()), "y");
    assert_eq!(render(r#"{{.Label "none"}}"#, ps), "");
    let inspect = json!({"Config": {"Labels": {"k": "v"}}});
    assert_eq!(render(r#"{{.Config.Label "k"}}"#, inspect), "v");
    assert!(
        Template::parse(r#"{{.Other "k"}}"#)
            .unwrap()
            .execute(&json!({}))
            .is_err()
    );
}
