//! A JSON schema checker for what utoipa emits in an OpenAPI 3.1 document: `$ref` (to schemas
//! and responses), `allOf`, `oneOf`, `type` (one or a list, `null` included), `enum`, `minimum`,
//! `maximum`, `minLength`, `maxLength`, `minItems`, `maxItems`, `items`, `properties` and
//! `required`. Formats are not checked. Unlike JSON Schema's default, an object may hold only the
//! properties its schema declares, so a body with a field its document does not describe is
//! a mismatch.

use std::collections::BTreeSet;

use serde_json::Value;

/// Follows a `$ref` (to a schema or a response) within the document; other values as they are.
pub fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("not a local reference: {reference}"));
            let target = document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved reference {reference}"));
            resolve(document, target)
        }
        None => value,
    }
}

/// Why `value` does not match `schema` (empty when it does). Objects may hold only the
/// properties their schema declares (across `allOf`).
pub fn check(document: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check_at(document, schema, value, "$", true, &mut errors);
    errors
}

fn check_at(
    document: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    strict: bool,
    errors: &mut Vec<String>,
) {
    let schema = resolve(document, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            check_at(document, part, value, at, false, errors);
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one
            .iter()
            .filter(|part| {
                let mut part_errors = Vec::new();
                check_at(document, part, value, at, true, &mut part_errors);
                part_errors.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!(
                "{at}: matches {matching} of the {} oneOf alternatives",
                one.len()
            ));
        }
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => panic!("{at}: a type is a string or an array: {types}"),
        };
        let matches = types.iter().any(|kind| match *kind {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            other => panic!("{at}: unknown type {other}"),
        });
        if !matches {
            errors.push(format!("{at}: {value} is not of type {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let Some(number) = value.as_f64() {
        if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64) {
            if number < minimum {
                errors.push(format!("{at}: {value} is below {minimum}"));
            }
        }
        if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64) {
            if number > maximum {
                errors.push(format!("{at}: {value} is above {maximum}"));
            }
        }
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|minimum| length < minimum)
            || schema
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|maximum| length > maximum)
        {
            errors.push(format!("{at}: the length of {value} is out of bounds"));
        }
    }
    if let Some(items) = value.as_array() {
        let count = items.len() as u64;
        if schema
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|minimum| count < minimum)
            || schema
                .get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|maximum| count > maximum)
        {
            errors.push(format!("{at}: {count} items is out of bounds"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (index, item) in items.iter().enumerate() {
                check_at(
                    document,
                    item_schema,
                    item,
                    &format!("{at}[{index}]"),
                    true,
                    errors,
                );
            }
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                errors.push(format!("{at}: the required property {name} is missing"));
            }
        }
        for (name, property) in properties.into_iter().flatten() {
            if let Some(field) = object.get(name) {
                check_at(
                    document,
                    property,
                    field,
                    &format!("{at}.{name}"),
                    true,
                    errors,
                );
            }
        }
        if strict {
            if let Some(declared) = declared(document, schema) {
                for name in object.keys() {
                    if !declared.contains(name.as_str()) {
                        errors.push(format!("{at}: the property {name} is not documented"));
                    }
                }
            }
        }
    }
}

/// The properties an object schema declares, across `$ref` and `allOf`; `None` when it takes
/// any (no properties declared, or `additionalProperties` allowed).
fn declared<'a>(document: &'a Value, schema: &'a Value) -> Option<BTreeSet<&'a str>> {
    let schema = resolve(document, schema);
    if schema
        .get("additionalProperties")
        .is_some_and(|additional| additional != &Value::Bool(false))
    {
        return None;
    }
    let mut names: BTreeSet<&str> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut any_declared = schema.get("properties").is_some();
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match declared(document, part) {
            Some(part_names) => {
                any_declared = true;
                names.extend(part_names);
            }
            None => return None,
        }
    }
    any_declared.then_some(names)
}
