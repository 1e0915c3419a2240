use super::*;
use serde_json::json;

/// A small spec: create a thing (body, query and header parameters), read a thing.
fn spec() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "things", "version": "1.0.0"},
        "paths": {
            "/things": {"post": {
                "operationId": "create_thing",
                "parameters": [
                    {"name": "dry_run", "in": "query", "required": false, "schema": {"type": "boolean"}},
                    {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}
                ],
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/NewThing"}}}},
                "responses": {"201": {"description": "made", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Thing"}}}}}
            }},
            "/things/{id}": {"get": {
                "operationId": "get_thing",
                "parameters": [{"name": "id", "in": "path", "required": true,
                                "schema": {"type": "string", "format": "uuid"}}],
                "responses": {
                    "200": {"description": "it", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "404": {"description": "no", "content": {"application/problem+json": {
                        "schema": {"type": "object"}}}}
                }
            }}
        },
        "components": {"schemas": {
            "NewThing": {"type": "object", "additionalProperties": false, "required": ["name"],
                "properties": {
                    "name": {"type": "string", "maxLength": 200},
                    "note": {"type": "string"},
                    "kind": {"type": "string", "enum": ["a", "b"]}
                }},
            "Thing": {"type": "object", "required": ["id", "name", "size", "kind"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                    "size": {"type": "integer", "format": "int64"},
                    "kind": {"type": "string", "enum": ["a", "b"]}
                }}
        }}
    })
}

fn changed(change: impl Fn(&mut Value)) -> Value {
    let mut spec = spec();
    change(&mut spec);
    spec
}

/// The messages of the breaking and the compatible findings.
fn diff(base: &Value, head: &Value) -> (Vec<String>, Vec<String>) {
    let findings = compare(base, head);
    let pick = |breaking: bool| {
        findings
            .iter()
            .filter(|f| f.breaking == breaking)
            .map(|f| format!("{} {}: {}", f.operation, f.pointer, f.message))
            .collect()
    };
    (pick(true), pick(false))
}

/// `change` is breaking with exactly `forward` (one finding per operation it touches);
/// undoing it is `backward` (breaking or not).
fn check(change: impl Fn(&mut Value), forward: &[&str], backward: (&str, bool)) {
    let (base, head) = (spec(), changed(change));
    let (breaking, _) = diff(&base, &head);
    assert_eq!(breaking, forward, "forward");
    let (breaking, compatible) = diff(&head, &base);
    let (message, is_breaking) = backward;
    let found = if is_breaking { breaking } else { compatible };
    assert!(
        found.iter().any(|f| f == message),
        "backward: {message:?} not in {found:#?}"
    );
}

#[test]
fn an_unchanged_spec_has_no_findings() {
    assert_eq!(compare(&spec(), &spec()), []);
}

#[test]
fn removed_path_or_operation() {
    check(
        |s| {
            s["paths"].as_object_mut().unwrap().remove("/things/{id}");
        },
        &["get_thing #/paths/~1things~1{id}/get: operation GET /things/{id} removed"],
        (
            "get_thing #/paths/~1things~1{id}/get: new operation GET /things/{id}",
            false,
        ),
    );
}

#[test]
fn removed_response_field() {
    check(
        |s| {
            let thing = &mut s["components"]["schemas"]["Thing"];
            thing["properties"].as_object_mut().unwrap().remove("size");
            thing["required"] = json!(["id", "name", "kind"]);
        },
        &[
            "create_thing #/components/schemas/Thing/properties/size: response field size removed",
            "get_thing #/components/schemas/Thing/properties/size: response field size removed",
        ],
        (
            "create_thing #/components/schemas/Thing/properties/size: new response field size",
            false,
        ),
    );
}

#[test]
fn removed_declared_status() {
    check(
        |s| {
            s["paths"]["/things/{id}"]["get"]["responses"]
                .as_object_mut()
                .unwrap()
                .remove("404");
        },
        &["get_thing #/paths/~1things~1{id}/get/responses/404: declared status 404 removed"],
        (
            "get_thing #/paths/~1things~1{id}/get/responses/404: new declared status 404",
            false,
        ),
    );
}

#[test]
fn new_required_request_field() {
    check(
        |s| {
            let new = &mut s["components"]["schemas"]["NewThing"];
            new["properties"]["owner"] = json!({"type": "string"});
            new["required"] = json!(["name", "owner"]);
        },
        &[
            "create_thing #/components/schemas/NewThing/properties/owner: new required request field owner",
        ],
        (
            "create_thing #/components/schemas/NewThing/properties/owner: request field owner removed",
            true,
        ),
    );
}

#[test]
fn new_optional_request_field_is_compatible() {
    let head = changed(|s| {
        s["components"]["schemas"]["NewThing"]["properties"]["colour"] = json!({"type": "string"})
    });
    let (breaking, compatible) = diff(&spec(), &head);
    assert_eq!(breaking, Vec::<String>::new());
    assert_eq!(
        compatible,
        [
            "create_thing #/components/schemas/NewThing/properties/colour: new optional request field colour"
        ]
    );
    // Back: the server refuses unknown fields, so clients that send it break.
    let (breaking, _) = diff(&head, &spec());
    assert_eq!(
        breaking,
        [
            "create_thing #/components/schemas/NewThing/properties/colour: request field colour removed"
        ]
    );
}

#[test]
fn new_required_parameter_and_header() {
    let at = "create_thing #/paths/~1things/post/parameters/2";
    for (name, place, added) in [
        ("tenant", "query", "required query parameter"),
        ("X-Tenant", "header", "required header"),
    ] {
        let parameter =
            json!({"name": name, "in": place, "required": true, "schema": {"type": "string"}});
        check(
            |s| {
                let parameters = s["paths"]["/things"]["post"]["parameters"].as_array_mut();
                parameters.unwrap().push(parameter.clone());
            },
            &[&format!("{at}: new {added} {name}")],
            (&format!("{at}: {place} parameter {name} removed"), true),
        );
    }
}

#[test]
fn new_optional_parameter_is_compatible() {
    let head = changed(|s| {
        s["paths"]["/things"]["post"]["parameters"].as_array_mut().unwrap().push(
            json!({"name": "trace", "in": "query", "required": false, "schema": {"type": "boolean"}}),
        );
    });
    let (breaking, compatible) = diff(&spec(), &head);
    assert_eq!(breaking, Vec::<String>::new());
    assert_eq!(
        compatible,
        ["create_thing #/paths/~1things/post/parameters/2: new optional query parameter trace"]
    );
}

#[test]
fn type_or_format_change() {
    check(
        |s| {
            s["components"]["schemas"]["Thing"]["properties"]["size"] =
                json!({"type": "string", "format": "int64"})
        },
        &[
            "create_thing #/components/schemas/Thing/properties/size: type changed from integer to string",
            "get_thing #/components/schemas/Thing/properties/size: type changed from integer to string",
        ],
        (
            "create_thing #/components/schemas/Thing/properties/size: type changed from string to integer",
            true,
        ),
    );
    check(
        |s| {
            s["paths"]["/things/{id}"]["get"]["parameters"][0]["schema"] = json!({"type": "string"})
        },
        &[
            "get_thing #/paths/~1things~1{id}/get/parameters/0/schema: format changed from uuid to none",
        ],
        (
            "get_thing #/paths/~1things~1{id}/get/parameters/0/schema: format changed from none to uuid",
            true,
        ),
    );
}

#[test]
fn enum_values() {
    // In a response: removing or adding a value breaks a client with a closed enum.
    check(
        |s| s["components"]["schemas"]["Thing"]["properties"]["kind"]["enum"] = json!(["a"]),
        &[
            "create_thing #/components/schemas/Thing/properties/kind: enum value \"b\" removed",
            "get_thing #/components/schemas/Thing/properties/kind: enum value \"b\" removed",
        ],
        (
            "create_thing #/components/schemas/Thing/properties/kind: new enum value \"b\" in a response",
            true,
        ),
    );
    // In a request: removing breaks, adding does not.
    check(
        |s| s["components"]["schemas"]["NewThing"]["properties"]["kind"]["enum"] = json!(["a"]),
        &["create_thing #/components/schemas/NewThing/properties/kind: enum value \"b\" removed"],
        (
            "create_thing #/components/schemas/NewThing/properties/kind: new enum value \"b\" accepted",
            false,
        ),
    );
}

/// `change` is breaking with exactly `forward`, and undoing it breaks nothing (`why`).
fn breaks_one_way(change: impl Fn(&mut Value), forward: &[&str], why: &str) {
    let (base, head) = (spec(), changed(change));
    assert_eq!(diff(&base, &head).0, forward, "forward");
    assert_eq!(diff(&head, &base).0, Vec::<String>::new(), "{why}");
}

#[test]
fn optional_input_made_required() {
    breaks_one_way(
        |s| s["components"]["schemas"]["NewThing"]["required"] = json!(["name", "note"]),
        &[
            "create_thing #/components/schemas/NewThing/properties/note: optional request field note made required",
        ],
        "required to optional is compatible",
    );
}

#[test]
fn optional_parameter_made_required() {
    breaks_one_way(
        |s| s["paths"]["/things"]["post"]["parameters"][0]["required"] = json!(true),
        &[
            "create_thing #/paths/~1things/post/parameters/0: optional query parameter dry_run made required",
        ],
        "required to optional is compatible",
    );
}

#[test]
fn response_field_made_optional_or_nullable() {
    breaks_one_way(
        |s| s["components"]["schemas"]["Thing"]["required"] = json!(["id", "name", "kind"]),
        &[
            "create_thing #/components/schemas/Thing/properties/size: response field size made optional",
            "get_thing #/components/schemas/Thing/properties/size: response field size made optional",
        ],
        "optional to required is compatible",
    );
    breaks_one_way(
        |s| {
            s["components"]["schemas"]["Thing"]["properties"]["name"]["type"] =
                json!(["string", "null"])
        },
        &[
            "create_thing #/components/schemas/Thing/properties/name: response value made nullable",
            "get_thing #/components/schemas/Thing/properties/name: response value made nullable",
        ],
        "no longer nullable is compatible",
    );
}

#[test]
fn narrowed_input_constraints() {
    breaks_one_way(
        |s| s["components"]["schemas"]["NewThing"]["properties"]["name"]["maxLength"] = json!(100),
        &[
            "create_thing #/components/schemas/NewThing/properties/name: maxLength lowered from 200 to 100",
        ],
        "widening is compatible",
    );
}

#[test]
fn credentials_required_where_none_were() {
    let secured = |s: &mut Value| {
        s["paths"]["/things/{id}"]["get"]["security"] = json!([{"bearer": []}]);
    };
    check(
        secured,
        &["get_thing #/paths/~1things~1{id}/get/security: credentials now required (bearer)"],
        (
            "get_thing #/paths/~1things~1{id}/get/security: credentials no longer required",
            false,
        ),
    );
    let mut both = spec();
    both["paths"]["/things/{id}"]["get"]["security"] = json!([{"bearer": []}, {"api_key": []}]);
    let mut bearer = spec();
    secured(&mut bearer);
    let (breaking, _) = diff(&both, &bearer);
    assert_eq!(
        breaking,
        ["get_thing #/paths/~1things~1{id}/get/security: credential api_key no longer accepted"]
    );
    let (breaking, compatible) = diff(&bearer, &both);
    assert!(breaking.is_empty(), "{breaking:?}");
    assert_eq!(
        compatible,
        ["get_thing #/paths/~1things~1{id}/get/security: credential api_key also accepted"]
    );
}

#[test]
fn a_breaking_change_passes_only_with_a_new_major_version() {
    let head = changed(|s| {
        s["paths"]["/things/{id}"]["get"]["responses"]
            .as_object_mut()
            .unwrap()
            .remove("404");
    });
    let (report, refusal) = judge("things", &spec(), &head);
    assert_eq!(
        refusal.as_deref(),
        Some("things: 1 breaking change(s) need a new major version"),
        "{report}"
    );
    assert!(report.contains("BREAKING things get_thing #/paths/~1things~1{id}/get/responses/404: declared status 404 removed"), "{report}");
    let mut next_major = head.clone();
    next_major["info"]["version"] = json!("2.0.0");
    let (report, refusal) = judge("things", &spec(), &next_major);
    assert_eq!(refusal, None);
    assert!(
        report.contains("allowed: major version raised to \"2.0.0\""),
        "{report}"
    );
}

#[test]
fn a_compatible_change_passes_only_with_a_new_minor_version_and_words_need_none() {
    let compatible = changed(|s| {
        s["components"]["schemas"]["Thing"]["properties"]["colour"] = json!({"type": "string"})
    });
    let (report, refusal) = judge("things", &spec(), &compatible);
    assert_eq!(
        refusal.as_deref(),
        Some("things: 2 compatible change(s) need a new minor version"),
        "{report}"
    );
    for raised in ["1.1.0", "2.0.0"] {
        let mut next = compatible.clone();
        next["info"]["version"] = json!(raised);
        assert_eq!(judge("things", &spec(), &next).1, None, "{raised}");
    }
    let mut patched = compatible.clone();
    patched["info"]["version"] = json!("1.0.1");
    assert!(
        judge("things", &spec(), &patched).1.is_some(),
        "a patch is not enough"
    );
    let reworded = changed(|s| s["info"]["description"] = json!("Things, better said."));
    assert_eq!(
        judge("things", &spec(), &reworded),
        (String::from("  things: unchanged contract\n"), None)
    );
}

#[test]
fn a_version_never_goes_down() {
    let mut lower = spec();
    lower["info"]["version"] = json!("0.9.0");
    assert_eq!(
        judge("things", &spec(), &lower).1.as_deref(),
        Some("things: info.version \"0.9.0\" is lower than before")
    );
}
