//! HTML to clean text: the form in which service descriptions reach the index and the prompt.
//!
//! Deliberately small and dependency-free: tags are dropped (block tags become line breaks,
//! list items become "- " lines), `<script>`/`<style>` contents vanish, character references are
//! decoded, zero-width characters removed and whitespace collapsed.

/// Converts an HTML fragment into plain text with paragraph breaks preserved.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        let after = &rest[lt..];
        let Some(gt) = after.find('>') else {
            // A lone '<' is text, not a tag.
            out.push_str(&decode_entities(after));
            rest = "";
            break;
        };
        let tag = after[1..gt].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        rest = &after[gt + 1..];
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let close = format!("</{name}");
            rest = match rest.to_ascii_lowercase().find(&close) {
                Some(pos) => rest[pos..].find('>').map_or("", |g| &rest[pos + g + 1..]),
                None => "",
            };
            continue;
        }
        match name.as_str() {
            "li" if !tag.starts_with('/') => out.push_str("\n- "),
            "li" => {}
            "p" | "div" | "br" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "tr"
            | "table" | "section" | "article" | "blockquote" => out.push('\n'),
            "td" | "th" => out.push(' '),
            _ => {}
        }
    }
    out.push_str(&decode_entities(rest));
    normalise_whitespace(&out)
}

/// Collapses runs of spaces, trims lines and keeps at most one blank line between paragraphs.
fn normalise_whitespace(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let cleaned: String = line
            .chars()
            .filter(|c| !matches!(c, '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}'))
            .map(|c| if c == '\u{a0}' { ' ' } else { c })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if cleaned.is_empty() || cleaned == "-" {
            if lines.last().is_some_and(|l| !l.is_empty()) {
                lines.push(String::new());
            }
        } else {
            lines.push(cleaned);
        }
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// Decodes named (the common ones) and numeric character references.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| decode_entity(&after[..e]));
        match (end, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "euro" => '€',
        "ndash" => '–',
        "mdash" => '—',
        "bdquo" => '„',
        "ldquo" => '“',
        "rdquo" => '”',
        "sect" => '§',
        "shy" => '\u{ad}',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_keeps_structure() {
        let html = "<p>Sie brauchen:</p><ul><li>Ausweis</li><li>Foto &amp; Geb&uuml;hr</li></ul>";
        assert_eq!(
            html_to_text(html),
            "Sie brauchen:\n\n- Ausweis\n- Foto & Gebühr"
        );
    }

    #[test]
    fn drops_scripts_zero_width_and_nbsp() {
        let html =
            "<p>\u{200b}Hallo&nbsp;Welt<script>alert('x')</script></p><style>p{}</style>Ende";
        assert_eq!(html_to_text(html), "Hallo Welt\nEnde");
    }

    #[test]
    fn numeric_entities_and_stray_ampersands() {
        assert_eq!(
            decode_entities("A &#228; &#xE4; & B &unknown;"),
            "A ä ä & B &unknown;"
        );
        assert_eq!(html_to_text("3 < 4 &lt; 5"), "3 < 4 < 5");
    }
}
