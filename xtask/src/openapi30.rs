//! `cargo xtask openapi30 [--check]`: the OpenAPI 3.0 edition of each spec, for the generators
//! that read only 3.0 (progenitor, Rust's; older openapi-generator and NSwag versions), written
//! to `openapi/3.0/<name>.json` from the committed 3.1 document. With `--check`, fails where a
//! committed 3.0 file is not what the 3.1 one converts to.
//!
//! What changes: `openapi` becomes `3.0.3`; a type list with `null` becomes `nullable`; a
//! `oneOf`/`anyOf` with a `null` branch becomes its other branch, `nullable`; a schema's
//! `examples` list becomes its first `example`; numeric `exclusiveMinimum`/`exclusiveMaximum`
//! become the boolean forms beside `minimum`/`maximum`; `const` becomes a one-value `enum`; what
//! 3.0 lacks (`jsonSchemaDialect`, `webhooks`, `info.summary`, `license.identifier`,
//! `$schema`, `contentMediaType`, `contentEncoding`) is dropped.

use serde_json::{Map, Value, json};

/// The 3.0.3 edition of a 3.1 document.
pub fn convert(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(root) = doc.as_object_mut() {
        root.insert("openapi".into(), json!("3.0.3"));
        for key in ["jsonSchemaDialect", "webhooks"] {
            root.remove(key);
        }
        if let Some(info) = root.get_mut("info").and_then(Value::as_object_mut) {
            info.remove("summary");
            if let Some(license) = info.get_mut("license").and_then(Value::as_object_mut) {
                license.remove("identifier");
            }
        }
    }
    walk(&mut doc);
    doc
}

fn walk(value: &mut Value) {
    match value {
        Value::Object(object) => {
            schema(object);
            object.values_mut().for_each(walk);
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

/// Rewrites one object if it is a schema with 3.1-only forms; any other object is left alone.
fn schema(object: &mut Map<String, Value>) {
    for key in ["$schema", "contentMediaType", "contentEncoding"] {
        object.remove(key);
    }
    if let Some(Value::Array(types)) = object.get("type").cloned() {
        let named: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if named.len() < types.len() {
            object.insert("nullable".into(), json!(true));
        }
        if let [only] = named.as_slice() {
            object.insert("type".into(), only.clone());
        } else {
            object.remove("type");
        }
    }
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(branches)) = object.get(key).cloned() else {
            continue;
        };
        let is_null = |branch: &Value| branch.get("type") == Some(&json!("null"));
        if !branches.iter().any(is_null) {
            continue;
        }
        let rest: Vec<Value> = branches.into_iter().filter(|b| !is_null(b)).collect();
        object.remove(key);
        object.insert("nullable".into(), json!(true));
        match rest.as_slice() {
            // A `$ref` has no siblings in 3.0: wrap it.
            [only] if only.get("$ref").is_some() => {
                object.insert("allOf".into(), json!([only]));
            }
            [Value::Object(only)] => {
                for (k, v) in only {
                    object.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            _ => {
                object.insert(key.into(), Value::Array(rest));
            }
        }
    }
    // A schema's examples are a list; a media type's (3.0 already) a map.
    if object.get("examples").is_some_and(Value::is_array)
        && let Some(Value::Array(examples)) = object.remove("examples")
        && let Some(first) = examples.into_iter().next()
    {
        object.entry("example").or_insert(first);
    }
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(limit) = object.get(exclusive).filter(|v| v.is_number()).cloned() {
            object.insert(bound.into(), limit);
            object.insert(exclusive.into(), json!(true));
        }
    }
    if let Some(constant) = object.remove("const") {
        object.insert("enum".into(), json!([constant]));
    }
}

pub fn run(check: bool) -> Result<(), String> {
    let root = crate::workspace_root();
    let dir = root.join("openapi");
    let out = dir.join("3.0");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read openapi/: {e}"))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut stale = Vec::new();
    for file in files {
        let name = file.file_name().unwrap_or_default().to_owned();
        let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{name:?}: {e}"))?;
        let mut edition =
            serde_json::to_string_pretty(&convert(&doc)).expect("a document serializes");
        edition.push('\n');
        let target = out.join(&name);
        if check {
            if std::fs::read_to_string(&target).ok().as_deref() != Some(edition.as_str()) {
                stale.push(format!("openapi/3.0/{}", name.to_string_lossy()));
            }
        } else {
            std::fs::write(&target, edition).map_err(|e| e.to_string())?;
            println!("wrote openapi/3.0/{}", name.to_string_lossy());
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} out of date with the 3.1 specs; run `just openapi` and commit them",
            stale.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_of_3_1_become_those_of_3_0() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1.0.0", "license": {"name": "MIT", "identifier": "MIT"}},
            "components": {"schemas": {"Thing": {
                "type": "object",
                "properties": {
                    "note": {"type": ["string", "null"], "examples": ["hi"]},
                    "owner": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Owner"}]},
                    "rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
                    "kind": {"const": "thing"}
                }
            }}},
            "paths": {"/t": {"get": {"responses": {"200": {"description": "ok", "content": {
                "application/json": {"examples": {"one": {"value": {"note": "x"}}}}
            }}}}}}
        });
        let converted = convert(&doc);
        assert_eq!(converted["openapi"], "3.0.3");
        assert!(converted["info"]["license"].get("identifier").is_none());
        let properties = &converted["components"]["schemas"]["Thing"]["properties"];
        assert_eq!(
            properties["note"],
            json!({"type": "string", "nullable": true, "example": "hi"})
        );
        assert_eq!(
            properties["owner"],
            json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/Owner"}]})
        );
        assert_eq!(
            properties["rate"],
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 10})
        );
        assert_eq!(properties["kind"], json!({"enum": ["thing"]}));
        // A media type's examples (a map of Example objects) are 3.0 already.
        assert_eq!(
            converted["paths"]["/t"]["get"]["responses"]["200"]["content"]["application/json"]["examples"]
                ["one"]["value"]["note"],
            "x"
        );
    }
}
