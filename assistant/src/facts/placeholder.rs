//! `{name}` and `{name:N}` placeholders in fact templates (SQL, title, text).

use super::template::identifier;

/// Replaces each placeholder in one pass (inserted values are never scanned again). `value`
/// gets the name and the decimals; `Ok(None)` from it makes the whole result `Ok(None)`.
pub(crate) fn fill(
    text: &str,
    mut value: impl FnMut(&str, Option<usize>) -> Result<Option<String>, String>,
) -> Result<Option<String>, String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    for (name, decimals) in placeholders(text)? {
        let open = rest.find('{').unwrap_or(rest.len());
        out.push_str(&rest[..open]);
        rest = rest[open..].split_once('}').map_or("", |(_, after)| after);
        match value(&name, decimals)? {
            Some(v) => out.push_str(&v),
            None => return Ok(None),
        }
    }
    out.push_str(rest);
    Ok(Some(out))
}

/// The `{name}` / `{name:N}` placeholders of a template string, in order.
pub(crate) fn placeholders(text: &str) -> Result<Vec<(String, Option<usize>)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("unmatched '}' (braces are only for {placeholders})".into());
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or("unclosed '{' (braces are only for {placeholders})")?;
        let inner = &after[..close];
        let (name, digits) = match inner.split_once(':') {
            Some((name, d)) => {
                let d = d
                    .parse::<usize>()
                    .ok()
                    .filter(|d| *d <= 6)
                    .ok_or_else(|| format!("{{{inner}}}: decimals must be 0 to 6"))?;
                (name, Some(d))
            }
            None => (inner, None),
        };
        if !identifier(name) {
            return Err(format!("{{{inner}}} is not a placeholder (use {{column}})"));
        }
        out.push((name.to_string(), digits));
        rest = &after[close + 1..];
    }
    Ok(out)
}
