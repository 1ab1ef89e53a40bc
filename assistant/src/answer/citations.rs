//! Citation checking: every `[n]` in a generated answer must point at a passage that was in the
//! prompt. Markers outside the range are removed; the citation list holds exactly the sources the
//! text uses, renumbered in order of first use. If the model cited nothing, every passage it was
//! given is listed as a source: the answer may draw on any of them, and none leaves unsourced.

use allmende_search::Hit;

use super::Citation;

/// Resolves the markers in `text` against `hits` (numbered from 1 in the prompt).
pub fn resolve(text: &str, hits: &[Hit]) -> (String, Vec<Citation>) {
    let mut order: Vec<usize> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find(']');
        let number = close.and_then(|c| after[..c].trim().parse::<usize>().ok());
        match (close, number) {
            (Some(c), Some(n)) if (1..=hits.len()).contains(&n) => {
                let pos = order.iter().position(|&o| o == n).unwrap_or_else(|| {
                    order.push(n);
                    order.len() - 1
                });
                out.push_str(&format!("[{}]", pos + 1));
                rest = &after[c + 1..];
            }
            // A number that points nowhere: drop the marker, keep the text.
            (Some(c), Some(_)) => rest = &after[c + 1..],
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let mut text = out.replace(" .", ".").trim().to_string();
    if order.is_empty() && !hits.is_empty() {
        order = (1..=hits.len()).collect();
        let markers: String = order.iter().map(|n| format!("[{n}]")).collect();
        text.push_str(&format!(" {markers}"));
    }
    let citations = order
        .iter()
        .enumerate()
        .map(|(i, &n)| citation(i + 1, &hits[n - 1]))
        .collect();
    (text, citations)
}

/// A citation numbered `number` for `hit`.
pub fn citation(number: usize, hit: &Hit) -> Citation {
    Citation {
        number,
        title: hit.title.clone(),
        url: hit.url.clone(),
        licence: hit.licence.clone(),
        attribution: hit.attribution.clone(),
        doc_id: hit.doc_id.clone(),
        passage_id: hit.passage_id.clone(),
        sql: None,
        table: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(n: usize) -> Vec<Hit> {
        (1..=n)
            .map(|i| Hit {
                doc_id: format!("d{i}"),
                passage_id: format!("d{i}#0"),
                source: "t".into(),
                kind: None,
                title: format!("T{i}"),
                url: format!("https://x.example/{i}"),
                licence: "CC0-1.0".into(),
                attribution: None,
                text: String::new(),
                snippet: String::new(),
                snippet_html: String::new(),
                score: 1.0,
            })
            .collect()
    }

    #[test]
    fn renumbers_in_order_of_use_and_drops_invalid_markers() {
        let (text, cites) = resolve(
            "Erst [3], dann [1] und [3]; falsch [7]. Liste [a].",
            &hits(3),
        );
        assert_eq!(text, "Erst [1], dann [2] und [1]; falsch. Liste [a].");
        assert_eq!(
            cites.iter().map(|c| c.doc_id.as_str()).collect::<Vec<_>>(),
            ["d3", "d1"]
        );
        assert_eq!(cites[1].number, 2);
    }

    #[test]
    fn uncited_answer_lists_every_given_source() {
        let (text, cites) = resolve("Bitte gehen Sie zum Bürgerbüro.", &hits(2));
        assert_eq!(text, "Bitte gehen Sie zum Bürgerbüro. [1][2]");
        assert_eq!(
            cites.iter().map(|c| c.doc_id.as_str()).collect::<Vec<_>>(),
            ["d1", "d2"]
        );
    }
}
